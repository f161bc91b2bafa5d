# shellcheck shell=sh
# 78-aptpl: persistent reservations made with APTPL (activate persist
# through power loss) survive clearconfig + restoreconfig, as with
# targetcli-fb. An open-iscsi initiator (a fixed IQN, an ACL with mapped
# LUNs) registers with --param-aptpl and takes a WRITE EXCLUSIVE
# reservation on a tcmsh user:file LUN and on a kernel fileio LUN; the
# kernel writes <dbroot>/pr/aptpl_<unit serial> but never reads it back.
# After tcmsh's clearconfig + restoreconfig, a second initiator (a loopback
# LUN on the same backstores) sees the key and the reservation
# (sg_persist --read-keys / --read-reservation) and is refused writes
# (RESERVATION CONFLICT); the first initiator logs in again and writes.
# targetcli-fb's restore of the same file, in the same boot, does the same.
# Needs the Debian userland (open-iscsi, sg3-utils, targetcli-fb).
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
if [ ! -x "$DEBIAN_ROOT/usr/sbin/iscsiadm" ] || [ ! -d /sys/module/iscsi_tcp ]; then
  skip_scenario "no open-iscsi in the Debian userland or no iscsi_tcp module"
  return 0
fi
SOCK=/run/tcmsh/control.sock
IQN=iqn.2003-01.org.example.tcmsh:t78
INI=iqn.1994-05.com.example.tcmsh:ini78
LOOP=naa.5001405a78a78a78
P=127.0.0.1:3260
iscsiadm() { timeout -s KILL 60 chroot "$DEBIAN_ROOT" /usr/sbin/iscsiadm "$@"; }

for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = tcmu-runner ] && kill "${p#/proc/}" 2>/dev/null
done
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi
"$TCMSH" --kernel real serve --socket "$SOCK" --dbus "unix:path=$DEBIAN_ROOT/run/dbus/system_bus_socket" \
  --log-file /tmp/serve78.log >/tmp/serve78.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve78.out || return 0

# targetcli-fb (rtslib) moves dbroot to /etc/rtslib-fb-target while no
# device exists, so its restore below may move it: move it first (the
# guest's /init gives the chroot and the kernel one such directory).
want=/etc/rtslib-fb-target
echo "$want" >"$LIO/dbroot" 2>/dev/null
dbroot=$(cat "$LIO/dbroot")
[ "$dbroot" = "$want" ] || note "dbroot stays $dbroot (devices exist)"
rm -rf "$dbroot/pr"

rm -f /tmp/u78.img /tmp/f78.img
run_in "/backstores/user:file create u78 8M /tmp/u78.img
/backstores/fileio create f78 /tmp/f78.img 8M
/iscsi create $IQN
/iscsi/$IQN/tpg1 set attribute authentication=0
/iscsi/$IQN/tpg1/luns create /backstores/user:file/u78
/iscsi/$IQN/tpg1/luns create /backstores/fileio/f78
/iscsi/$IQN/tpg1/acls create $INI
/loopback create $LOOP
/loopback/$LOOP/luns create /backstores/user:file/u78
/loopback/$LOOP/luns create /backstores/fileio/f78
saveconfig /tmp/s78.json" "$TCMSH" --kernel real
check_rc setup 0
check pr-dir-made test -d "$dbroot/pr"

# iscsi_lun N: the /dev/sdX of LUN N of the iSCSI session.
iscsi_lun() {
  for _b in /sys/block/sd*; do
    _d=$(readlink -f "$_b/device")
    case $_d in */session*/*:"$1") echo "/dev/${_b##*/}" && return 0 ;; esac
  done
  return 1
}
# loop_lun N: the /dev/sdX of LUN N of the loopback target.
loop_lun() { loopback_disk "$LOOP" "$1"; }
# wait_dev FN N: waits up to 30 s for FN N to name a block device.
wait_dev() {
  _i=0
  while [ $_i -lt 300 ]; do
    _dv=$($1 "$2") && [ -b "$_dv" ] && echo "$_dv" && return 0
    sleep 0.1
    _i=$((_i + 1))
  done
  return 1
}

printf 'InitiatorName=%s\n' "$INI" >"$DEBIAN_ROOT/etc/iscsi/initiatorname.iscsi"
deb iscsid -f >/tmp/iscsid78.log 2>&1 &
ipid=$!
sleep 2
run iscsiadm -m discovery -t sendtargets -p $P
check_rc discovery 0
run iscsiadm -m node -T $IQN -p $P --login
check_rc login 0
i0=$(wait_dev iscsi_lun 0)
i1=$(wait_dev iscsi_lun 1)
if is_block "$i0" && is_block "$i1"; then pass iscsi-disks "user:file $i0, fileio $i1"; else
  fail iscsi-disks "no iSCSI disks ('$i0', '$i1')"
  show_file /tmp/iscsid78.log 20
  return 0
fi

# Register with APTPL and reserve (WRITE EXCLUSIVE) on each LUN.
for lun in 0:u78:0x7800 1:f78:0x7801; do
  n=${lun%%:*} rest=${lun#*:}
  so=${rest%%:*} key=${rest#*:}
  d=$(iscsi_lun "$n")
  run deb sg_persist --out --register --param-sark=$key --param-aptpl "$d"
  check_rc "register-aptpl-$so" 0
  run deb sg_persist --out --reserve --param-rk=$key --prout-type=1 "$d"
  check_rc "reserve-$so" 0
  run deb sg_persist --in --read-reservation "$d"
  check_out_i "reserved-$so" "Key=$key"
done
for so in user:u78 fileio:f78; do
  dir=$(lio_so "${so%%:*}" "${so#*:}")
  serial=$(sed 's/.*: //' "$dir/wwn/vpd_unit_serial")
  f="$dbroot/pr/aptpl_$serial"
  check_file_has "aptpl-file-${so#*:}" "$f" "initiator_node=$INI"
  check_file_has "aptpl-file-holder-${so#*:}" "$f" "res_holder=1"
done
show_file "$dbroot/pr/aptpl_$(sed 's/.*: //' "$(lio_so user u78)/wwn/vpd_unit_serial")"
run iscsiadm -m node -T $IQN -p $P --logout
check_rc logout 0

# after_restore WHO: the registrations and reservations are back, seen by
# the loopback initiator (not registered: refused writes), and the iSCSI
# initiator, logged in again, holds the reservation and writes.
after_restore() {
  for lun in 0:u78:0x7800 1:f78:0x7801; do
    n=${lun%%:*} rest=${lun#*:}
    so=${rest%%:*} key=${rest#*:}
    d=$(wait_dev loop_lun "$n") || { fail "$1-loop-disk-$so" "no loopback disk for LUN $n"; continue; }
    deb sg_turs "$d" >/dev/null 2>&1
    run deb sg_persist --in --read-keys "$d"
    check_out_i "$1-key-back-$so" "$key"
    run deb sg_persist --in --read-reservation "$d"
    check_out_i "$1-reservation-back-$so" "Key=$key"
    check_out_i "$1-reservation-type-$so" "Write Exclusive"
    run deb sg_raw -s 512 -i /dev/zero "$d" 2a 00 00 00 00 08 00 00 01 00
    check_out_i "$1-loop-write-conflict-$so" "reservation conflict"
  done
  run iscsiadm -m node -T $IQN -p $P --login
  check_rc "$1-relogin" 0
  d=$(wait_dev iscsi_lun 0)
  check "$1-holder-writes" dd if=/dev/urandom of="$d" bs=4k count=1 seek=16 oflag=direct
  run iscsiadm -m node -T $IQN -p $P --logout
}

run tc clearconfig confirm=true
check_rc tcmsh-clearconfig 0
run tc restoreconfig /tmp/s78.json
check_rc tcmsh-restoreconfig 0
after_restore tcmsh

# The same file restored by targetcli-fb (rtslib hands the kernel the
# APTPL file's registrations too).
run tc clearconfig confirm=true
run deb targetcli restoreconfig /tmp/s78.json
check_rc targetcli-restoreconfig 0
after_restore targetcli

run tc clearconfig confirm=true
kill "$ipid" 2>/dev/null
check tcmu-runner-never-started sh -c '! grep -qx tcmu-runner /proc/[0-9]*/comm 2>/dev/null'
stop_serve serve-stopped "$spid"
