#!/bin/sh
# Guest side of explore.sh (busybox sh, run as /init): builds every LIO object
# type by hand through configfs, dumps the whole configfs tree, then tries
# the refusals and records the exact errors. An exploration aid, not a test:
# it echoes into configfs directly on purpose.
# Output lines on the console: "DUMP<TAB>..." and "REF<TAB>...".
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# The initramfs has no /dev/console node, so /init starts without a console.
exec 0</dev/console 1>/dev/console 2>&1
mount -t tmpfs tmp /tmp
ifconfig lo 127.0.0.1 up 2>/dev/null || ip link set lo up
echo 1 >/proc/sys/kernel/sysrq

say() { echo "EXPLORE $(cut -d' ' -f1 /proc/uptime)s $*"; }
# No automatic module loading at first: mkdir of an unloaded fabric must show
# what happens without modprobe.
echo /sbin/no-modprobe >/proc/sys/kernel/modprobe

loaded() { [ -d "/sys/module/$(basename "$1" .ko | tr - _)" ]; }
loadmod() { # loadmod NAME [params]: insmod NAME's dependency chain in order
  want=$1
  shift
  grep "^$want " /etc/tcmsh-vm-modules | while read -r _ path; do
    case $path in builtin:*) continue ;; esac
    loaded "$path" && continue
    if [ "$(basename "$path" .ko)" = "$want" ]; then
      insmod "$path" "$@" || say "insmod $path failed"
    else
      insmod "$path" || say "insmod $path failed"
    fi
  done
}

esc() { # escape a string for one TAB-separated line
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/	/\\t/g' | awk 'NR>1{printf "\\n"} {printf "%s", $0}'
}

C=/sys/kernel/config/target
REFN=0
# try LABEL SHELL-SNIPPET: run it, record exit status, stderr/stdout and the
# kernel log lines it produced.
try() {
  REFN=$((REFN + 1))
  dmesg -c >/dev/null 2>&1
  echo "REFSTART $REFN $1"
  out=$(timeout -s KILL 30 sh -c "$2" 2>&1)
  rc=$?
  kmsg=$(dmesg -c 2>/dev/null | sed 's/^\[ *[0-9.]*\] //')
  printf 'REF\t%03d\t%s\trc=%s\tcmd=%s\tout=%s\tkmsg=%s\n' "$REFN" "$1" "$rc" "$(esc "$2")" "$(esc "$out")" "$(esc "$kmsg")"
}

say "stage 1: configfs and target_core_mod only"
loadmod configfs
mount -t configfs configfs /sys/kernel/config
loadmod target_core_mod
# shellcheck disable=SC2012
ls -la $C | sed 's/^/EXPLORE ls-target /'
try "fabric-unloaded: mkdir loopback, no modprobe available" "mkdir $C/loopback"
try "fabric-unloaded: mkdir iscsi, no modprobe available" "mkdir $C/iscsi"
try "fabric-unloaded: mkdir vhost, no modprobe available" "mkdir $C/vhost"
try "fabric-bogus: mkdir bogusfabric" "mkdir $C/bogusfabric"
try "core: mkdir core/bogus_0 (unknown plugin, before plugin modules)" "mkdir $C/core/bogus_0"
try "core: mkdir core/fileio_0 before target_core_file is loaded" "mkdir $C/core/fileio_0 && rmdir $C/core/fileio_0"
try "core: mkdir core/rd_mcp_0 (built into target_core_mod?)" "mkdir $C/core/rd_mcp_0 && ls $C/core && rmdir $C/core/rd_mcp_0"

say "stage 2: all modules"
for m in target_core_user target_core_file target_core_iblock target_core_pscsi \
  uio scsi_mod sd_mod sg loop; do
  loadmod $m
done
loadmod brd rd_nr=2 rd_size=16384
lsmod | sed 's/^/EXPLORE lsmod /'
# Fabrics through the kernel's own module request, now with busybox modprobe.
echo /sbin/modprobe >/proc/sys/kernel/modprobe
try "fabric-autoload: mkdir loopback with /sbin/modprobe (busybox) available" "mkdir $C/loopback; ls $C; lsmod | grep -c tcm_loop"
try "fabric-autoload: mkdir iscsi with /sbin/modprobe available" "mkdir $C/iscsi; ls $C"
loadmod tcm_loop
loadmod iscsi_target_mod
loadmod vhost_scsi
try "fabric: mkdir loopback after insmod" "mkdir -p $C/loopback && ls $C/loopback"
try "fabric: mkdir iscsi after insmod" "mkdir -p $C/iscsi && ls $C/iscsi"
try "fabric: mkdir vhost after insmod" "mkdir -p $C/vhost && ls $C/vhost"
# shellcheck disable=SC2012
ls $C | sed 's/^/EXPLORE fabrics /'

say "stage 3: storage objects"
mkdir $C/core/fileio_0 $C/core/fileio_0/fio
echo "fd_dev_name=/tmp/fio.img,fd_dev_size=16777216" >$C/core/fileio_0/fio/control
echo 1 >$C/core/fileio_0/fio/enable
echo 6001405aaaa-bbbb >$C/core/fileio_0/fio/wwn/vpd_unit_serial 2>/dev/null
echo 8d9ad9cf-a7f6-4b4a-9a1b-1e2c3d4e5f60 >$C/core/fileio_0/fio/wwn/vpd_unit_serial

mkdir -p $C/core/fileio_1/fiowb
echo "fd_dev_name=/tmp/fiowb.img,fd_dev_size=16777216,fd_buffered_io=1" >$C/core/fileio_1/fiowb/control
echo 1 >$C/core/fileio_1/fiowb/enable
echo 1 >$C/core/fileio_1/fiowb/attrib/emulate_write_cache

try "iblock: /dev/ram0 is a block device" "ls -l /dev/ram0; test -b /dev/ram0"
mkdir -p $C/core/iblock_2/blk
echo "udev_path=/dev/ram0" >$C/core/iblock_2/blk/control
echo 1 >$C/core/iblock_2/blk/enable
dd if=/dev/zero of=/tmp/loop.img bs=1M count=8 2>/dev/null
losetup /dev/loop0 /tmp/loop.img
mkdir -p $C/core/iblock_3/blkloop
echo "udev_path=/dev/loop0,readonly=1" >$C/core/iblock_3/blkloop/control
echo 1 >$C/core/iblock_3/blkloop/enable

mkdir -p $C/core/rd_mcp_4/rd
echo "rd_pages=4096" >$C/core/rd_mcp_4/rd/control
echo 1 >$C/core/rd_mcp_4/rd/enable
mkdir -p $C/core/rd_mcp_5/null
echo "rd_pages=4096,rd_nullio=1" >$C/core/rd_mcp_5/null/control
echo 1 >$C/core/rd_mcp_5/null/enable

mkdir -p $C/core/user_6/usr
echo "dev_config=demo/x" >$C/core/user_6/usr/control
echo "dev_size=67108864" >$C/core/user_6/usr/control
echo "nl_reply_supported=-1" >$C/core/user_6/usr/control
try "user: enable (nl_reply_supported=-1)" "echo 1 > $C/core/user_6/usr/enable"
# shellcheck disable=SC2012
ls -l /dev/uio* 2>&1 | sed 's/^/EXPLORE uio /'
for f in name version maps/map0/size maps/map0/addr maps/map0/offset maps/map0/name; do
  try "uio: /sys/class/uio/uio0/$f" "cat /sys/class/uio/uio0/$f"
done
try "uio: /dev/uio0 first bytes (mailbox: version u16, flags u16, cmdr_off u32, cmdr_size u32, head u32)" \
  "dd if=/dev/uio0 bs=4096 count=1 2>/dev/null | od -A d -t x4 | head -3"

say "stage 4: fabrics"
IQN=iqn.2003-01.org.linux-iscsi.explore:t1
T=$C/iscsi/$IQN/tpgt_1
mkdir -p $T
n=0
for obj in fileio_0/fio fileio_1/fiowb iblock_2/blk iblock_3/blkloop rd_mcp_4/rd rd_mcp_5/null user_6/usr; do
  mkdir $T/lun/lun_$n
  try "iscsi: link lun_$n to $obj" "ln -s $C/core/$obj $T/lun/lun_$n/$(basename $obj)"
  n=$((n + 1))
done
INIT=iqn.1994-05.com.redhat:explore-init
mkdir -p $T/acls/$INIT/lun_0
try "iscsi: mapped lun_0 -> lun_0" "ln -s $T/lun/lun_0 $T/acls/$INIT/lun_0/mapped"
mkdir -p $T/acls/$INIT/lun_3
ln -s $T/lun/lun_3 $T/acls/$INIT/lun_3/mapped3
echo 1 >$T/acls/$INIT/lun_3/write_protect
try "iscsi: np 127.0.0.1:3260" "mkdir $T/np/127.0.0.1:3260"
try "iscsi: np [::1]:3260" "mkdir $T/np/[::1]:3260"
try "iscsi: np 0.0.0.0:3261" "mkdir $T/np/0.0.0.0:3261"
echo tuser >$T/auth/userid
echo tpass >$T/auth/password
echo muser >$T/auth/userid_mutual
echo mpass >$T/auth/password_mutual
echo auser >$T/acls/$INIT/auth/userid
echo apass12345678 >$T/acls/$INIT/auth/password
try "iscsi: tpg attrib/authentication=1" "echo 1 > $T/attrib/authentication"
try "iscsi: tpg enable" "echo 1 > $T/enable"
try "iscsi: discovery_auth enforce=1" "echo duser > $C/iscsi/discovery_auth/userid && echo dpass > $C/iscsi/discovery_auth/password && echo 1 > $C/iscsi/discovery_auth/enforce_discovery_auth"
try "iscsi: netstat listening" "netstat -ltn"

NAA=naa.5001405aaaaaaaaa
L=$C/loopback/$NAA/tpgt_1
mkdir -p $L
try "loopback: nexus" "echo naa.5001405bbbbbbbbb > $L/nexus"
mkdir $L/lun/lun_0
try "loopback: link lun_0 to rd_mcp_4/rd" "ln -s $C/core/rd_mcp_4/rd $L/lun/lun_0/rd"
i=0
while [ ! -b /dev/sda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
try "loopback: /dev/sda appeared (waited ${i}x100ms)" "ls -l /dev/sda; cat /sys/block/sda/device/vendor /sys/block/sda/device/model /sys/block/sda/size; ls /sys/block/sda/device/scsi_device"

HCTL=$(ls /sys/block/sda/device/scsi_device 2>/dev/null)
mkdir -p $C/core/pscsi_7/pt
if [ -n "$HCTL" ]; then
  # shellcheck disable=SC2046
  set -- $(echo "$HCTL" | tr : ' ')
  try "pscsi: control from sda's H:C:T:L $HCTL" "echo scsi_host_id=$1,scsi_channel_id=$2,scsi_target_id=$3,scsi_lun_id=$4 > $C/core/pscsi_7/pt/control"
  try "pscsi: enable" "echo 1 > $C/core/pscsi_7/pt/enable"
  mkdir $T/lun/lun_7
  try "iscsi: link lun_7 to pscsi_7/pt" "ln -s $C/core/pscsi_7/pt $T/lun/lun_7/pt"
fi

if [ -d $C/vhost ]; then
  V=$C/vhost/naa.5001405ccccccccc/tpgt_1
  try "vhost: mkdir target+tpgt_1" "mkdir -p $V"
  try "vhost: nexus" "echo naa.5001405ddddddddd > $V/nexus"
  mkdir $V/lun/lun_0
  try "vhost: link lun_0 to rd_mcp_5/null" "ln -s $C/core/rd_mcp_5/null $V/lun/lun_0/null"
  try "vhost: /dev/vhost-scsi" "ls -l /dev/vhost-scsi"
fi

try "alua: mkdir tg_pt_gp" "mkdir $C/core/fileio_0/fio/alua/tgpt1 && echo 7 > $C/core/fileio_0/fio/alua/tgpt1/tg_pt_gp_id"
try "alua: lun_0 alua_tg_pt_gp=tgpt1" "echo tgpt1 > $T/lun/lun_0/alua_tg_pt_gp; cat $T/lun/lun_0/alua_tg_pt_gp"
try "alua: alua_access_state=1 (active/non-optimized; implicit allowed?)" "echo 1 > $C/core/fileio_0/fio/alua/tgpt1/alua_access_state"

say "stage 5: dump"
find /sys/kernel/config | LC_ALL=C sort | while IFS= read -r p; do
  if [ -L "$p" ]; then
    printf 'DUMP\t%s\tlink\t%s\t-> %s\n' "$p" "$(stat -c %a "$p")" "$(readlink "$p")"
  elif [ -d "$p" ]; then
    printf 'DUMP\t%s\tdir\t%s\t\n' "$p" "$(stat -c %a "$p")"
  else
    mode=$(stat -c %a "$p")
    if cat "$p" >/tmp/v 2>/tmp/e; then
      v=$(esc "$(cat /tmp/v)")
      if [ -s /tmp/v ] && [ "$(tail -c1 /tmp/v | od -An -tx1 | tr -d ' ')" != 0a ]; then
        v="$v(no trailing newline)"
      fi
      printf 'DUMP\t%s\tfile\t%s\t%s\n' "$p" "$mode" "$v"
    else
      printf 'DUMP\t%s\tfile\t%s\tREAD-ERROR: %s\n' "$p" "$mode" "$(esc "$(cat /tmp/e)")"
    fi
  fi
done

say "stage 6: refusals"
FIO=$C/core/fileio_0/fio
# Incomplete control, per plugin.
mkdir -p $C/core/fileio_10/inc $C/core/fileio_11/inc2 $C/core/iblock_12/inc $C/core/rd_mcp_13/inc \
  $C/core/user_14/inc $C/core/user_15/inc2 $C/core/pscsi_16/inc $C/core/iblock_17/inc2 $C/core/user_18/inc3
try "enable fileio with no control" "echo 1 > $C/core/fileio_10/inc/enable"
try "enable fileio with fd_dev_name of a new file and no size" "echo fd_dev_name=/tmp/new.img > $C/core/fileio_11/inc2/control && echo 1 > $C/core/fileio_11/inc2/enable"
try "enable iblock with no control" "echo 1 > $C/core/iblock_12/inc/enable"
try "enable iblock on a regular file" "echo udev_path=/tmp/loop.img > $C/core/iblock_17/inc2/control && echo 1 > $C/core/iblock_17/inc2/enable"
try "enable rd_mcp with no control" "echo 1 > $C/core/rd_mcp_13/inc/enable"
try "enable user with no control" "echo 1 > $C/core/user_14/inc/enable"
try "enable user with dev_config but no dev_size" "echo dev_config=demo/y > $C/core/user_15/inc2/control && echo 1 > $C/core/user_15/inc2/enable"
try "enable user with dev_size but no dev_config" "echo dev_size=1048576 > $C/core/user_18/inc3/control && echo 1 > $C/core/user_18/inc3/enable"
try "enable pscsi with no control" "echo 1 > $C/core/pscsi_16/inc/enable"
try "control: unknown key on fileio" "echo bogus_key=1 > $C/core/fileio_10/inc/control"
try "control: rd_pages=0" "echo rd_pages=0 > $C/core/rd_mcp_13/inc/control; cat $C/core/rd_mcp_13/inc/info"
try "control: user dev_config without a slash" "echo dev_config=noslash > $C/core/user_14/inc/control; cat $C/core/user_14/inc/info"
try "enable=0 on an enabled object" "echo 0 > $C/core/rd_mcp_5/null/enable; cat $C/core/rd_mcp_5/null/enable"
try "enable=2 on a new object" "echo 2 > $C/core/fileio_10/inc/enable"

# Attributes.
mkdir -p $C/core/rd_mcp_19/noexp
echo rd_pages=256 >$C/core/rd_mcp_19/noexp/control
echo 1 >$C/core/rd_mcp_19/noexp/enable
mkdir -p $C/core/rd_mcp_20/new
try "attrib block_size=4096 before enable" "echo 4096 > $C/core/rd_mcp_20/new/attrib/block_size; cat $C/core/rd_mcp_20/new/attrib/block_size"
try "attrib block_size=123 (enabled, not exported)" "echo 123 > $C/core/rd_mcp_19/noexp/attrib/block_size"
try "attrib block_size=4096 after enable, not exported" "echo 4096 > $C/core/rd_mcp_19/noexp/attrib/block_size; cat $C/core/rd_mcp_19/noexp/attrib/block_size"
try "attrib block_size=512 after export (fileio_0 has LUNs)" "echo 512 > $FIO/attrib/block_size"
try "attrib block_size=4096 after export (fileio_0 has LUNs)" "echo 4096 > $FIO/attrib/block_size"
try "attrib emulate_write_cache=2" "echo 2 > $C/core/rd_mcp_19/noexp/attrib/emulate_write_cache"
try "attrib emulate_write_cache=1 on fileio without buffered io" "echo 1 > $FIO/attrib/emulate_write_cache; cat $FIO/attrib/emulate_write_cache"
try "attrib emulate_write_cache=1 on iblock" "echo 1 > $C/core/iblock_2/blk/attrib/emulate_write_cache; cat $C/core/iblock_2/blk/attrib/emulate_write_cache"
try "attrib emulate_write_cache=1 on rd_mcp" "echo 1 > $C/core/rd_mcp_19/noexp/attrib/emulate_write_cache"
try "attrib hw_block_size write (read-only file)" "echo 4096 > $FIO/attrib/hw_block_size"
try "attrib hw_max_sectors write" "echo 128 > $FIO/attrib/hw_max_sectors"
try "attrib max_sectors=65536 after export" "echo 65536 > $FIO/attrib/max_sectors"
try "attrib optimal_sectors=99999" "echo 99999 > $FIO/attrib/optimal_sectors"
try "attrib queue_depth=0" "echo 0 > $FIO/attrib/queue_depth"
try "attrib queue_depth=1000 (above hw_queue_depth)" "echo 1000 > $FIO/attrib/queue_depth"
try "attrib emulate_tpu=1 on fileio" "echo 1 > $FIO/attrib/emulate_tpu"
try "attrib pi_prot_type=1 after export" "echo 1 > $FIO/attrib/pi_prot_type"
try "attrib pi_prot_type=1 on rd not exported" "echo 1 > $C/core/rd_mcp_19/noexp/attrib/pi_prot_type"
try "attrib emulate_3pc=abc" "echo abc > $FIO/attrib/emulate_3pc"
try "attrib enforce_pr_isids=-1" "echo -1 > $FIO/attrib/enforce_pr_isids"
try "user attrib hw_block_size after enable" "echo 4096 > $C/core/user_6/usr/attrib/hw_block_size"
try "user attrib max_data_area_mb after enable" "echo 16 > $C/core/user_6/usr/attrib/max_data_area_mb"
try "user attrib cmd_time_out=5 after enable" "echo 5 > $C/core/user_6/usr/attrib/cmd_time_out; cat $C/core/user_6/usr/attrib/cmd_time_out"
try "user attrib qfull_time_out=-2" "echo -2 > $C/core/user_6/usr/attrib/qfull_time_out"
try "user attrib dev_size change after enable (attrib)" "echo 134217728 > $C/core/user_6/usr/attrib/dev_size; cat $C/core/user_6/usr/attrib/dev_size"
try "user attrib dev_config change after enable (attrib)" "echo demo/z > $C/core/user_6/usr/attrib/dev_config; cat $C/core/user_6/usr/attrib/dev_config"
try "user attrib nl_reply_supported after enable" "echo 0 > $C/core/user_6/usr/attrib/nl_reply_supported"
try "wwn vpd_unit_serial change after export" "echo 11111111-2222-3333-4444-555555555555 > $FIO/wwn/vpd_unit_serial"
try "wwn vendor_id 9 chars" "echo ABCDEFGHI > $FIO/wwn/vendor_id"
try "wwn vendor_id 8 chars" "echo TCMSHVND > $FIO/wwn/vendor_id; cat $FIO/wwn/vendor_id"
try "wwn product_id 17 chars" "echo ABCDEFGHIJKLMNOPQ > $FIO/wwn/product_id"
try "alias write and read" "echo myalias > $FIO/alias; cat $FIO/alias"
try "udev_path write and read" "echo /dev/whatever > $FIO/udev_path; cat $FIO/udev_path"

# Control after enable.
try "control after enable (fileio fd_dev_size)" "echo fd_dev_size=1048576 > $FIO/control"
try "control after enable (user dev_size)" "echo dev_size=1048576 > $C/core/user_6/usr/control"
try "control after enable (rd_pages)" "echo rd_pages=8 > $C/core/rd_mcp_4/rd/control"

# Names.
try "user backstore name with a colon" "mkdir -p $C/core/user_21/a:b && echo dev_config=demo/c > $C/core/user_21/a:b/control && echo dev_size=1048576 > $C/core/user_21/a:b/control && echo nl_reply_supported=-1 > $C/core/user_21/a:b/control && echo 1 > $C/core/user_21/a:b/enable"
try "HBA name without index: core/fileio" "mkdir $C/core/fileio"
try "HBA name with bad index: core/fileio_x" "mkdir $C/core/fileio_x"
try "HBA index reuse across plugins: core/iblock_0 while fileio_0 exists" "mkdir $C/core/iblock_0 && rmdir $C/core/iblock_0"
try "two objects in one HBA" "mkdir $C/core/fileio_0/second && rmdir $C/core/fileio_0/second"

# Links and removals on a dedicated target.
R=$C/iscsi/iqn.2003-01.org.linux-iscsi.explore:rm/tpgt_1
mkdir -p $C/core/rd_mcp_22/rmobj $R/lun/lun_0
echo rd_pages=256 >$C/core/rd_mcp_22/rmobj/control
echo 1 >$C/core/rd_mcp_22/rmobj/enable
ln -s $C/core/rd_mcp_22/rmobj $R/lun/lun_0/rmobj
mkdir -p $R/acls/$INIT/lun_0
ln -s $R/lun/lun_0 $R/acls/$INIT/lun_0/m
mkdir -p $C/core/rd_mcp_23/notenabled
echo rd_pages=256 >$C/core/rd_mcp_23/notenabled/control
mkdir $R/lun/lun_5
try "LUN link to a not-enabled object" "ln -s $C/core/rd_mcp_23/notenabled $R/lun/lun_5/x"
try "second link in one LUN" "ln -s $C/core/rd_mcp_4/rd $R/lun/lun_0/second"
try "LUN link to a non-object (an HBA dir)" "mkdir $R/lun/lun_6 && ln -s $C/core/rd_mcp_4 $R/lun/lun_6/x"
try "LUN link to a path outside configfs" "mkdir -p $R/lun/lun_8 && ln -s /tmp $R/lun/lun_8/x"
try "same object linked into two TPGs" "mkdir $R/lun/lun_9 && ln -s $C/core/rd_mcp_4/rd $R/lun/lun_9/rd"
try "mkdir lun_65535" "mkdir $R/lun/lun_65535"
try "mkdir lun_65536" "mkdir $R/lun/lun_65536"
try "mkdir lun_x" "mkdir $R/lun/lun_x"
try "mkdir lun 7 (no prefix)" "mkdir $R/lun/7"
try "mapped LUN to a nonexistent LUN path" "mkdir $R/acls/$INIT/lun_7 && ln -s $R/lun/lun_99 $R/acls/$INIT/lun_7/m"
try "mapped LUN dir with no link, then ls" "ls -l $R/acls/$INIT/lun_7"
try "mapped LUN to another TPG's LUN" "mkdir $R/acls/$INIT/lun_8 && ln -s $T/lun/lun_1 $R/acls/$INIT/lun_8/m"
try "mapped LUN link to a storage object" "mkdir $R/acls/$INIT/lun_10 && ln -s $C/core/rd_mcp_4/rd $R/acls/$INIT/lun_10/m"
try "mapped LUN write_protect=2" "echo 2 > $R/acls/$INIT/lun_0/write_protect"
try "ACL with a bad initiator name" "mkdir $R/acls/not-an-iqn"
try "ACL with an upper-case iqn" "mkdir $R/acls/iqn.1994-05.COM.Example:Up && ls $R/acls"
try "rmdir of a storage object that has a LUN link" "rmdir $C/core/rd_mcp_22/rmobj"
try "rmdir of an HBA with an object" "rmdir $C/core/rd_mcp_22"
try "rmdir of a LUN dir that holds a link" "rmdir $R/lun/lun_9"
try "rmdir of an ACL with mapped LUNs" "rmdir $R/acls/$INIT"
try "rmdir of a TPG with LUNs" "rmdir $R"
try "rmdir of a target with TPGs" "rmdir $(dirname $R)"
try "rmdir of a LUN that an ACL maps (lun_0)" "rmdir $R/lun/lun_0"
try "unlink then rmdir a LUN" "rm $R/lun/lun_9/rd && rmdir $R/lun/lun_9"
try "rm of a default group (attrib)" "rmdir $FIO/attrib"
try "rm of an attribute file" "rm $FIO/attrib/block_size"
try "create a regular file in configfs" "touch $FIO/newfile"

# WWNs and TPG tags.
try "iscsi target with a bad IQN (notawwn)" "mkdir $C/iscsi/notawwn"
try "iscsi target iqn with underscore" "mkdir $C/iscsi/iqn.2003-01.org.bad_name:x"
try "iscsi target iqn without date" "mkdir $C/iscsi/iqn.org.example:x"
try "iscsi target naa" "mkdir $C/iscsi/naa.5001405eeeeeeeee && ls $C/iscsi"
try "iscsi target eui" "mkdir $C/iscsi/eui.0123456789abcdef && ls $C/iscsi"
try "iscsi target 224-char name" "mkdir $C/iscsi/iqn.2003-01.org.example:$(printf '%0200d' 0)"
try "iscsi target with upper case" "mkdir $C/iscsi/IQN.2003-01.ORG.EXAMPLE:UP && ls $C/iscsi"
try "iscsi tpgt_0" "mkdir $C/iscsi/$IQN/tpgt_0"
try "iscsi tpgt_65536" "mkdir $C/iscsi/$IQN/tpgt_65536"
try "iscsi tpgt_2" "mkdir $C/iscsi/$IQN/tpgt_2 && ls $C/iscsi/$IQN"
try "iscsi tpg dir named foo" "mkdir $C/iscsi/$IQN/foo"
try "loopback with a bad naa (naa.123)" "mkdir $C/loopback/naa.123"
try "loopback with naa not hex" "mkdir $C/loopback/naa.500140zzzzzzzzzz"
try "loopback with garbage name" "mkdir $C/loopback/garbage"
try "loopback with an iqn" "mkdir $C/loopback/iqn.2003-01.org.example:lb && ls $C/loopback"
try "loopback with fc." "mkdir $C/loopback/fc.5001405fffffffff && ls $C/loopback"
try "loopback second tpgt" "mkdir $C/loopback/$NAA/tpgt_2"
try "loopback tpgt_1 mkdir again" "mkdir $C/loopback/$NAA/tpgt_1"
try "loopback second target" "mkdir -p $C/loopback/naa.5001405999999999/tpgt_1 && ls $C/loopback"
try "loopback nexus written twice" "echo naa.5001405bbbbbbbbc > $L/nexus"
try "loopback nexus read" "cat $L/nexus"
try "loopback remove nexus (NULL) while LUNs exist" "echo NULL > $L/nexus"
try "loopback nexus with bad wwn on a fresh tpg" "echo garbage > $C/loopback/naa.5001405999999999/tpgt_1/nexus"
try "loopback nexus with a different fabric prefix (iqn) on a fresh tpg" "echo iqn.2003-01.org.example:i > $C/loopback/naa.5001405999999999/tpgt_1/nexus; cat $C/loopback/naa.5001405999999999/tpgt_1/nexus"
try "loopback tpg enable file?" "ls $L; cat $L/enable"
try "loopback transport_status" "cat $L/transport_status; echo offline > $L/transport_status; cat $L/transport_status; echo online > $L/transport_status"

# Portals.
try "np with a bad address 300.1.1.1:3260" "mkdir $T/np/300.1.1.1:3260"
try "np with no port" "mkdir $T/np/127.0.0.1"
try "np with port 0" "mkdir $T/np/127.0.0.2:0"
try "np with port 70000" "mkdir $T/np/127.0.0.1:70000"
try "np with an address not on this host" "mkdir $T/np/10.9.8.7:3260"
try "np ipv6 without brackets" "mkdir $T/np/::1:3262"
try "np duplicate in another TPG of the same target" "mkdir -p $C/iscsi/$IQN/tpgt_2/np/127.0.0.1:3260"
try "np duplicate in another target" "mkdir -p $R/np/127.0.0.1:3260"
try "np hostname" "mkdir $T/np/localhost:3260"
try "np iser on" "echo 1 > $T/np/127.0.0.1:3260/iser"
try "tpg enable=2" "echo 2 > $T/enable"
try "tpg disable" "echo 0 > $T/enable; cat $T/enable; echo 1 > $T/enable"
try "tpg auth userid 256 chars" "echo $(printf '%0256d' 0) > $T/auth/userid"
try "tpg param bogus" "echo x > $T/param/NoSuchParam"
try "tpg param HeaderDigest=bogus" "echo bogus > $T/param/HeaderDigest"
try "tpg param MaxRecvDataSegmentLength=1" "echo 1 > $T/param/MaxRecvDataSegmentLength"
try "tpg attrib generate_node_acls=1, demo_mode_write_protect=0" "echo 1 > $T/attrib/generate_node_acls && echo 0 > $T/attrib/demo_mode_write_protect"
try "discovery_auth enforce=2" "echo 2 > $C/iscsi/discovery_auth/enforce_discovery_auth"

# Write-only and read-only files.
try "read control" "cat $FIO/control"
try "read user control" "cat $C/core/user_6/usr/control"
try "read enable" "cat $FIO/enable"
try "write info" "echo x > $FIO/info"
try "write version" "echo x > $C/version"
try "read dbroot" "cat $C/dbroot"
try "write dbroot to a missing dir" "echo /nonexistent > $C/dbroot"
try "write dbroot /tmp" "echo /tmp > $C/dbroot; cat $C/dbroot"
try "read pr/res_aptpl_metadata" "cat $FIO/pr/res_aptpl_metadata"
try "write-only files in the tree" "find /sys/kernel/config -type f -perm -200 ! -perm -400"
try "files with no permission at all" "find /sys/kernel/config -type f ! -perm -444 -perm -000 | head -50"

# User backstore teardown and module refusals.
try "rmmod target_core_user while a user device exists" "rmmod target_core_user"
try "rmmod tcm_loop while configured" "rmmod tcm_loop"
try "rmdir of a user object that is exported" "rmdir $C/core/user_6/usr"
try "umount configfs while configured, then remount: objects still there?" "umount /sys/kernel/config && ls $C; mount -t configfs configfs /sys/kernel/config && ls $C/core"
try "mount configfs a second time elsewhere" "mkdir -p /mnt/cfs && mount -t configfs configfs /mnt/cfs && ls /mnt/cfs/target && umount /mnt/cfs"

say "stage 7: teardown order"
try "remove everything bottom-up" "
set -e
for d in \$(find $C/iscsi $C/loopback $C/vhost -mindepth 1 -type l 2>/dev/null); do rm \$d; done
for d in \$(find $C/iscsi $C/loopback $C/vhost -mindepth 1 -type d -name 'lun_*' -path '*/acls/*' 2>/dev/null); do rmdir \$d; done
for d in \$(find $C/iscsi $C/loopback $C/vhost -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir \$d 2>/dev/null || true; done
find $C/iscsi $C/loopback $C/vhost -mindepth 1 -maxdepth 3 -type d 2>/dev/null | head"
try "ls after teardown" "ls $C $C/core"

say "done"
sync
echo o >/proc/sysrq-trigger
sleep 5
poweroff -f
