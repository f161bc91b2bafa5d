# shellcheck shell=sh
# 90-errors: tcmsh says exactly what is wrong when the system is not ready,
# beyond 00-smoke (which covers `ls` without configfs and as non-root):
# a fabric or backend module not loaded (and not loadable: the kernel's
# module requests fail here) names the module; a change, and the daemon,
# without configfs; the same as a user other than root. Modules are reloaded
# at the end.

# Module requests of the kernel (mkdir of a fabric) fail from here on, as on
# a system without the module.
modprobe_was=$(cat /proc/sys/kernel/modprobe)
echo /bin/false >/proc/sys/kernel/modprobe

# unload MODULE [FABRIC-DIR]: rmmod it; a fabric's top directory holds the
# module, so it goes first (setup, not configuration: nothing below it).
unload() {
  [ -z "${2:-}" ] || [ ! -d "$LIO/$2" ] || rmdir "$LIO/$2" 2>/dev/null
  rmmod "$1" 2>/dev/null
  [ ! -d "/sys/module/$1" ]
}
# reload MODULE: insmod it (and what it needs) from the guest's module list.
reload() {
  while read -r _want _path; do
    case $_path in builtin:*) continue ;; esac
    [ "$_want" = "$1" ] || continue
    _name=$(basename "$_path" .ko | tr - _)
    [ -d "/sys/module/$_name" ] || insmod "$_path"
  done </etc/tcmsh-vm-modules
}

# tcm_loop missing.
if unload tcm_loop loopback; then
  pass tcm-loop-unloaded "rmmod tcm_loop"
  run tc /loopback create naa.5001405a90a90a90
  check_rc no-tcm-loop-exit 1
  check_out no-tcm-loop-names-module tcm_loop
  check no-tcm-loop-no-target test ! -e "$LIO/loopback/naa.5001405a90a90a90"
  reload tcm_loop
  run tc /loopback create naa.5001405a90a90a90
  check_rc tcm-loop-reloaded-create 0
  run tc /loopback delete naa.5001405a90a90a90
else
  skip no-tcm-loop "rmmod tcm_loop failed: $(lsmod | grep tcm_loop)"
fi

# iscsi_target_mod missing.
if unload iscsi_target_mod iscsi; then
  pass iscsi-unloaded "rmmod iscsi_target_mod"
  run tc /iscsi create iqn.2003-01.org.example.tcmsh:e90
  check_rc no-iscsi-exit 1
  check_out no-iscsi-names-module iscsi_target_mod
  reload iscsi_target_mod
else
  skip no-iscsi "rmmod iscsi_target_mod failed"
fi

# target_core_user missing: creating a user backstore, and the daemon.
if unload target_core_user; then
  pass tcmu-unloaded "rmmod target_core_user"
  run tc /backstores/user:ram create e90 8M
  check_rc no-tcmu-exit 1
  check_out no-tcmu-names-module target_core_user
  check no-tcmu-no-object sh -c "! ls -d $LIO/core/user_*/e90 2>/dev/null"
  # The daemon starts anyway (it scans for devices instead of following
  # netlink) and says why: still running when timeout kills it (137).
  run timeout -s KILL 15 "$TCMSH" --kernel real serve --socket /run/tcmsh/e90.sock
  check_rc no-tcmu-serve-degraded 137
  check_out no-tcmu-serve-names-module "target_core_user is not loaded"
  reload target_core_user
  check tcmu-reloaded test -d /sys/module/target_core_user
else
  skip no-tcmu "rmmod target_core_user failed"
fi

# target_core_mod missing (configfs mounted, no target/ in it): every
# fabric and backend module goes first.
for m in tcm_loop:loopback iscsi_target_mod:iscsi vhost_scsi:vhost target_core_user: \
  target_core_file: target_core_iblock: target_core_pscsi:; do
  [ -d "/sys/module/${m%%:*}" ] && unload "${m%%:*}" "${m#*:}"
done
if [ -d /sys/module/target_core_mod ] && rmmod target_core_mod 2>/dev/null && [ ! -d "$LIO" ]; then
  pass core-unloaded "rmmod target_core_mod"
  run tc --kernel real ls
  check_rc no-core-exit 1
  check_out no-core-names-module target_core_mod
else
  skip no-core "target_core_mod could not be unloaded: $(lsmod | grep target_core)"
fi
for m in target_core_mod target_core_user target_core_file target_core_iblock target_core_pscsi \
  tcm_loop iscsi_target_mod vhost_scsi; do
  reload "$m" 2>/dev/null
done
check modules-back test -d /sys/module/target_core_mod -a -d /sys/module/tcm_loop \
  -a -d /sys/module/iscsi_target_mod -a -d /sys/module/target_core_user -a -d "$LIO"
echo "$modprobe_was" >/proc/sys/kernel/modprobe

# Without configfs: a change and the daemon say so (00-smoke covers ls).
if umount "$CONFIGFS"; then
  run tc /backstores/ramdisk create e90 4M
  check_rc no-configfs-create-exit 1
  check_out no-configfs-create-message "configfs not mounted"
  run timeout -s KILL 15 "$TCMSH" --kernel real serve --socket /run/tcmsh/e90.sock
  check_rc no-configfs-serve-exit 1
  check_out no-configfs-serve-message "configfs not mounted"
  mount -t configfs configfs "$CONFIGFS"
  check configfs-back configfs_mounted
else
  fail no-configfs-umount "umount $CONFIGFS failed"
fi

# Not root: a change, and the daemon (00-smoke covers ls).
run_as tcmshuser "$TCMSH" --kernel real /backstores/ramdisk create e90 4M
check_rc nonroot-create-exit 1
check_out_i nonroot-create-message root
check nonroot-created-nothing sh -c "! ls -d $LIO/core/rd_mcp_*/e90 2>/dev/null"
run_as tcmshuser "$TCMSH" --kernel real serve --socket /tmp/e90-user.sock
check_rc nonroot-serve-exit 1
check_out_i nonroot-serve-message root
