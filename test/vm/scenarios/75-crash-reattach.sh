# shellcheck shell=sh
# 75-crash-reattach: the `tcmsh serve` that serves a user:file LUN is killed
# (SIGKILL) in the middle of O_DIRECT writes; a new `tcmsh serve` reattaches
# to the device (block_dev, reset_ring, map, unblock), the writes resume on
# the same disk, and every write that had been acknowledged reads back, from
# the disk and from the image file.
NAA=naa.5001405a75a75a75
SOCK=/run/tcmsh/control.sock
CHUNKS=160 # 64 KiB each: 10 MiB

# holds PID NAME: PID has the uio device of user backstore NAME open.
holds() {
  for _u in /sys/class/uio/uio*; do
    case $(cat "$_u/name" 2>/dev/null) in
      tcm-user/*/"$2"/*)
        for _fd in /proc/"$1"/fd/*; do
          [ "$(readlink "$_fd")" = "/dev/${_u##*/}" ] && return 0
        done
        ;;
    esac
  done
  return 1
}

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve75a.log >>/tmp/serve75.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve75.out || return 0
first=$spid
run tc /backstores/user:file create c75 16M /tmp/c75.img
check_rc file-create 0
if holds "$first" c75; then
  pass served "pid $first holds the uio device"
else
  fail served "the daemon does not hold c75's uio device"
  return 0
fi
run tc /loopback create $NAA
run tc /loopback/$NAA/luns create /backstores/user:file/c75
check_rc lun-create 0
# The disk, by its SCSI address: tcm_loop's host:0:tpgt and LUN 0 (its
# model is 70-tcmu-io's business).
addr=$(cat "$LIO/loopback/$NAA/tpgt_1/address" 2>/dev/null)
addr_disk() {
  for _b in /sys/class/scsi_disk/"$addr:0"/device/block/*; do
    [ -e "$_b" ] && echo "/dev/${_b##*/}" && return 0
  done
  return 1
}
i=0
while ! addr_disk >/dev/null && [ $i -lt 300 ]; do
  sleep 0.1
  i=$((i + 1))
done
if [ -n "$addr" ] && disk=$(addr_disk) && is_block "$disk"; then
  pass disk "$disk"
else
  fail disk "no block device for c75"
  return 0
fi

# The writer: chunk I of the pattern at offset I, one O_DIRECT write and fsync
# each; its number goes to the acknowledged list only after dd returned 0.
dd if=/dev/urandom of=/tmp/pat75 bs=64k count=$CHUNKS 2>/dev/null
: >/tmp/acked75
(
  i=0
  while [ $i -lt $CHUNKS ]; do
    if dd if=/tmp/pat75 of="$disk" bs=64k skip=$i seek=$i count=1 oflag=direct conv=notrunc,fsync 2>/tmp/dd75.err; then
      echo $i >>/tmp/acked75
    else
      echo "chunk $i failed: $(cat /tmp/dd75.err)" >>/tmp/failed75
    fi
    i=$((i + 1))
  done
) &
wpid=$!

# Kill the daemon once a third of the chunks are acknowledged.
i=0
while [ "$(wc -l </tmp/acked75)" -lt $((CHUNKS / 3)) ] && kill -0 $wpid 2>/dev/null && [ $i -lt 600 ]; do
  sleep 0.1
  i=$((i + 1))
done
before=$(wc -l </tmp/acked75)
kill -KILL "$first"
wait "$first" 2>/dev/null
killed_at=$(cut -d' ' -f1 /proc/uptime)
if [ "$before" -ge $((CHUNKS / 3)) ] && [ "$before" -lt $CHUNKS ]; then
  pass killed-mid-write "SIGKILL after $before of $CHUNKS chunks"
else
  fail killed-mid-write "$before of $CHUNKS chunks acknowledged when the daemon was killed"
fi
sleep 1
during=$(wc -l </tmp/acked75)
note "chunks acknowledged 1 s after the kill: $during (before: $before)"

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve75b.log >>/tmp/serve75.out 2>&1 &
spid=$!
wait_serve serve-restarted "$spid" /tmp/serve75.out
second=$spid
i=0
while ! holds "$second" c75 && [ $i -lt 300 ]; do
  sleep 0.1
  i=$((i + 1))
done
if holds "$second" c75; then
  pass reattached "pid $second holds the uio device after $(awk -v a="$killed_at" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%.1f", b-a}') s"
else
  fail reattached "the new daemon does not hold c75's uio device"
fi

# The writer finishes: I/O resumed on the same disk.
i=0
while kill -0 $wpid 2>/dev/null && [ $i -lt 1200 ]; do
  sleep 0.1
  i=$((i + 1))
done
resumed_at=$(cut -d' ' -f1 /proc/uptime)
if kill -0 $wpid 2>/dev/null; then
  fail writer-finished "the writer is still running 120 s after the restart ($(wc -l </tmp/acked75) acknowledged)"
  kill $wpid
else
  pass writer-finished "$(wc -l </tmp/acked75) of $CHUNKS acknowledged, $(awk -v a="$killed_at" -v b="$resumed_at" 'BEGIN{printf "%.1f", b-a}') s after the kill"
fi
[ -f /tmp/failed75 ] && show_file /tmp/failed75 20
acked=$(wc -l </tmp/acked75)
if [ "$acked" -gt "$before" ]; then
  pass writes-resumed "$((acked - before)) chunks acknowledged after the kill"
else
  fail writes-resumed "no chunk acknowledged after the kill"
fi
check same-disk test "$(addr_disk)" = "$disk"

# Every acknowledged chunk reads back: from the disk, past its page cache...
blockdev --flushbufs "$disk"
bad=
while read -r c; do
  dd if=/tmp/pat75 of=/tmp/want75 bs=64k skip="$c" count=1 2>/dev/null
  dd if="$disk" of=/tmp/got75 bs=64k skip="$c" count=1 iflag=direct 2>/dev/null
  cmp -s /tmp/want75 /tmp/got75 || bad="$bad $c"
done </tmp/acked75
if [ -z "$bad" ]; then
  pass acked-on-disk "all $acked acknowledged chunks read back"
else
  fail acked-on-disk "chunks that differ:$bad"
fi
# ...and from the image file.
bad=
while read -r c; do
  dd if=/tmp/pat75 of=/tmp/want75 bs=64k skip="$c" count=1 2>/dev/null
  dd if=/tmp/c75.img of=/tmp/got75 bs=64k skip="$c" count=1 2>/dev/null
  cmp -s /tmp/want75 /tmp/got75 || bad="$bad $c"
done </tmp/acked75
if [ -z "$bad" ]; then
  pass acked-in-file "all $acked acknowledged chunks are in /tmp/c75.img"
else
  fail acked-in-file "chunks that differ in the file:$bad"
fi

# New I/O after the reattach, and the daemon's view of the device.
dd if=/dev/urandom of=/tmp/post75 bs=64k count=4 2>/dev/null
check post-write dd if=/tmp/post75 of="$disk" bs=64k seek=200 count=4 oflag=direct conv=notrunc
check post-read sh -c "dd if=$disk bs=64k skip=200 count=4 iflag=direct 2>/dev/null | cmp - /tmp/post75"
run tc --json stats
check_rc stats 0
check_out stats-up '"up": true'
show_file /tmp/serve75b.log 30

run tc /loopback delete $NAA
run tc /backstores/user:file delete c75
check_rc delete 0
kill -TERM "$second" 2>/dev/null
