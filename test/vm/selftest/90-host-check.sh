# shellcheck shell=sh
# Self-test: a scenario with a host-side step (90-host-check.host). The guest
# prints the file the host's prepare step put into the overlay; the host's
# check step finds it in the console log, then fails on purpose.
check prepared-file test -f /tcmsh-vm/selftest-host.txt
echo "SELFTEST-HOST $(cat /tcmsh-vm/selftest-host.txt 2>/dev/null)"
