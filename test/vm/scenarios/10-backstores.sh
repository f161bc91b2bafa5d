# shellcheck shell=sh
# 10-backstores: tcmsh creates each kernel backstore type (fileio with and
# without write-back, block on a ramdisk, ramdisk, nullio ramdisk), sets and
# gets attributes, refuses duplicates and bad devices, and deletes them; the
# results are checked in configfs, where the kernel keeps them.

# fileio, write-through.
run tc /backstores/fileio create f1 /tmp/f1.img 16M write_back=false
check_rc fileio-create 0
if so=$(lio_so fileio f1); then
  pass fileio-in-configfs "$so"
  check_file fileio-enabled "$so/enable" 1
  check_file_has fileio-info "$so/info" "File: /tmp/f1.img  Size: 16777216  Mode: O_DSYNC"
  check_file fileio-wce-off "$so/attrib/emulate_write_cache" 0
  # rtslib's rule, kept by tcmsh: every object has a unit serial (a UUID).
  if grep -Eq 'Number: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$so/wwn/vpd_unit_serial"; then
    pass fileio-unit-serial "$(cat "$so/wwn/vpd_unit_serial")"
  else
    fail fileio-unit-serial "not a UUID: $(cat "$so/wwn/vpd_unit_serial")"
  fi
else
  fail fileio-in-configfs "no core/fileio_*/f1"
fi
check fileio-file-made test "$(stat -c %s /tmp/f1.img 2>/dev/null)" = 16777216

# fileio, write-back.
run tc /backstores/fileio create f2 /tmp/f2.img 8M write_back=true
check_rc fileio-wb-create 0
if so=$(lio_so fileio f2); then
  check_file_has fileio-wb-info "$so/info" "Mode: Buffered-WCE"
  check_file fileio-wb-wce-on "$so/attrib/emulate_write_cache" 1
else
  fail fileio-wb-in-configfs "no core/fileio_*/f2"
fi

# block, on the brd ramdisk.
if is_block /dev/ram0; then
  pass ram0-is-block /dev/ram0
  run tc /backstores/block create b1 /dev/ram0
  check_rc block-create 0
  if so=$(lio_so iblock b1); then
    check_file block-enabled "$so/enable" 1
    check_file_has block-info "$so/info" "UDEV PATH: /dev/ram0  readonly: 0"
  else
    fail block-in-configfs "no core/iblock_*/b1"
  fi
else
  fail ram0-is-block "/dev/ram0 is not a block device (brd not loaded?)"
fi
# ... but not on a regular file.
run tc /backstores/block create b2 /tmp/f1.img
check_rc block-on-file-refused 1
check block-on-file-no-object sh -c "! ls -d $LIO/core/iblock_*/b2"

# ramdisk and nullio.
run tc /backstores/ramdisk create r1 16M
check_rc ramdisk-create 0
if so=$(lio_so rd_mcp r1); then
  check_file_has ramdisk-info "$so/info" "PAGES/PAGE_SIZE: 4096*4096"
else
  fail ramdisk-in-configfs "no core/rd_mcp_*/r1"
fi
run tc /backstores/ramdisk create n1 1G nullio=true
check_rc nullio-create 0
if so=$(lio_so rd_mcp n1); then
  check_file_has nullio-info "$so/info" "nullio: 1"
else
  fail nullio-in-configfs "no core/rd_mcp_*/n1"
fi

# Each object in its own HBA, as rtslib does.
nhba=$(find "$LIO/core" -mindepth 1 -maxdepth 1 -type d ! -name alua | wc -l)
if [ "$nhba" = 5 ]; then pass one-hba-each "5 HBAs"; else fail one-hba-each "$nhba HBAs for 5 objects: $(find "$LIO/core" -mindepth 1 -maxdepth 1 | tr '\n' ' ')"; fi

run tc ls /backstores
check_rc ls-backstores 0
check_out ls-shows-all f1 f2 b1 r1 n1 /tmp/f1.img /dev/ram0

# Attributes through tcmsh, seen in configfs.
run tc /backstores/fileio/f1 set attribute emulate_tpu=1
check_rc set-attribute 0
so=$(lio_so fileio f1) && check_file set-attribute-in-configfs "$so/attrib/emulate_tpu" 1
run tc /backstores/fileio/f1 get attribute block_size
check_rc get-attribute 0
check_out get-attribute-value block_size=512
run tc /backstores/fileio/f1 set attribute block_size=123
check_rc set-attribute-bad-refused 1
so=$(lio_so fileio f1) && check_file set-attribute-bad-unchanged "$so/attrib/block_size" 512

# A duplicate name is refused and changes nothing.
run tc /backstores/fileio create f1 /tmp/other.img 1M
check_rc duplicate-refused 1
check_out_i duplicate-message "already exists"
# A refused command changes nothing: no new backing file (targetcli-fb makes
# the file before it checks the name, and leaves it behind).
check duplicate-no-file test ! -e /tmp/other.img

# Delete everything.
for pair in fileio:f1 fileio:f2 block:b1 ramdisk:r1 ramdisk:n1; do
  run tc "/backstores/${pair%%:*}" delete "${pair#*:}"
  check_rc "delete-${pair#*:}" 0
done
left=$(find "$LIO/core" -mindepth 1 -maxdepth 1 -type d ! -name alua | tr '\n' ' ')
if [ -z "$left" ]; then pass all-deleted "core is empty"; else fail all-deleted "left: $left"; fi
check fileio-file-kept test -f /tmp/f1.img
