# shellcheck shell=sh
# 57-targetcli-user: targetcli-fb keeps working with tcmsh as the userspace
# engine. `tcmsh serve` owns tcmu-runner's D-Bus name
# (org.kernel.TCMUService1) on the Debian userland's system bus, so that
# targetcli-fb lists tcmsh's subtypes as /backstores/user:<subtype>, asks
# tcmsh's CheckConfig before `create`, and the backstore it makes is served
# by the daemon (data through a loopback LUN lands in the image file).
# tcmu-runner is never started (D-Bus activation finds the name owned).
# Needs the Debian userland (test/vm/run --debian).
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
NAA=naa.5001405a57a57a57
BUS="unix:path=$DEBIAN_ROOT/run/dbus/system_bus_socket"
SOCK=/tmp/serve57.sock
runner_pids() {
  for _p in /proc/[0-9]*; do
    [ "$(cat "$_p/comm" 2>/dev/null)" = tcmu-runner ] && echo "${_p#/proc/}"
  done
}
# A tcmu-runner left by an earlier scenario would own the name.
for p in $(runner_pids); do kill "$p" 2>/dev/null; done
wait_for 5 -z "$(runner_pids)"
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi

"$TCMSH" --kernel real serve --socket "$SOCK" --dbus "$BUS" --log-level debug --log-file /tmp/serve57.log >/tmp/serve57.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve57.out || return 0
check_file_has serve-offers-dbus /tmp/serve57.log "offering tcmu-runner's D-Bus service"
run deb dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.GetConnectionUnixProcessID string:org.kernel.TCMUService1
check_out tcmsh-owns-name "uint32 $spid"

# What targetcli-fb lists: a node per subtype tcmsh serves.
run deb targetcli ls /backstores 1
check_rc targetcli-ls 0
check_out targetcli-lists-subtypes user:file user:ram user:null user:fault
# `help create` prints ConfigDesc, tcmsh's help text of the subtype.
run deb targetcli /backstores/user:file help create
check_out targetcli-help-configdesc "CFGSTRING FORMAT" "file/<path>"

# CheckConfig refuses a bad cfgstring before anything reaches configfs.
run deb targetcli /backstores/user:file create bad57 8M relative.img
check_out_i targetcli-checkconfig-refuses "cfgstring invalid" "absolute"
if lio_so user bad57 >/dev/null; then fail refused-not-created "core/user_*/bad57 exists"; else pass refused-not-created "no core/user_*/bad57"; fi

# The create tcmsh serves.
rm -f /tmp/tf57.img
run deb targetcli /backstores/user:file create tf57 16M /tmp/tf57.img
check_rc targetcli-user-file-create 0
if so=$(lio_so user tf57); then
  pass user-in-configfs "$so"
  check_file user-enabled "$so/enable" 1
  check_file_has user-dev-config "$so/info" "Config: file//tmp/tf57.img"
else
  fail user-in-configfs "no core/user_*/tf57"
fi
i=0
while ! holds_uio "$spid" tf57 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if holds_uio "$spid" tf57; then pass daemon-serves "tcmsh serve holds tf57's uio device"; else fail daemon-serves "tf57 not served"; show_file /tmp/serve57.log 30; fi
check_file_has checkconfig-logged /tmp/serve57.log "D-Bus CheckConfig"

# targetcli links it (it refuses a subtype no handler registered).
run deb targetcli /loopback create $NAA
run deb targetcli /loopback/$NAA/luns create /backstores/user:file/tf57
check_rc targetcli-lun-create 0
disk=
i=0
while [ -z "$disk" ] && [ $i -lt 100 ]; do
  for b in /sys/block/sd*; do
    [ -d "$b/device" ] || continue
    [ "$(sed 's/ *$//' "$b/device/vendor")" = LIO-ORG ] && disk=/dev/${b##*/}
  done
  [ -n "$disk" ] || sleep 0.1
  i=$((i + 1))
done
if [ -n "$disk" ] && is_block "$disk"; then
  pass disk "$disk"
  dd if=/dev/urandom of=/tmp/pat57 bs=64k count=16 2>/dev/null
  run dd if=/tmp/pat57 of="$disk" bs=64k count=16 oflag=direct
  check_rc disk-write 0
  sync
  a=$(md5sum </tmp/pat57 | cut -d' ' -f1)
  b=$(dd if=/tmp/tf57.img bs=64k count=16 2>/dev/null | md5sum | cut -d' ' -f1)
  if [ "$a" = "$b" ]; then pass data-in-image "1 MiB written to $disk is in /tmp/tf57.img"; else fail data-in-image "image $b, written $a"; fi
else
  fail disk "no LIO-ORG disk for the LUN"
fi

run deb targetcli ls /backstores/user:file
check_out targetcli-lists-object tf57 "/tmp/tf57.img" activated
run tc ls /backstores/user:file
check_out tcmsh-lists-object tf57

run deb targetcli /loopback delete $NAA
run deb targetcli /backstores/user:file delete tf57
check_rc targetcli-user-delete 0
i=0
while holds_uio "$spid" tf57 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if lio_so user tf57 >/dev/null; then fail deleted "core/user_*/tf57 still there"; else pass deleted "tf57 gone from configfs"; fi
check tcmu-runner-never-started test -z "$(runner_pids)"

stop_serve serve-stopped "$spid"
run deb dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1
check_out name-released "boolean false"
show_file /tmp/serve57.log 40
