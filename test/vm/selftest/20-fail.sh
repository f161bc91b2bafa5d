# shellcheck shell=sh
# One passing and one failing check: the scenario and the run must fail.
pass fine "this one is fine"
check deliberate-fail false
pass after-fail "later checks still run"
# What a failed scenario printed reaches the summary.
run echo "output of the failed scenario"
