# shellcheck shell=sh
# 77-fc: Fibre Channel configurations between tcmsh and targetcli-fb on the
# real kernel. tcm_fc (the FCoE target fabric, configfs "fc", rtslib
# "tcm_fc") needs no hardware to be configured: a target made by tcmsh
# with an NAA WWN (a colon-form port in configfs), a LUN and an ACL is
# saved in rtslib's names, restored by targetcli-fb, saved by targetcli-fb
# and restored by tcmsh, the kernel holding the same each time. tcm_qla2xxx
# takes a port only when a QLogic HBA with that WWPN is present: the
# kernel refuses the mkdir here, and tcmsh says so (the port names the
# hardware; nothing is left behind). The modules are loaded here only
# (on demand), so the other scenarios see the fabric list without them.
# Needs the Debian userland (test/vm/run --debian).
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
if ! load_on_demand tcm_fc; then
  skip_scenario "this guest has no tcm_fc module"
  return 0
fi
pass tcm-fc-loaded "tcm_fc and its dependencies loaded"
SOCK=/run/tcmsh/control.sock
WWN=naa.21000024ff314c77
PORT=21:00:00:24:ff:31:4c:77
INIT=naa.21000024ff314c78
INIT_C=21:00:00:24:ff:31:4c:78
TPG="$LIO/fc/$PORT/tpgt_1"
for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = tcmu-runner ] && kill "${p#/proc/}" 2>/dev/null
done
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi
# targetcli-fb talks to the user backstore handlers over D-Bus: tcmsh
# serve answers there, so targetcli-fb never starts tcmu-runner.
"$TCMSH" --kernel real serve --socket "$SOCK" --dbus "unix:path=$DEBIAN_ROOT/run/dbus/system_bus_socket" \
  --log-file /tmp/serve77.log >/tmp/serve77.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve77.out || return 0

# tcmsh makes the fabric's directory itself (the module is loaded; the
# kernel's module request would do the rest on a full system).
rm -f /tmp/f77.img
run_in "/backstores/fileio create f77 /tmp/f77.img 4M
/fc create $WWN
/fc/$PORT/luns create /backstores/fileio/f77
/fc/$PORT/acls create $INIT
saveconfig /tmp/by-tcmsh77.json" "$TCMSH" --kernel real
check_rc tcmsh-setup 0

kernel_has() { # kernel_has PREFIX
  check "$1-port" test -d "$LIO/fc/$PORT"
  check "$1-lun" test -d "$TPG/lun/lun_0"
  check "$1-acl" test -d "$TPG/acls/$INIT_C"
  check "$1-mapped-lun" test -d "$TPG/acls/$INIT_C/lun_0"
}
kernel_has tcmsh-made
for w in '"fabric": "tcm_fc"' "\"wwn\": \"$WWN\"" "\"node_wwn\": \"$INIT\""; do
  check_file_has "tcmsh-file-has-$(echo "$w" | tr -cd 'a-z_')" /tmp/by-tcmsh77.json "$w"
done

# tcmsh's file, restored by targetcli-fb.
run tc clearconfig confirm=true
check_rc tcmsh-clearconfig 0
check tcmsh-cleared test ! -e "$LIO/fc/$PORT"
run deb targetcli restoreconfig /tmp/by-tcmsh77.json
check_rc targetcli-restores-tcmsh-file 0
check_no_out targetcli-nothing-skipped skipped
kernel_has after-targetcli-restore
# (targetcli-fb's tree shows a Fibre Channel fabric only when the
# machine has ports of it: rtslib lists /sys/class/fc_host; its saveconfig
# below holds the target.)
run tc diff /tmp/by-tcmsh77.json
check_out_i diff-tcmsh-file-after-targetcli "no changes"

# targetcli-fb's file, restored by tcmsh.
run deb targetcli saveconfig /tmp/by-targetcli77.json
check_rc targetcli-saveconfig 0
for w in '"fabric": "tcm_fc"' "\"wwn\": \"$WWN\"" "\"node_wwn\": \"$INIT\""; do
  check_file_has "targetcli-file-has-$(echo "$w" | tr -cd 'a-z_')" /tmp/by-targetcli77.json "$w"
done
run tc diff /tmp/by-targetcli77.json
check_out_i diff-targetcli-file "no changes"
run deb targetcli clearconfig confirm=True
check_rc targetcli-clearconfig 0
run tc restoreconfig /tmp/by-targetcli77.json
check_rc tcmsh-restores-targetcli-file 0
kernel_has after-tcmsh-restore
run tc ls /fc
check_out tcmsh-lists-port "$PORT"
run tc clearconfig confirm=true
check_rc final-clearconfig 0

# QLogic: the kernel takes a port only for an HBA with that WWPN.
if load_on_demand tcm_qla2xxx; then
  pass tcm-qla2xxx-loaded "tcm_qla2xxx and qla2xxx loaded (no HBA)"
  dmesg -c >/dev/null 2>&1
  run tc /qla2xxx create naa.21000024ff314c79
  check_rc qla2xxx-no-hba-refused 1
  check_out qla2xxx-refusal-names-wwn "21:00:00:24:ff:31:4c:79"
  note "kernel: $(dmesg 2>/dev/null | tail -n 3 | tr '\n' ' ')"
  check qla2xxx-nothing-left test ! -e "$LIO/qla2xxx/21:00:00:24:ff:31:4c:79"
  rmdir "$LIO/qla2xxx" 2>/dev/null
else
  skip qla2xxx "this guest has no tcm_qla2xxx module"
fi

rmdir "$LIO/fc" 2>/dev/null
check fabric-dir-removed test ! -e "$LIO/fc"
run unload_on_demand
check_rc modules-unloaded 0
check tcmu-runner-never-started sh -c '! grep -qx tcmu-runner /proc/[0-9]*/comm 2>/dev/null'
stop_serve serve-stopped "$spid"
