# shellcheck shell=sh
# 72-alua: one user:file backstore served by tcmsh, exported through two
# loopback targets whose LUNs are in two ALUA target port groups ("left",
# ID 10, active/optimized; "right", ID 20, standby). sg_inq sees TPGS,
# sg_rtpg both groups with their ports; the kernel refuses I/O through the
# standby port (NOT READY, target port in standby state); sg_stpg swaps the
# states through tcmsh, the initiators get ASYMMETRIC ACCESS STATE CHANGED,
# and data written before the switch through one path reads back through
# the other, and data written after it is in the image. A state changed
# in configfs (implicit) shows in sg_rtpg too. Needs the Debian userland.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
SOCK=/run/tcmsh/control.sock
NAA1=naa.5001405a72a72a01
NAA2=naa.5001405a72a72a02
SIZE_MB=8

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve72.log >/tmp/serve72.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve72.out || return 0

run tc /backstores/user:file create a72 ${SIZE_MB}M /tmp/a72.img
check_rc create 0
so=$(lio_so user a72)
if holds_uio "$spid" a72; then pass served "pid $spid holds its uio device"; else fail served "a72 not served"; fi

# Two groups with IDs; the kernel takes nothing else before the ID.
for g in left:10:0 right:20:2; do
  name=${g%%:*}
  rest=${g#*:}
  mkdir "$so/alua/$name"
  echo "${rest%%:*}" >"$so/alua/$name/tg_pt_gp_id"
  check "group-$name-state" sh -c "echo ${rest#*:} > $so/alua/$name/alua_access_state"
done

for t in $NAA1 $NAA2; do
  run tc /loopback create $t
  check_rc "target-$t" 0
  run tc /loopback/$t/luns create /backstores/user:file/a72
  check_rc "lun-$t" 0
done
echo left >"$LIO/loopback/$NAA1/tpgt_1/lun/lun_0/alua_tg_pt_gp"
echo right >"$LIO/loopback/$NAA2/tpgt_1/lun/lun_0/alua_tg_pt_gp"
check_file_has members-left "$so/alua/left/members" "loopback/$NAA1/tpgt_1/lun_0"
check_file_has members-right "$so/alua/right/members" "loopback/$NAA2/tpgt_1/lun_0"

d1= d2=
for _ in $(seq 1 300); do
  d1=$(loopback_disk $NAA1) && d2=$(loopback_disk $NAA2) && break
  sleep 0.1
done
if is_block "$d1" && is_block "$d2"; then
  pass disks "left path $d1, right path $d2"
else
  fail disks "no disks ('$d1', '$d2')"
  return 0
fi

# clear_ua DISK: takes the unit attentions the kernel queued for DISK
# (INQUIRY DATA HAS CHANGED when a LUN joins a group, ASYMMETRIC ACCESS
# STATE CHANGED on a transition): the kernel, not the handler, holds them.
clear_ua() {
  for _ in 1 2 3; do deb sg_turs "$1" >/dev/null 2>&1; done
}
clear_ua "$d1"
clear_ua "$d2"

# INQUIRY: implicit and explicit ALUA (TPGS 3).
run deb sg_inq "$d1"
check_out_i tpgs "TPGS=3"

# REPORT TARGET PORT GROUPS, through either path: both groups, their
# states and ports.
rtpi1=$(cat "$LIO/loopback/$NAA1/tpgt_1/lun/lun_0/statistics/scsi_port/indx")
rtpi2=$(cat "$LIO/loopback/$NAA2/tpgt_1/lun/lun_0/statistics/scsi_port/indx")
for d in "$d1" "$d2"; do
  run deb sg_rtpg --decode "$d"
  check_rc "rtpg-${d#/dev/}" 0
  check_out_i "rtpg-groups-${d#/dev/}" "target port group id : 0xa" "target port group id : 0x14"
  check_out_i "rtpg-states-${d#/dev/}" "active/optimized" "standby"
done
run deb sg_rtpg --hex "$d1"
check_rc rtpg-hex 0
printf '%s\n' "$OUT" >/tmp/rtpg72
note "relative ports: left $rtpi1, right $rtpi2"

# The kernel refuses media access through the standby port.
run deb sg_raw -r 512 "$d2" 28 00 00 00 00 00 00 00 01 00
check_out_i standby-refused "not ready" "standby"
run deb sg_raw -r 512 "$d1" 28 00 00 00 00 00 00 00 01 00
check_out_i optimized-reads "good"

# Data before the switch, through the left (optimized) path.
dd if=/dev/urandom of=/tmp/a72-before bs=1M count=2 2>/dev/null
check write-before dd if=/tmp/a72-before of="$d1" bs=1M count=2 oflag=direct

# SET TARGET PORT GROUPS through tcmsh: left standby, right optimized.
run deb sg_stpg --tp=10,20 --state=2,0 "$d1"
check_rc stpg 0
check_file stpg-left-state "$so/alua/left/alua_access_state" 2
check_file stpg-right-state "$so/alua/right/alua_access_state" 0
check_file stpg-status "$so/alua/right/alua_access_status" "Altered by Explicit STPG"

# The initiators hear of it: the next command through the right path gets
# the unit attention (the kernel queued it for every LUN of the groups).
run deb sg_raw "$d2" 00 00 00 00 00 00
check_out_i ua-state-changed "asymmetric access state changed"
run deb sg_rtpg --decode "$d2"
check_out_i rtpg-after-stpg "active/optimized"

# The data written before the switch reads back through the right path;
# data written after it through that path is in the image.
check read-across-switch sh -c "dd if=$d2 bs=1M count=2 iflag=direct 2>/dev/null | cmp - /tmp/a72-before"
dd if=/dev/urandom of=/tmp/a72-after bs=1M count=2 2>/dev/null
check write-after dd if=/tmp/a72-after of="$d2" bs=1M seek=2 count=2 oflag=direct
check image-has-both sh -c "dd if=/tmp/a72.img bs=1M count=2 2>/dev/null | cmp - /tmp/a72-before &&
  dd if=/tmp/a72.img bs=1M skip=2 count=2 2>/dev/null | cmp - /tmp/a72-after"
clear_ua "$d1"
run deb sg_raw -r 512 "$d1" 28 00 00 00 00 00 00 00 01 00
check_out_i left-now-standby "standby"

# An implicit change made in configfs shows in REPORT TARGET PORT GROUPS.
echo 1 >"$so/alua/left/alua_access_state"
run deb sg_rtpg --decode "$d2"
check_out_i rtpg-implicit "active/non optimized"

# SET TARGET PORT GROUPS to a state the group does not support is refused.
echo 0 >"$so/alua/left/alua_support_unavailable"
run deb sg_stpg --tp=10 --state=3 "$d2"
check_out_i stpg-unsupported-refused "illegal request"
check_file stpg-unsupported-kept "$so/alua/left/alua_access_state" 1

for t in $NAA1 $NAA2; do
  run tc /loopback delete $t
done
run tc /backstores/user:file delete a72
stop_serve serve-stopped "$spid"
