# shellcheck shell=sh
# 55-tcmu-runner: beside a running tcmu-runner (the program tcmsh replaces),
# tcmsh lists the user backstores tcmu-runner serves and says that
# tcmu-runner holds them. Needs the Debian userland (test/vm/run --debian).
# Debian's tcmu-runner has the handlers fbo, qcow, rbd and zbc (no "file").
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi
deb tcmu-runner >/tmp/tcmu-runner.log 2>&1 &
rpid=$!
# It is ready when it owns its D-Bus name (targetcli-fb asks it there).
i=0
while [ $i -lt 40 ] && kill -0 "$rpid" 2>/dev/null; do
  deb dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.5
  i=$((i + 1))
done
if kill -0 "$rpid" 2>/dev/null && [ $i -lt 40 ]; then
  pass tcmu-runner-running "pid $rpid, on D-Bus after $((i / 2)) s"
else
  fail tcmu-runner-running "tcmu-runner exited"
  show_file "$DEBIAN_ROOT/var/log/tcmu-runner.log" 40
fi

run deb targetcli ls /backstores
run timeout 60 chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  targetcli /backstores/user:fbo create tf 16M /tmp/tf.img
check_rc targetcli-user-fbo-create 0
if so=$(lio_so user tf); then
  pass user-in-configfs "$so"
  check_file user-enabled "$so/enable" 1
else
  fail user-in-configfs "no core/user_*/tf"
fi

run tc ls /backstores
check_rc tcmsh-ls 0
check_out tcmsh-lists-runner-device tf
ls_out=$OUT
run tc /backstores/user:fbo/tf info
check_rc tcmsh-info 0
# Where tcmsh says it (ls summary or info) is its choice; that it says it is
# the requirement.
OUT="$ls_out
$OUT"
check_out_i tcmsh-names-tcmu-runner tcmu-runner
run tc --json ls /backstores
check_rc tcmsh-ls-json 0

show_file "$DEBIAN_ROOT/var/log/tcmu-runner.log" 40
# The guest ends every tcmu-runner after each scenario; this is only manners.
kill "$rpid" 2>/dev/null || true
