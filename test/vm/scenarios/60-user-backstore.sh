# shellcheck shell=sh
# 60-user-backstore: tcmsh serves a user:ram backstore itself (TCMU). The
# daemon `tcmsh serve` holds the engine; one-shot commands attach to it
# through its control socket (see dist/README.md). Data written to the
# kernel's disk for that LUN goes through the ring and comes back.
NAA=naa.5001405aabbccdd0
SOCK=/run/tcmsh/control.sock

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve.log >/tmp/serve.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve.out

run tc /backstores/user:ram create u1 16M
check_rc user-create 0
check_no_out user-served "nothing serves it"
if so=$(lio_so user u1); then
  pass user-in-configfs "$so"
  check_file user-enabled "$so/enable" 1
  check_file_has user-config "$so/info" "Config: ram/"
else
  fail user-in-configfs "no core/user_*/u1"
fi
uio=
for u in /sys/class/uio/uio*; do
  case $(cat "$u/name" 2>/dev/null) in
    tcm-user/*/u1/ram/*) uio=$u ;;
  esac
done
if [ -n "$uio" ]; then
  pass uio-device "$uio: $(cat "$uio/name")"
  held=0
  for fd in /proc/"$spid"/fd/*; do
    [ "$(readlink "$fd")" = "/dev/${uio##*/}" ] && held=1
  done
  if [ "$held" = 1 ]; then
    pass uio-held-by-daemon "pid $spid has /dev/${uio##*/} open"
  else
    fail uio-held-by-daemon "pid $spid does not hold /dev/${uio##*/}"
  fi
else
  fail uio-device "no /sys/class/uio/uio*/name for u1"
fi

# A LUN on a device nobody serves hangs the kernel's SCSI scan until the
# command times out (30 s), so the data path is tried only when it is served.
disk=
if [ "${held:-0}" = 1 ]; then
  run tc /loopback create $NAA
  run tc /loopback/$NAA/luns create /backstores/user:ram/u1
  check_rc lun-create 0
  if disk=$(wait_disk 30 LIO-ORG u1) && is_block "$disk"; then
    pass disk "$disk"
  else
    fail disk "no block device for the user:ram LUN within 30 s"
    disk=
  fi
fi
if [ -n "$disk" ]; then
  dd if=/dev/urandom of=/tmp/upat bs=64k count=32 2>/dev/null
  check write-through-ring timeout 60 dd if=/tmp/upat of="$disk" bs=64k count=32 conv=fsync
  blockdev --flushbufs "$disk"
  echo 3 >/proc/sys/vm/drop_caches
  check read-through-ring sh -c "timeout 60 dd if=$disk bs=64k count=32 2>/dev/null | cmp - /tmp/upat"
  # Never written: reads as zeroes.
  dd if=/dev/zero of=/tmp/uzero bs=64k count=4 2>/dev/null
  check unwritten-reads-zero sh -c "timeout 60 dd if=$disk bs=64k skip=100 count=4 2>/dev/null | cmp - /tmp/uzero"
  run tc /loopback delete $NAA
  check_rc target-delete 0
fi

run tc /backstores/user:ram delete u1
check_rc user-delete 0
check user-deleted sh -c "! ls -d $LIO/core/user_*/u1 2>/dev/null"

if kill -0 "$spid" 2>/dev/null; then
  stop_serve serve-stops "$spid"
fi
show_file /tmp/serve.log 40
