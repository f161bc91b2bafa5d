# shellcheck shell=sh
# shellcheck disable=SC2034 # RC and OUT are read by check_rc and show (guest/lib.sh)
# 15-fidelity: runs test/fidelity/scenario.tcmsh (every object type) and
# test/fidelity/refusals.tcmsh (commands that must fail) through tcmsh on the
# real kernel, and prints `tcmsh dump` of the whole LIO tree and the
# refusals' messages on the console, each line prefixed (FIDDUMP / FIDREF,
# a tab, the line), between FIDELITY-BEGIN and FIDELITY-END. The host
# (test/fidelity/run.sh, called by test/vm/run) compares them with the same
# run on the simulated kernel.

FID=/tcmsh-vm/fidelity
if [ ! -f "$FID/scenario.tcmsh" ]; then
  skip_scenario "no fidelity scenario in the initramfs"
  return 0
fi
mkdir -p /var/tmp/tcmsh-fidelity
rm -f /var/tmp/tcmsh-fidelity/*
# The block object's device, at the same path as on the host (run.sh).
mknod /var/tmp/tcmsh-fidelity/ram0 b 1 0
check fidelity-ram0 test -b /dev/ram0 -a -b /var/tmp/tcmsh-fidelity/ram0

"$TCMSH" --kernel real --keep-going <"$FID/scenario.tcmsh" >scenario.out 2>scenario.err
RC=$?
OUT=$(cat scenario.out scenario.err)
show
check_rc fidelity-scenario 0
"$TCMSH" --kernel real --keep-going <"$FID/refusals.tcmsh" >refusals.out 2>refusals.err
RC=$?
check_rc fidelity-refusals-fail 1
"$TCMSH" --kernel real dump >dump.txt 2>dump.err
RC=$?
OUT=$(cat dump.err)
check_rc fidelity-dump 0
echo "FIDELITY-BEGIN"
sed 's/^/FIDDUMP	/' dump.txt
sed 's/^/FIDREF	/' refusals.err
echo "FIDELITY-END $(wc -l <dump.txt) $(wc -l <refusals.err)"
