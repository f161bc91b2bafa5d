# shellcheck shell=sh
# 40-saveconfig: a configuration saved by tcmsh, cleared, and restored comes
# back the same, in the targetcli-fb file format.
IQN=iqn.2003-01.org.example.tcmsh:save
NAA=naa.5001405abcdef012

run tc /backstores/fileio create sf /tmp/sf.img 8M
run tc /backstores/ramdisk create sr 8M
run tc /iscsi create $IQN
run tc /iscsi/$IQN/tpg1/luns create /backstores/fileio/sf
run tc /iscsi/$IQN/tpg1/acls create iqn.1994-05.com.example:c1
run tc /loopback create $NAA
run tc /loopback/$NAA/luns create /backstores/ramdisk/sr
check_rc setup 0

# The loopback nexus is not saved (targetcli's format has no place for it):
# a restored target gets a new one, so ls shows it as [nexus].
nonexus() { printf '%s\n' "$1" | sed -E 's/\[naa\.[0-9a-f]{16}\]$/[nexus]/'; }
run tc ls
check_rc ls-before 0
before=$(nonexus "$OUT")

run tc saveconfig /tmp/save.json
check_rc saveconfig 0
check save-file test -s /tmp/save.json
mode=$(stat -c %a /tmp/save.json 2>/dev/null)
if [ "$mode" = 600 ]; then pass save-file-mode 600; else fail save-file-mode "mode $mode, want 600"; fi
for key in '"storage_objects"' '"targets"' '"plugin": "fileio"' '"plugin": "ramdisk"' "\"wwn\": \"$IQN\"" '"fabric": "loopback"'; do
  if grep -qF -- "$key" /tmp/save.json; then pass "save-has-$(echo "$key" | tr -cd '[:lower:]')" "$key"; else fail "save-has-$(echo "$key" | tr -cd '[:lower:]')" "no $key"; fi
done

run tc clearconfig confirm=true
check_rc clearconfig 0
left=$(find "$LIO/core" -mindepth 1 -maxdepth 1 -type d ! -name alua | tr '\n' ' ')
if [ -z "$left" ]; then pass cleared-core "empty"; else fail cleared-core "left: $left"; fi
check cleared-iscsi test ! -e "$LIO/iscsi/$IQN"
check cleared-loopback test ! -e "$LIO/loopback/$NAA"

run tc restoreconfig /tmp/save.json
check_rc restoreconfig 0
run tc ls
check_rc ls-after 0
after=$(nonexus "$OUT")
if [ "$after" = "$before" ]; then
  pass restored-same "ls is the same as before"
else
  fail restored-same "ls differs after restore"
  printf '%s\n' "$before" >/tmp/before.txt
  printf '%s\n' "$after" >/tmp/after.txt
  diff /tmp/before.txt /tmp/after.txt | sed 's/^/    | /'
fi
check restored-lun-link sh -c "ls $LIO/iscsi/$IQN/tpgt_1/lun/lun_0/ | grep -q ."

# diff and apply against the file just restored: nothing to do, and applying
# it again changes nothing in the kernel.
run tc diff /tmp/save.json
check_rc diff-exit 0
check_out_i diff-no-changes "no changes"
tree_before=$(find "$LIO" | sort)
run tc apply /tmp/save.json
check_rc apply-exit 0
if [ "$(find "$LIO" | sort)" = "$tree_before" ]; then
  pass apply-idempotent "configfs unchanged"
else
  fail apply-idempotent "apply of the current configuration changed configfs"
fi

# The boot restore (partial=true, as rtslib's): a block device that is not
# there costs its backstore and its LUN, everything else is set up, each
# failure is named by its JSON path and the command fails. An IPv6 portal
# in the file ("[::]") is made, and saveconfig writes it back in brackets.
run tc clearconfig confirm=true
BIQN=iqn.2003-01.org.example.tcmsh:boot40
cat >/tmp/boot40.json <<JSON
{"fabric_modules": [],
 "storage_objects": [
  {"name": "ok40", "plugin": "fileio", "dev": "/tmp/ok40.img", "size": 1048576, "write_back": false, "attributes": {}},
  {"name": "zv40", "plugin": "block", "dev": "/dev/tcmsh-missing-zvol", "readonly": false, "attributes": {}}],
 "targets": [{"fabric": "iscsi", "wwn": "$BIQN", "tpgs": [{"tag": 1, "enable": true, "attributes": {}, "parameters": {},
   "luns": [{"index": 0, "storage_object": "/backstores/fileio/ok40"}, {"index": 1, "storage_object": "/backstores/block/zv40"}],
   "portals": [{"ip_address": "[::]", "port": 3261, "iser": false, "offload": false}],
   "node_acls": [{"node_wwn": "iqn.1994-05.com.example:c40", "attributes": {},
     "mapped_luns": [{"index": 0, "tpg_lun": 0, "write_protect": false}, {"index": 1, "tpg_lun": 1, "write_protect": false}]}]}]}]}
JSON
run tc restoreconfig /tmp/boot40.json
check_rc all-or-nothing-refuses 1
check no-partial-leftover test ! -e "$LIO/iscsi/$BIQN"
run tc restoreconfig /tmp/boot40.json partial=true wait_devices=1
check_rc partial-restore-fails 1
check_out partial-names-failures "storage_objects[1] (/backstores/block/zv40)" "targets[0].tpgs[0].luns[1]" "2 of 3 objects restored"
check partial-fileio lio_so fileio ok40
check partial-lun0 test -e "$LIO/iscsi/$BIQN/tpgt_1/lun/lun_0"
check partial-no-lun1 test ! -e "$LIO/iscsi/$BIQN/tpgt_1/lun/lun_1"
check partial-mapped-lun0 test -e "$LIO/iscsi/$BIQN/tpgt_1/acls/iqn.1994-05.com.example:c40/lun_0"
check partial-tpg-enabled test "$(cat "$LIO/iscsi/$BIQN/tpgt_1/enable")" = 1
check ipv6-portal test -d "$LIO/iscsi/$BIQN/tpgt_1/np/[::]:3261"
run tc saveconfig /tmp/boot40-saved.json
check_rc saveconfig-after-partial 0
check_file_has ipv6-saved-in-brackets /tmp/boot40-saved.json '"ip_address": "[::]"'
run tc clearconfig confirm=true
