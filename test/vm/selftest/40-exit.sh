# shellcheck shell=sh
# Passes a check, then exits non-zero: must fail as "scenario-exit".
pass before-exit "about to exit 3"
exit 3
