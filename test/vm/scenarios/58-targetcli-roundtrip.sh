# shellcheck shell=sh
# 58-targetcli-roundtrip: a saveconfig.json with what tcmsh used to lose or
# spell differently — a user backstore's hw_max_sectors and control
# settings, an IPv6 portal, an ACL tag, a LUN in a non-default ALUA group —
# made by tcmsh and restored by targetcli-fb, then saved by targetcli-fb and
# restored by tcmsh: the kernel ends up the same each time, and tcmsh's
# diff against either file finds nothing to change. tcmsh serve owns
# tcmu-runner's D-Bus name, so targetcli-fb never starts tcmu-runner.
# (Fibre Channel, whose module the guest loads only there: 77-fc.)
# Needs the Debian userland (test/vm/run --debian).
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
IQN=iqn.2003-01.org.example.tcmsh:rt58
TPG="$LIO/iscsi/$IQN/tpgt_1"
SOCK=/run/tcmsh/control.sock
for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = tcmu-runner ] && kill "${p#/proc/}" 2>/dev/null
done
if deb_dbus; then pass dbus-started "system bus"; else fail dbus-started "dbus-daemon did not start"; fi
"$TCMSH" --kernel real serve --socket "$SOCK" --dbus "unix:path=$DEBIAN_ROOT/run/dbus/system_bus_socket" \
  --log-file /tmp/serve58.log >/tmp/serve58.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve58.out || return 0

rm -f /tmp/f58.img /tmp/u58.img
run_in "/backstores/fileio create f58 /tmp/f58.img 4M
/backstores/fileio/f58/alua create gp58 58
/backstores/user:file create u58 8M /tmp/u58.img hw_max_sectors=512 control=max_data_area_mb=16
/iscsi create $IQN
/iscsi/$IQN/tpg1/portals create :: 3261
/iscsi/$IQN/tpg1/luns create /backstores/fileio/f58 lun=lun0
/iscsi/$IQN/tpg1/luns create /backstores/user:file/u58 lun1
/iscsi/$IQN/tpg1/luns/lun0 set alua alua_tg_pt_gp_name=gp58
/iscsi/$IQN/tpg1/acls create iqn.1994-05.com.example:i58a
/iscsi/$IQN/tpg1/acls create iqn.1994-05.com.example:i58b
/iscsi/$IQN/tpg1/acls tag iqn.1994-05.com.example:i58a grp58
saveconfig /tmp/by-tcmsh58.json" "$TCMSH" --kernel real
check_rc tcmsh-setup 0

# what the kernel must hold after each restore
kernel_has() { # kernel_has PREFIX
  if u=$(lio_so user u58); then
    check_file "$1-user-hw-max-sectors" "$u/attrib/hw_max_sectors" 512
    check_file "$1-user-max-data-area" "$u/attrib/max_data_area_mb" 16
    i=0
    while ! holds_uio "$spid" u58 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if holds_uio "$spid" u58; then pass "$1-user-served" "tcmsh serve holds u58"; else fail "$1-user-served" "u58 not served"; fi
  else
    fail "$1-user" "no core/user_*/u58"
  fi
  check "$1-ipv6-portal" test -d "$TPG/np/[::]:3261"
  check_file_has "$1-lun-alua-group" "$TPG/lun/lun_0/alua_tg_pt_gp" gp58
  check_file "$1-acl-tag" "$TPG/acls/iqn.1994-05.com.example:i58a/tag" grp58
  check "$1-lun1" test -e "$TPG/lun/lun_1"
}

for w in '"hw_max_sectors": 512' 'max_data_area_mb=16' '"ip_address": "[::]"' '"alua_tg_pt_gp_name": "gp58"' '"tag": "grp58"'; do
  check_file_has "tcmsh-file-has-$(echo "$w" | tr -cd 'a-z_')" /tmp/by-tcmsh58.json "$w"
done

# tcmsh's file, restored by targetcli-fb.
run tc clearconfig confirm=true
check_rc tcmsh-clearconfig 0
run deb targetcli restoreconfig /tmp/by-tcmsh58.json
check_rc targetcli-restores-tcmsh-file 0
check_no_out targetcli-nothing-skipped skipped
kernel_has after-targetcli-restore
run tc diff /tmp/by-tcmsh58.json
check_out_i diff-tcmsh-file-after-targetcli "no changes"

# targetcli-fb's file, restored by tcmsh.
run deb targetcli saveconfig /tmp/by-targetcli58.json
check_rc targetcli-saveconfig 0
for w in '"hw_max_sectors": 512' 'max_data_area_mb=16' '"ip_address": "[::]"' '"alua_tg_pt_gp_name": "gp58"' '"tag": "grp58"'; do
  check_file_has "targetcli-file-has-$(echo "$w" | tr -cd 'a-z_')" /tmp/by-targetcli58.json "$w"
done
run tc diff /tmp/by-targetcli58.json
check_out_i diff-targetcli-file "no changes"
run deb targetcli clearconfig confirm=True
check_rc targetcli-clearconfig 0
run tc restoreconfig /tmp/by-targetcli58.json
check_rc tcmsh-restores-targetcli-file 0
kernel_has after-tcmsh-restore
run tc diff /tmp/by-tcmsh58.json
check_out_i diff-tcmsh-file-after-tcmsh "no changes"

check tcmu-runner-never-started sh -c '! grep -qx tcmu-runner /proc/[0-9]*/comm 2>/dev/null'
run tc clearconfig confirm=true
stop_serve serve-stopped "$spid"
