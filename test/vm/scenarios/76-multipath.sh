# shellcheck shell=sh
# 76-multipath: dm-multipath (multipath-tools of the Debian userland) over
# one user:file backstore served by tcmsh, exported through two loopback
# targets whose LUNs are in two ALUA groups (as in 72-alua): "first", ID
# 10, standby, the path the initiator finds first; "second", ID 20,
# active/optimized. multipath makes one map of the two paths (same WWID),
# one path group each (failover); multipathd's TUR checker reports the
# standby path "ghost" and the other "ready" (the kernel answers TEST UNIT
# READY through a standby port with NOT READY, target port in standby
# state). I/O through the map lands on the active/optimized path: the
# kernel refuses media access through the standby port the same way,
# dm-multipath fails that path and activates the other group, and with
# failback manual it stays there (multipathd reinstates the ghost path
# without switching back). When the states swap (configfs, implicit), I/O
# moves to the other path the same way; data written before and after the
# switch reads back through the map and is in the image. Any I/O sent to
# the standby path (udev's probes) fails it in dm until multipathd's
# checker reinstates it, so at the switch the other path may be failed
# for up to a checker interval: the map queues I/O meanwhile
# (no_path_retry 10, polling_interval 1) instead of failing it.
#
# What cannot work on a TCMU device with two ports (found here; M-01 in
# test/FIDELITY.md): TCMU gives the handler no I_T nexus or target port per
# command, so tcmsh cannot name the port's target port group in VPD 0x83
# (it does only for a one-port LUN). The kernel's ALUA device handler
# refuses to attach ("No target port descriptors found") and multipath's
# alua prioritizer finds no group; a configuration for this layout uses
# the TUR checker, not ALUA priorities, and dm-multipath learns each
# path's state from the kernel's refusals. Needs the Debian userland.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
if [ ! -x "$DEBIAN_ROOT/sbin/multipath" ] && [ ! -x "$DEBIAN_ROOT/usr/sbin/multipath" ]; then
  skip_scenario "no multipath-tools in the Debian userland"
  return 0
fi
if ! load_on_demand dm_multipath dm_round_robin; then
  skip_scenario "this guest has no dm_multipath module"
  return 0
fi
pass dm-multipath-loaded "dm_mod, dm_multipath, dm_round_robin"
SOCK=/run/tcmsh/control.sock
NAA1=naa.5001405a76a76a01
NAA2=naa.5001405a76a76a02
SIZE_MB=8

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve76.log >/tmp/serve76.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve76.out || return 0

run tc /backstores/user:file create m76 ${SIZE_MB}M /tmp/m76.img
check_rc create 0
so=$(lio_so user m76)
for g in first:10:2 second:20:0; do
  name=${g%%:*}
  rest=${g#*:}
  mkdir "$so/alua/$name"
  echo "${rest%%:*}" >"$so/alua/$name/tg_pt_gp_id"
  check "group-$name-state" sh -c "echo ${rest#*:} > $so/alua/$name/alua_access_state"
done
for t in $NAA1 $NAA2; do
  run tc /loopback create $t
  check_rc "target-$t" 0
  run tc /loopback/$t/luns create /backstores/user:file/m76
  check_rc "lun-$t" 0
done
echo first >"$LIO/loopback/$NAA1/tpgt_1/lun/lun_0/alua_tg_pt_gp"
echo second >"$LIO/loopback/$NAA2/tpgt_1/lun/lun_0/alua_tg_pt_gp"

d1= d2=
for _ in $(seq 1 300); do
  d1=$(loopback_disk $NAA1) && d2=$(loopback_disk $NAA2) && break
  sleep 0.1
done
if is_block "$d1" && is_block "$d2"; then
  pass disks "standby path $d1, active/optimized path $d2"
else
  fail disks "no disks ('$d1', '$d2')"
  return 0
fi
for d in "$d1" "$d2"; do
  for _ in 1 2 3; do deb sg_turs "$d" >/dev/null 2>&1; done
done
p1=${d1#/dev/} p2=${d2#/dev/}

# The ALUA device handler needs the port's group in VPD 0x83.
if load_on_demand scsi_dh_alua; then
  dmesg -c >/dev/null 2>&1
  run deb sg_vpd --page=di "$d1"
  check_no_out vpd83-no-tpg-two-ports "Target port group"
  if echo alua >"/sys/block/$p1/device/dh_state" 2>/dev/null; then
    fail alua-handler-refused "scsi_dh_alua attached to $d1"
  else
    kmsg=$(dmesg 2>/dev/null | grep -i alua | tail -n 2 | tr '\n' ' ')
    pass alua-handler-refused "dh_state alua refused: $kmsg"
  fi
  check_file dh-state-none "/sys/block/$p1/device/dh_state" detached
else
  skip alua-handler "no scsi_dh_alua in this guest"
fi

# udev gives multipath the paths' properties (ID_SERIAL, SCSI_IDENT_*:
# multipath leaves out a path without them). systemd's tools do nothing in
# a chroot unless told to; device-mapper makes its nodes itself (no udev
# rules to wait for).
mdeb() { deb env SYSTEMD_IGNORE_CHROOT=1 DM_DISABLE_UDEV=1 "$@"; }
mkdir -p "$DEBIAN_ROOT/run/udev"
mdeb /lib/systemd/systemd-udevd --daemon >/tmp/udevd76.log 2>&1
mdeb udevadm trigger --action=add --subsystem-match=block >/dev/null 2>&1
mdeb udevadm settle -t 30 >/dev/null 2>&1
run mdeb udevadm info --query=property "$d1"
check_out udev-serial "ID_SERIAL="
cat >"$DEBIAN_ROOT/etc/multipath.conf" <<'EOF'
defaults {
	user_friendly_names no
	find_multipaths no
	polling_interval 1
}
blacklist {
	devnode "^(ram|loop|vd|sr|nbd)"
}
devices {
	device {
		vendor "LIO-ORG"
		product "m76"
		path_grouping_policy failover
		path_selector "round-robin 0"
		path_checker tur
		detect_checker no
		prio const
		detect_prio no
		hardware_handler "0"
		failback manual
		no_path_retry 10
	}
}
EOF
run mdeb multipath -v3 -d "$d1"
printf '%s\n' "$OUT" | grep -i -e alua -e prio -e tpg | head -n 20 | sed 's/^/    alua? /'
run mdeb timeout 60 multipath -v3
printf '%s\n' "$OUT" | tail -n 40 | sed 's/^/    v3 /'
check_rc multipath-creates-map 0
run mdeb multipath -ll
check_out map-has-both-paths "$p1" "$p2"
wwid=$(mdeb multipath -ll 2>/dev/null | sed -n '1s/ .*//p')
note "map $wwid"
mapdev=/dev/mapper/$wwid
if wait_for 10 -b "$mapdev"; then pass map-device "$mapdev"; else
  fail map-device "no $mapdev"
  return 0
fi

mdeb multipathd -d -s >/tmp/multipathd76.log 2>&1 &
mpid=$!
# paths_are A B: multipathd's checker shows path p1 in state A and p2 in
# state B, within 30 s (it checks each second; a path the kernel failed
# shows "faulty" until then). Only the checker's state: dm's state of the
# standby path flips between failed and active, as any I/O sent to it
# (udev's probes) fails it and multipathd reinstates it.
paths_are() {
  _i=0
  while [ $_i -lt 30 ]; do
    _st=$(mdeb multipathd show paths format "%d %T" 2>/dev/null | tr -s ' ' | sed 's/ $//')
    printf '%s
' "$_st" | grep -qx "$p1 $1" && printf '%s
' "$_st" | grep -qx "$p2 $2" && break
    sleep 1
    _i=$((_i + 1))
  done
  run mdeb multipathd show paths format "%d %T"
}
paths_are ghost ready
check_out checker-standby-ghost "$p1 ghost"
check_out checker-optimized-ready "$p2 ready"

# I/O through the map lands on the active/optimized path.
dd if=/dev/urandom of=/tmp/m76-before bs=1M count=2 2>/dev/null
check write-before dd if=/tmp/m76-before of="$mapdev" bs=1M count=2 oflag=direct
# dm-multipath's status: the active path group ("A") holds the
# active/optimized path; the standby one has failed I/O and is enabled
# ("E") again, as multipathd reinstates a ghost path.
dev1=$(cat "/sys/block/$p1/dev") dev2=$(cat "/sys/block/$p2/dev")
run mdeb dmsetup status "$wwid"
check_out active-group-optimized-path "A 0 1 0 $dev2 A"
check image-before sh -c "dd if=/tmp/m76.img bs=1M count=2 2>/dev/null | cmp - /tmp/m76-before"

# The states swap (implicit, in configfs): I/O moves to the other path.
echo 0 >"$so/alua/first/alua_access_state"
echo 2 >"$so/alua/second/alua_access_state"
dd if=/dev/urandom of=/tmp/m76-after bs=1M count=2 2>/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
check write-after-switch dd if=/tmp/m76-after of="$mapdev" bs=1M seek=2 count=2 oflag=direct
note "write after the switch: $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%.1f", b-a}') s; timeouts $p1 $(cat /sys/block/$p1/device/iotmo_cnt) $p2 $(cat /sys/block/$p2/device/iotmo_cnt), errors $p1 $(cat /sys/block/$p1/device/ioerr_cnt) $p2 $(cat /sys/block/$p2/device/ioerr_cnt)"
check read-across-switch sh -c "dd if=$mapdev bs=1M count=2 iflag=direct 2>/dev/null | cmp - /tmp/m76-before && dd if=$mapdev bs=1M skip=2 count=2 iflag=direct 2>/dev/null | cmp - /tmp/m76-after"
check image-has-both sh -c "dd if=/tmp/m76.img bs=1M count=2 2>/dev/null | cmp - /tmp/m76-before &&
  dd if=/tmp/m76.img bs=1M skip=2 count=2 2>/dev/null | cmp - /tmp/m76-after"
paths_are ready ghost
check_out after-first-ready "$p1 ready"
check_out after-second-ghost "$p2 ghost"
run mdeb dmsetup status "$wwid"
check_out active-group-after-switch "A 0 1 0 $dev1 A"
run mdeb multipath -ll

show_file /tmp/multipathd76.log 40
# (mpid is the shell around chroot: multipathd is told to stop itself.)
run mdeb multipathd shutdown
i=0
while grep -qx multipathd /proc/[0-9]*/comm 2>/dev/null && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
check multipathd-stopped sh -c '! grep -qx multipathd /proc/[0-9]*/comm 2>/dev/null'
wait "$mpid" 2>/dev/null
run mdeb dmsetup remove "$wwid"
check map-removed test ! -e "$mapdev"
mdeb udevadm control --exit >/dev/null 2>&1
i=0
while grep -qx systemd-udevd /proc/[0-9]*/comm 2>/dev/null && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
for t in $NAA1 $NAA2; do
  run tc /loopback delete $t
done
run tc /backstores/user:file delete m76
stop_serve serve-stopped "$spid"
run unload_on_demand
check_rc modules-unloaded 0
if [ "$RC" != 0 ]; then
  for p in /proc/[0-9]*; do
    for fd in "$p"/fd/*; do
      case $(readlink "$fd" 2>/dev/null) in /dev/mapper/control | /dev/dm-*) note "$(cat "$p/comm") (${p#/proc/}) holds $(readlink "$fd")" ;; esac
    done
  done
  run mdeb dmsetup ls
fi
