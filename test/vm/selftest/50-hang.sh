# shellcheck shell=sh
# Hangs: the guest's per-scenario timeout must kill it and go on.
pass before-hang "about to sleep"
sleep 100000
