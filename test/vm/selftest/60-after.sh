# shellcheck shell=sh
# Runs after a hung scenario was killed.
pass after-hang "the guest went on"
