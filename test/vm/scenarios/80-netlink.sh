# shellcheck shell=sh
# 80-netlink: `tcmsh serve` follows the kernel's TCM-USER netlink events.
# ADDED: a user:ram device another tool makes (rtslib-fb, not tcmsh) is
# served by the running daemon; RECONFIG: growing dev_size of a served device
# reaches the initiator as a bigger disk; REMOVED: the daemon lets go of a
# device another tool deletes. Then the reply trap: after tcmu-runner has run
# once (it turns the kernel's netlink reply mode on for good), tcmsh creates,
# enables and deletes a user backstore without hanging (nl_reply_supported
# -1). Needs the Debian userland (rtslib-fb, tcmu-runner).
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
NAA=naa.5001405a80a80a80
SOCK=/run/tcmsh/control.sock

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve80.log >/tmp/serve80.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve80.out || return 0

# holds NAME: the daemon has the uio device of user backstore NAME open.
holds() { holds_uio "$spid" "$1"; }
# addr_disk H:C:T:L: the /dev/sdX of the SCSI disk at that address.
addr_disk() {
  for _b in /sys/class/scsi_disk/"$1"/device/block/*; do
    [ -e "$_b" ] && echo "/dev/${_b##*/}" && return 0
  done
  return 1
}
rts() { # rts PYTHON: rtslib-fb in the Debian userland
  timeout -s KILL 60 chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/bin:/bin python3 -c "
import rtslib_fb as r
$1"
}

# ($rpid is the shell that runs chroot: the tcmu-runner it started is found
# by its name among this scenario's processes, and ended by its pid.)
runner_pids() {
  for _p in /proc/[0-9]*; do
    [ "$(cat "$_p/comm" 2>/dev/null)" = tcmu-runner ] && echo "${_p#/proc/}"
  done
}
# A tcmu-runner left by an earlier scenario would answer for the devices
# made here: end it first.
for p in $(runner_pids); do kill "$p"; done
i=0
while [ -n "$(runner_pids)" ] && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done

# ADDED: rtslib-fb makes the device; nobody tells the daemon but the kernel.
# (nl_reply_supported=-1: an earlier tcmu-runner, e.g. one that targetcli-fb
# started through D-Bus in an earlier scenario, may have turned the kernel's
# reply mode on for good; then a device without it waits for a reply.)
run rts "r.UserBackedStorageObject('n80', config='ram/', size=8*1024*1024, control='nl_reply_supported=-1')"
check_rc rtslib-create 0
i=0
while ! holds n80 && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
if holds n80; then
  pass added-served "the daemon serves n80 $((i / 10)).$((i % 10)) s after enable"
else
  fail added-served "the daemon does not hold n80's uio device 10 s after enable"
fi
run tc stats
check_out stats-lists-added /backstores/user:ram/n80

disk=
if holds n80; then
  run tc /loopback create $NAA
  run tc /loopback/$NAA/luns create /backstores/user:ram/n80
  check_rc lun-create 0
  # The disk, by its SCSI address (tcm_loop's host:0:tpgt, LUN 0): rtslib-fb
  # does not set the model.
  addr=$(cat "$LIO/loopback/$NAA/tpgt_1/address" 2>/dev/null)
  i=0
  while ! disk=$(addr_disk "$addr:0") && [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if [ -n "$addr" ] && disk=$(addr_disk "$addr:0") && is_block "$disk"; then
    pass disk "$disk (model $(sed 's/ *$//' "/sys/block/${disk#/dev/}/device/model"))"
  else
    fail disk "no block device for n80 (SCSI address '$addr:0')"
    disk=
  fi
fi

# RECONFIG: a bigger dev_size reaches the initiator.
if [ -n "$disk" ]; then
  check size-before test "$(blockdev --getsize64 "$disk")" = 8388608
  dd if=/dev/urandom of=/tmp/pat80 bs=64k count=16 2>/dev/null
  check write-before dd if=/tmp/pat80 of="$disk" bs=64k count=16 oflag=direct
  run timeout -s KILL 60 "$TCMSH" --kernel real /backstores/user:ram/n80 set attribute dev_size=16777216
  check_rc set-dev-size 0
  check_file dev-size-attr "$(lio_so user n80)/attrib/dev_size" 16777216
  check_file_has info-size "$(lio_so user n80)/info" "Size: 16777216"
  # The initiator is told (UNIT ATTENTION, CAPACITY DATA HAS CHANGED) and
  # the backend follows (READ CAPACITY answers the new size)...
  run deb sg_readcap "$disk"
  if [ "$RC" != 0 ]; then
    check_out_i capacity-changed-ua "capacity data has changed"
    run deb sg_readcap "$disk"
  fi
  check_out readcap-grown "Last LBA=32767"
  # ...and the kernel's disk grows on a rescan.
  echo 1 >"/sys/block/${disk#/dev/}/device/rescan"
  i=0
  while [ "$(blockdev --getsize64 "$disk")" != 16777216 ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  check size-after test "$(blockdev --getsize64 "$disk")" = 16777216
  check data-kept sh -c "dd if=$disk bs=64k count=16 iflag=direct 2>/dev/null | cmp - /tmp/pat80"
  dd if=/dev/urandom of=/tmp/pat80b bs=64k count=4 2>/dev/null
  check write-new-end dd if=/tmp/pat80b of="$disk" bs=64k seek=252 count=4 oflag=direct
  check read-new-end sh -c "dd if=$disk bs=64k skip=252 count=4 iflag=direct 2>/dev/null | cmp - /tmp/pat80b"
  run tc /loopback delete $NAA
  check_rc loopback-delete 0
fi

# REMOVED: rtslib-fb deletes it; the daemon lets go and stays up.
run rts "r.UserBackedStorageObject('n80').delete()"
check_rc rtslib-delete 0
check removed-from-configfs sh -c "! ls -d $LIO/core/user_*/n80 2>/dev/null"
i=0
while tc stats 2>/dev/null | grep -q /n80 && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
run tc stats
check_rc stats-after-remove 0
check_no_out stats-forgets-removed /backstores/user:ram/n80
check daemon-alive kill -0 "$spid"

# The reply trap. tcmu-runner turns the module-wide reply mode on at start.
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi
deb tcmu-runner >/tmp/tcmu-runner80.log 2>&1 &
rpid=$!
i=0
while [ $i -lt 40 ] && kill -0 "$rpid" 2>/dev/null; do
  deb dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.5
  i=$((i + 1))
done
if kill -0 "$rpid" 2>/dev/null && [ $i -lt 40 ]; then
  pass tcmu-runner-ran "pid $rpid, on D-Bus"
else
  fail tcmu-runner-ran "tcmu-runner did not come up"
  show_file /tmp/tcmu-runner80.log 20
fi
for p in $(runner_pids); do kill "$p"; done
kill "$rpid" 2>/dev/null
i=0
while [ -n "$(runner_pids)" ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
check tcmu-runner-gone test -z "$(runner_pids)"

# Nobody answers netlink now: a device that waits for a reply hangs.
run timeout -s KILL 60 "$TCMSH" --kernel real /backstores/user:ram create t80 8M
check_rc reply-mode-create 0
if so=$(lio_so user t80); then
  check_file reply-mode-enabled "$so/enable" 1
  check_file reply-mode-opt-out "$so/attrib/nl_reply_supported" -1
fi
i=0
while ! holds t80 && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
if holds t80; then pass reply-mode-served "the daemon serves t80"; else fail reply-mode-served "t80 not served"; fi
run timeout -s KILL 60 "$TCMSH" --kernel real /backstores/user:ram/t80 set attribute dev_size=16777216
check_rc reply-mode-reconfig 0
run timeout -s KILL 60 "$TCMSH" --kernel real /backstores/user:ram delete t80
check_rc reply-mode-delete 0
check reply-mode-deleted sh -c "! ls -d $LIO/core/user_*/t80 2>/dev/null"
check daemon-alive-end kill -0 "$spid"
show_file /tmp/serve80.log 30
kill -TERM "$spid"
