# shellcheck shell=sh
# 00-smoke: the guest is sane, and tcmsh talks to the real kernel: version,
# the root of the tree, and its refusals without configfs and without root.

# The environment this and every later scenario relies on.
check modules-loaded test -d /sys/module/target_core_mod -a -d /sys/module/target_core_user \
  -a -d /sys/module/tcm_loop -a -d /sys/module/iscsi_target_mod -a -d /sys/module/target_core_file \
  -a -d /sys/module/target_core_iblock
check configfs-mounted configfs_mounted
check lio-in-configfs test -f "$LIO/version" -a -d "$LIO/core"
check tcmsh-present test -x "$TCMSH"

run "$TCMSH" --kernel real version
check_rc version-exit 0
check_out_i version-output tcmsh

run "$TCMSH" --kernel real ls
check_rc ls-exit 0
check_out ls-root-nodes backstores iscsi loopback
check_out ls-backstores fileio block ramdisk

# JSON output is the machine-readable contract: it must at least parse as an
# object or array (busybox has no JSON parser: check the first character).
run "$TCMSH" --kernel real --json ls
check_rc ls-json-exit 0
case $(printf '%s' "$OUT" | tr -d ' \n' | cut -c1) in
  '{' | '[') pass ls-json-shape "starts like JSON" ;;
  *) fail ls-json-shape "does not start with { or [" ;;
esac

# Batch mode: commands from stdin, one per line.
run_in "pwd
ls /backstores" "$TCMSH" --kernel real
check_rc batch-exit 0
check_out batch-output / fileio

# A usage error exits 2.
run "$TCMSH" --kernel bogus ls
check_rc usage-bad-kernel 2

# Without configfs: exit 1 and say so.
if umount "$CONFIGFS"; then
  run "$TCMSH" --kernel real ls
  check_rc no-configfs-exit 1
  check_out no-configfs-message "configfs not mounted"
  mount -t configfs configfs "$CONFIGFS"
  check configfs-remounted configfs_mounted
else
  fail no-configfs-umount "umount $CONFIGFS failed"
fi

# As a user other than root: exit 1 and a message about root.
# shellcheck disable=SC2016
check nonroot-user-works su -s /bin/sh tcmshuser -c 'test "$(id -u)" = 1000'
run_as tcmshuser "$TCMSH" --kernel real ls
check_rc nonroot-exit 1
check_out_i nonroot-message root
