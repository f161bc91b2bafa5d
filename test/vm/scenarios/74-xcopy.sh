# shellcheck shell=sh
# 74-xcopy: EXTENDED COPY between two tcmsh LUNs on the real kernel. Two
# user:file backstores (x74a, x74b) served by tcmsh behind one loopback
# target; sg_inq shows 3PC; sg_xcopy (sg3-utils) copies ranges from one to
# the other, sent to the destination and (on_src) to the source; the data
# reads back through the destination's disk and is in its image; ddpt with
# oflag=xcopy does the same; a copy past the end of the destination is
# refused and writes nothing. Needs the Debian userland.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
SOCK=/run/tcmsh/control.sock
NAA=naa.5001405a74a74a74
SIZE_MB=8

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve74.log >/tmp/serve74.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve74.out || return 0

for n in x74a x74b; do
  run tc /backstores/user:file create $n ${SIZE_MB}M /tmp/$n.img
  check_rc "create-$n" 0
done
run tc /loopback create $NAA
check_rc loopback-create 0
for n in x74a x74b; do
  run tc /loopback/$NAA/luns create /backstores/user:file/$n
  check_rc "lun-$n" 0
done
if da=$(wait_disk 30 LIO-ORG x74a) && db=$(wait_disk 30 LIO-ORG x74b) && is_block "$da" && is_block "$db"; then
  pass disks "source $da, destination $db"
else
  fail disks "no disks ('$da', '$db')"
  return 0
fi

# The kernel's unit attentions (REPORTED LUNS DATA HAS CHANGED) first.
for d in "$da" "$db"; do for _ in 1 2 3; do deb sg_turs "$d" >/dev/null 2>&1; done; done
# sg_xcopy and ddpt copy between sg devices.
sg_of() {
  for _g in /sys/block/"${1#/dev/}"/device/scsi_generic/*; do
    [ -e "$_g" ] && echo "/dev/${_g##*/}" && return 0
  done
  return 1
}
if ga=$(sg_of "$da") && gb=$(sg_of "$db") && [ -c "$ga" ] && [ -c "$gb" ]; then
  pass sg-devices "source $ga, destination $gb"
else
  fail sg-devices "no sg devices for $da, $db ('$ga', '$gb'; $(ls /dev/sg* 2>&1 | tr '\n' ' '))"
  return 0
fi

run deb sg_inq "$da"
check_out_i three-pc "3PC=1"
run deb sg_opcodes "$da"
check_out_i rsoc-xcopy "extended copy"
check_out_i rsoc-rcr "receive copy"

dd if=/dev/urandom of=/tmp/pat74 bs=1M count=4 2>/dev/null
dd if=/tmp/pat74 of=/tmp/pat74-2 bs=1M skip=2 count=2 2>/dev/null
check write-source dd if=/tmp/pat74 of="$da" bs=1M count=4 oflag=direct

# 2 MiB from LBA 0 of the source to LBA 2048 of the destination, sent to
# the destination (sg_xcopy's default).
t0=$(cut -d' ' -f1 /proc/uptime)
run timeout 120 chroot "$DEBIAN_ROOT" /usr/bin/sg_xcopy if="$ga" of="$gb" bs=512 count=4096 seek=2048
t1=$(cut -d' ' -f1 /proc/uptime)
check_rc sg-xcopy 0
note "sg_xcopy of 2 MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
check xcopy-data sh -c "dd if=$db bs=512 skip=2048 count=4096 iflag=direct 2>/dev/null |
  cmp - /tmp/pat74 -n 2097152"
check xcopy-image sh -c "dd if=/tmp/x74b.img bs=512 skip=2048 count=4096 2>/dev/null | cmp - /tmp/pat74 -n 2097152"
check xcopy-left-the-rest sh -c "dd if=/tmp/x74b.img bs=512 count=2048 2>/dev/null | cmp -s - /dev/zero -n 1048576"

# The second 2 MiB, sent to the source this time.
run timeout 120 chroot "$DEBIAN_ROOT" /usr/bin/sg_xcopy if="$ga" of="$gb" bs=512 skip=4096 count=4096 seek=8192 --on_src
check_rc sg-xcopy-on-src 0
check xcopy-on-src-data sh -c "dd if=$db bs=512 skip=8192 count=4096 iflag=direct 2>/dev/null |
  cmp - /tmp/pat74-2"

# ddpt offloads with EXTENDED COPY when asked (oflag=xcopy).
run timeout 120 chroot "$DEBIAN_ROOT" /usr/bin/ddpt if="$ga" of="$gb" bs=512 count=2048 skip=0 seek=12288 oflag=xcopy
check_rc ddpt-xcopy 0
check ddpt-data sh -c "dd if=$db bs=512 skip=12288 count=2048 iflag=direct 2>/dev/null | cmp - /tmp/pat74 -n 1048576"

# Past the end of the destination (16384 blocks): COPY ABORTED, nothing written.
before=$(sha256sum /tmp/x74b.img | cut -d' ' -f1)
run timeout 60 chroot "$DEBIAN_ROOT" /usr/bin/sg_xcopy if="$ga" of="$gb" bs=512 count=64 seek=16352
check_out_i xcopy-past-end-refused "copy aborted"
check xcopy-past-end-wrote-nothing sh -c "test \"\$(sha256sum /tmp/x74b.img | cut -d' ' -f1)\" = $before"

run tc /loopback delete $NAA
for n in x74a x74b; do run tc /backstores/user:file delete $n; done
stop_serve serve-stopped "$spid"
