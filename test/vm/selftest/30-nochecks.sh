# shellcheck shell=sh
# Makes no check at all: must fail as "no-checks".
true
