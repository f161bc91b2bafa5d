# shellcheck shell=sh
# 45-batch: tcmsh's batch mode on the real kernel: the first failing line
# stops the run (exit 1, "line N:" on stderr) and keeps what earlier lines
# did; --keep-going runs on; --atomic undoes everything the run changed.

# lio_tree: every configfs path under target/ (to compare states).
lio_tree() { find "$LIO" | sort; }

run_in "/backstores/ramdisk create b1 4M
/backstores/ramdisk create b1 4M
/backstores/ramdisk create b3 4M" "$TCMSH" --kernel real
check_rc stop-exit 1
check_out stop-line-number "line 2:"
check stop-kept-earlier lio_so rd_mcp b1
check stop-ran-no-later sh -c "! ls -d $LIO/core/rd_mcp_*/b3 2>/dev/null"

run_in "/backstores/ramdisk create k1 4M
no_such_command
/backstores/ramdisk create k3 4M" "$TCMSH" --kernel real --keep-going
check_rc keep-going-exit 1
check_out keep-going-line-number "line 2:"
check keep-going-ran-later lio_so rd_mcp k3

before=$(lio_tree)
run_in "/backstores/ramdisk create a1 4M
/backstores/fileio create a2 /tmp/a2.img 4M
/loopback create naa.5001405000000aaa
/loopback/naa.5001405000000aaa/luns create /backstores/ramdisk/a1
/iscsi create iqn.2003-01.org.example.tcmsh:atomic
/backstores/ramdisk create b1 4M" "$TCMSH" --kernel real --atomic
check_rc atomic-exit 1
check_out atomic-line-number "line 6:"
after=$(lio_tree)
if [ "$after" = "$before" ]; then
  pass atomic-undone "configfs is as before the run"
else
  fail atomic-undone "configfs differs after an --atomic run that failed"
  printf '%s\n' "$before" >/tmp/atomic-before.txt
  printf '%s\n' "$after" >/tmp/atomic-after.txt
  diff /tmp/atomic-before.txt /tmp/atomic-after.txt | head -n 40 | sed 's/^/    | /'
fi
sleep 1
if lio_disk LIO-ORG a1 >/dev/null; then fail atomic-no-disk "a disk for a1 is still there"; else pass atomic-no-disk "no disk for a1"; fi
