# shellcheck shell=sh
# 85-iscsi-login: `tcmsh export FILE` makes an iSCSI target a real initiator
# logs in to: open-iscsi (iscsid and iscsiadm in the Debian userland) over
# 127.0.0.1, data written to the new disk is in the file and reads back; with
# CHAP on (an ACL with userid/password, authentication=1), a wrong secret is
# refused and the right one logs in. Needs the Debian userland.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
if [ ! -x "$DEBIAN_ROOT/usr/sbin/iscsiadm" ] || [ ! -d /sys/module/iscsi_tcp ]; then
  skip_scenario "no open-iscsi in the Debian userland or no iscsi_tcp module"
  return 0
fi
IQN=iqn.2003-01.org.example.tcmsh:i85
INI=iqn.1994-05.com.example.tcmsh:ini85
P=127.0.0.1:3260

iscsiadm() { timeout -s KILL 60 chroot "$DEBIAN_ROOT" /usr/sbin/iscsiadm "$@"; }
# iscsi_disk: the /dev/sdX of the iSCSI session (a SCSI device under a
# session in sysfs), if any.
iscsi_disk() {
  for _b in /sys/block/sd*; do
    case $(readlink -f "$_b/device") in */session*) echo "/dev/${_b##*/}" && return 0 ;; esac
  done
  return 1
}
wait_iscsi_disk() {
  _i=0
  while ! iscsi_disk >/dev/null && [ $_i -lt $(($1 * 10)) ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  iscsi_disk
}

run tc export /tmp/i85.img size=16M wwn=$IQN
check_rc export 0
check tpg-enabled test "$(cat "$LIO/iscsi/$IQN/tpgt_1/enable" 2>/dev/null)" = 1
check portal-listening sh -c "netstat -ltn 2>/dev/null | grep -q ':3260 '"

printf 'InitiatorName=%s\n' "$INI" >"$DEBIAN_ROOT/etc/iscsi/initiatorname.iscsi"
deb iscsid -f >/tmp/iscsid85.log 2>&1 &
ipid=$!
i=0
while ! deb sh -c 'test -S /run/iscsid.sock || ls /run/lock/iscsi >/dev/null 2>&1' && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
sleep 1
if kill -0 "$ipid" 2>/dev/null; then
  pass iscsid-running "pid $ipid"
else
  fail iscsid-running "iscsid exited"
  show_file /tmp/iscsid85.log
  return 0
fi

run iscsiadm -m discovery -t sendtargets -p $P
check_rc discovery 0
check_out discovery-finds-target "$IQN"

t0=$(cut -d' ' -f1 /proc/uptime)
run iscsiadm -m node -T $IQN -p $P --login
check_rc login-open 0
if disk=$(wait_iscsi_disk 30) && is_block "$disk"; then
  t1=$(cut -d' ' -f1 /proc/uptime)
  pass disk "$disk ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after login)"
  check disk-size test "$(blockdev --getsize64 "$disk")" = 16777216
  dd if=/dev/urandom of=/tmp/pat85 bs=64k count=32 2>/dev/null
  check disk-write dd if=/tmp/pat85 of="$disk" bs=64k count=32 oflag=direct conv=fsync
  check disk-read sh -c "dd if=$disk bs=64k count=32 iflag=direct 2>/dev/null | cmp - /tmp/pat85"
  check data-in-file sh -c "dd if=/tmp/i85.img bs=64k count=32 2>/dev/null | cmp - /tmp/pat85"
  # A demo-mode session has no ACL (targetcli-fb does not list it);
  # tcmsh reads the TPG's dynamic_sessions. The ACL's session is checked
  # after the CHAP login.
  show_file "$LIO/iscsi/$IQN/tpgt_1/dynamic_sessions"
  run tc sessions
  check_rc sessions-demo 0
  check_out sessions-lists-demo-login "$INI /iscsi/$IQN/tpg1 (dynamic)"
  run tc --json sessions
  check_out sessions-json-dynamic '"dynamic": true'
else
  fail disk "no SCSI disk under an iSCSI session 30 s after login"
  disk=
fi
run iscsiadm -m node -T $IQN -p $P --logout
check_rc logout 0
if [ -n "$disk" ]; then
  if wait_for 10 ! -b "$disk"; then pass disk-gone-after-logout "$disk"; else fail disk-gone-after-logout "$disk still there"; fi
fi

# CHAP: an ACL for this initiator with a userid and password, and the TPG
# asking for authentication.
run tc /iscsi/$IQN/tpg1/acls create $INI
check_rc acl-create 0
run tc /iscsi/$IQN/tpg1/acls/$INI set auth userid=u85 password=secret85secret
check_rc acl-auth 0
run tc /iscsi/$IQN/tpg1 set attribute authentication=1 generate_node_acls=0
check_rc tpg-authentication 0
check_file chap-userid "$LIO/iscsi/$IQN/tpgt_1/acls/$INI/auth/userid" u85
check_file tpg-auth-on "$LIO/iscsi/$IQN/tpgt_1/attrib/authentication" 1

iscsiadm -m node -T $IQN -p $P -o update -n node.session.auth.authmethod -v CHAP
iscsiadm -m node -T $IQN -p $P -o update -n node.session.auth.username -v u85
iscsiadm -m node -T $IQN -p $P -o update -n node.session.auth.password -v wrongsecret85
run iscsiadm -m node -T $IQN -p $P --login
if [ "$RC" != 0 ]; then pass chap-wrong-refused "exit $RC"; else fail chap-wrong-refused "logged in with a wrong secret"; fi
check_out_i chap-wrong-says-auth "auth"
check chap-wrong-no-disk sh -c "! ls /sys/class/iscsi_session/ 2>/dev/null | grep -q session"
if iscsi_disk >/dev/null; then iscsiadm -m node -T $IQN -p $P --logout; fi

iscsiadm -m node -T $IQN -p $P -o update -n node.session.auth.password -v secret85secret
run iscsiadm -m node -T $IQN -p $P --login
check_rc chap-right-login 0
if disk=$(wait_iscsi_disk 30) && is_block "$disk"; then
  pass chap-disk "$disk"
  check chap-reads-data sh -c "dd if=$disk bs=64k count=32 iflag=direct 2>/dev/null | cmp - /tmp/pat85"
  run tc sessions
  check_rc sessions 0
  check_out sessions-lists-initiator "$INI /iscsi/$IQN/tpg1/acls/$INI"
  sid=$(sed -n 's/.*LIO Session ID: \([0-9]*\).*/\1/p' "$LIO/iscsi/$IQN/tpgt_1/acls/$INI/info")
  run tc sessions detail sid="$sid"
  check_out sessions-by-sid "LIO Session ID: $sid "
else
  fail chap-disk "no disk after the CHAP login"
fi
run iscsiadm -m node -T $IQN -p $P --logout
check_rc chap-logout 0

run tc unexport /tmp/i85.img
check_rc unexport 0
check target-gone test ! -e "$LIO/iscsi/$IQN"
kill "$ipid" 2>/dev/null
show_file /tmp/iscsid85.log 20
