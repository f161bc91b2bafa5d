# shellcheck shell=sh
# 20-loopback: tcmsh exports a fileio backstore through tcm_loop; the kernel
# makes a SCSI disk of it, and data written to the disk lands in the backing
# file (and back), which proves the path through LIO end to end.
NAA=naa.5001405123456789

run tc /backstores/fileio create lf /tmp/lf.img 8M write_back=false
check_rc backstore-create 0
run tc /loopback create $NAA
check_rc target-create 0
check tpg-in-configfs test -d "$LIO/loopback/$NAA/tpgt_1"
nexus=$(cat "$LIO/loopback/$NAA/tpgt_1/nexus" 2>/dev/null)
case $nexus in
  naa.*) pass nexus-written "$nexus" ;;
  *) fail nexus-written "nexus is '$nexus'" ;;
esac
run tc /loopback/$NAA/luns create /backstores/fileio/lf
check_rc lun-create 0
lnk=$(find "$LIO/loopback/$NAA/tpgt_1/lun/lun_0" -maxdepth 1 -type l 2>/dev/null | head -n1)
if [ -n "$lnk" ]; then
  pass lun-linked "$(readlink "$lnk")"
else
  fail lun-linked "no link in lun/lun_0"
fi

# The disk: LIO-ORG, model = the backstore's name (export_backstore_name_as_model).
if disk=$(wait_disk 10 LIO-ORG lf); then
  pass disk-appeared "$disk"
else
  disk=
  fail disk-appeared "no /dev/sdX with vendor LIO-ORG, model lf within 10 s"
  find /sys/block/ -mindepth 1 -maxdepth 1 2>&1 | sed 's/^/    | /'
fi
if [ -n "$disk" ] && is_block "$disk"; then
  pass disk-is-block "$disk"
  check_file disk-size "/sys/block/${disk#/dev/}/size" 16384
  dd if=/dev/urandom of=/tmp/pat bs=64k count=16 2>/dev/null
  # Through the disk into the file: the file is opened O_DSYNC by LIO.
  check disk-write dd if=/tmp/pat of="$disk" bs=64k count=16 conv=fsync
  check disk-to-file sh -c "dd if=/tmp/lf.img bs=64k count=16 2>/dev/null | cmp - /tmp/pat"
  # From the file to the disk, past the host's page cache of the disk.
  dd if=/dev/urandom of=/tmp/pat2 bs=64k count=16 2>/dev/null
  check file-write dd if=/tmp/pat2 of=/tmp/lf.img bs=64k seek=32 count=16 conv=notrunc,fsync
  blockdev --flushbufs "$disk"
  echo 3 >/proc/sys/vm/drop_caches
  check file-to-disk sh -c "dd if=$disk bs=64k skip=32 count=16 2>/dev/null | cmp - /tmp/pat2"
else
  [ -z "$disk" ] || fail disk-is-block "$disk is not a block device"
fi

# Removing the LUN removes the disk.
run tc /loopback/$NAA/luns delete 0
check_rc lun-delete 0
if [ -n "$disk" ]; then
  if wait_for 10 ! -b "$disk"; then pass disk-gone "$disk"; else fail disk-gone "$disk still there"; fi
fi
# Deleting a target that still has a LUN deletes the LUN too (targetcli-fb
# does; the kernel refuses to drop the nexus while a LUN is there, so the
# order matters).
run tc /backstores/ramdisk create lr 4M
run tc /loopback/$NAA/luns create /backstores/ramdisk/lr
check_rc second-lun-create 0
if wait_disk 10 LIO-ORG lr >/dev/null; then pass second-disk "$(lio_disk LIO-ORG lr)"; else fail second-disk "no disk for lr"; fi
run tc /loopback delete $NAA
check_rc target-delete-with-lun 0
i=0
while lio_disk LIO-ORG lr >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if lio_disk LIO-ORG lr >/dev/null; then fail second-disk-gone "still there"; else pass second-disk-gone "disk removed"; fi
check target-gone-with-lun test ! -e "$LIO/loopback/$NAA"
run tc /backstores/fileio delete lf
check_rc backstore-delete 0
run tc /backstores/ramdisk delete lr
check_rc backstore-delete-lr 0
