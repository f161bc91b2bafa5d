# shellcheck shell=sh
# 70-tcmu-io: the three kinds of user backstore tcmsh serves itself
# (user:ram, user:file, user:fault with a delay), each behind a loopback LUN,
# answer a Linux initiator and sg3-utils as a disk must: the whole device
# written and read back (last block included), a read past the end refused
# with sense, the VPD pages page 0 lists, READ CAPACITY(16), the caching mode
# page, REPORT SUPPORTED OPERATION CODES, UNMAP, WRITE SAME (and with UNMAP),
# COMPARE AND WRITE (match and MISCOMPARE), SYNCHRONIZE CACHE, fio verify at
# QD 32; tcmsh's statistics show the traffic. Needs the Debian userland.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
NAA=naa.5001405a70a70a70
SOCK=/run/tcmsh/control.sock
SIZE_MB=16
BLOCKS=$((SIZE_MB * 2048))

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve70.log >/tmp/serve70.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve70.out || return 0

# served NAME: the daemon holds the uio device of user backstore NAME.
served() { holds_uio "$spid" "$1"; }

run tc /backstores/user:ram create r70 ${SIZE_MB}M
check_rc ram-create 0
run tc /backstores/user:file create f70 ${SIZE_MB}M /tmp/f70.img
check_rc file-create 0
run tc /backstores/user:fault create x70 ${SIZE_MB}M 'ram/;delay=2ms'
check_rc fault-create 0
ok=
for n in r70 f70 x70; do
  if served $n; then
    pass "served-$n" "pid $spid holds its uio device"
    ok="$ok $n"
  else
    fail "served-$n" "no uio device of $n held by pid $spid"
  fi
done
check_file_has fault-config "$(lio_so user x70)/info" "fault/ram/;delay=2ms"
check_file_has file-config "$(lio_so user f70)/info" "file//tmp/f70.img"

# Only devices that are served get a LUN (an unserved one hangs the scan).
run tc /loopback create $NAA
check_rc loopback-create 0
# loop_disk NAME: the /dev/sdX of the loopback LUN whose storage is NAME.
loop_disk() {
  _addr=$(cat "$LIO/loopback/$NAA/tpgt_1/address" 2>/dev/null)
  for _l in "$LIO/loopback/$NAA/tpgt_1/lun"/lun_*; do
    for _k in "$_l"/*; do
      if [ ! -L "$_k" ] || [ "$(basename "$(readlink "$_k")")" != "$1" ]; then continue; fi
      for _b in /sys/class/scsi_disk/"$_addr:${_l##*lun_}"/device/block/*; do
        [ -e "$_b" ] && echo "/dev/${_b##*/}" && return 0
      done
    done
  done
  return 1
}
# The user backstore's subtype, from its name: r70 ram, f70 file, x70 fault.
subtype() {
  case $1 in r70) echo ram ;; f70) echo file ;; x70) echo fault ;; esac
}
for n in $ok; do
  run tc /loopback/$NAA/luns create "/backstores/user:$(subtype "$n")/$n"
  check_rc "lun-create-$n" 0
done

dd if=/dev/urandom of=/tmp/pat70 bs=1M count=$SIZE_MB 2>/dev/null
patsum=$(sha256sum /tmp/pat70 | cut -d' ' -f1)
dd if=/tmp/pat70 of=/tmp/pat70-last bs=512 skip=$((BLOCKS - 1)) count=1 2>/dev/null
dd if=/dev/zero of=/tmp/zero70 bs=512 count=64 2>/dev/null
dd if=/dev/zero of=/tmp/zero70-16 bs=512 count=16 2>/dev/null

for n in $ok; do
  st=$(subtype "$n")
  note "device $n (user:$st)"
  if disk=$(wait_disk 30 LIO-ORG "$n") && is_block "$disk"; then
    pass "disk-$n" "$disk"
  else
    fail "disk-$n" "no block device with model $n within 30 s"
    for b in /sys/block/sd*; do
      echo "    | $b: $(cat "$b/device/vendor" "$b/device/model" 2>&1 | tr '\n' ' ')"
    done
    dmesg | tail -n 20 | sed 's/^/    | /'
    # The model is the configfs wwn/product_id at the time the daemon
    # attached; go on with the rest on the disk of the right LUN (by its
    # SCSI address: tcm_loop's host:0:tpgt, and the LUN number).
    disk=$(loop_disk "$n")
    if [ -n "$disk" ] && is_block "$disk"; then
      note "$n: its disk is $disk by SCSI address (model '$(sed 's/ *$//' "/sys/block/${disk#/dev/}/device/model")')"
    else
      continue
    fi
  fi
  check "size-$n" test "$(blockdev --getsize64 "$disk")" = $((SIZE_MB * 1048576))

  # The whole device, written and read back past the page cache.
  t0=$(cut -d' ' -f1 /proc/uptime)
  check "write-all-$n" timeout 120 dd if=/tmp/pat70 of="$disk" bs=1M count=$SIZE_MB oflag=direct
  got=$(timeout 120 dd if="$disk" bs=1M count=$SIZE_MB iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
  t1=$(cut -d' ' -f1 /proc/uptime)
  if [ "$got" = "$patsum" ]; then
    pass "read-all-$n" "sha256 matches ($SIZE_MB MiB each way, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s)"
  else
    fail "read-all-$n" "sha256 $got, want $patsum"
  fi
  check "last-block-$n" sh -c "dd if=$disk bs=512 skip=$((BLOCKS - 1)) count=1 iflag=direct 2>/dev/null |
    cmp - /tmp/pat70-last"
  if [ "$n" = f70 ]; then
    check "file-has-data" sh -c "sha256sum /tmp/f70.img | grep -q $patsum"
  fi

  # A read past the end: READ(16) of the block after the last, CHECK
  # CONDITION, ILLEGAL REQUEST, LBA out of range; the disk still answers.
  lba=$(printf '%016x' $BLOCKS | sed 's/../& /g')
  # shellcheck disable=SC2086
  run timeout 60 chroot "$DEBIAN_ROOT" /usr/bin/sg_raw -r 512 "$disk" 88 00 $lba 00 00 00 01 00 00
  check_out_i "read-past-end-$n" "out of range"
  run deb sg_turs "$disk"
  check_rc "tur-after-past-end-$n" 0

  run deb sg_inq "$disk"
  check_rc "sg-inq-$n" 0
  check_out "sg-inq-ids-$n" "Vendor identification: LIO-ORG" "Product identification: $n"

  # Every VPD page page 0 lists answers.
  pages=$(deb sg_vpd -p 0 -r "$disk" | od -An -tx1 -v | tr -s ' \n' '  ' | cut -d' ' -f6-)
  if [ -n "$pages" ]; then
    pass "vpd-page0-$n" "pages: $pages"
  else
    fail "vpd-page0-$n" "sg_vpd -p 0 listed nothing"
  fi
  bad=
  for p in $pages; do
    out=$(deb sg_vpd -p "0x$p" "$disk" 2>&1)
    rc=$?
    echo "  \$ sg_vpd -p 0x$p $disk (exit $rc)"
    printf '%s\n' "$out" | head -n 12 | sed 's/^/    | /'
    [ "$rc" = 0 ] || bad="$bad 0x$p"
  done
  if [ -z "$bad" ] && [ -n "$pages" ]; then
    pass "vpd-pages-$n" "all of: $pages"
  else
    fail "vpd-pages-$n" "failed:$bad"
  fi
  for p in 00 80 83 b0; do
    case " $pages " in *" $p "*) ;; *) fail "vpd-has-$p-$n" "page 0 does not list 0x$p" ;; esac
  done
  serial=$(sed -n 's/^T10 VPD Unit Serial Number: //p' "$(lio_so user "$n")/wwn/vpd_unit_serial")
  run deb sg_vpd -p sn "$disk"
  check_out "vpd-serial-$n" "$serial"

  run deb sg_readcap -l "$disk"
  check_rc "readcap16-$n" 0
  check_out "readcap16-size-$n" "Last LBA=$((BLOCKS - 1))" "Logical block length=512 bytes"
  lbprz=0
  case $OUT in *"lbprz=1"*) lbprz=1 ;; esac
  case $OUT in *"lbpme=1"*) lbpme=1 ;; *) lbpme=0 ;; esac

  # Caching mode page: its WCE bit is what the kernel's sd read, and what
  # the backstore's emulate_write_cache says.
  run deb sg_modes -p 8 "$disk"
  check_rc "sg-modes-caching-$n" 0
  check_out_i "sg-modes-caching-page-$n" "caching"
  raw=$(deb sg_modes -p 8 -r "$disk" | od -An -tu1 -v | tr -s ' \n' '  ')
  # MODE SENSE(10): 8-byte header, block descriptors (length in bytes 6-7).
  # shellcheck disable=SC2086
  set -- $raw
  if [ $# -ge 12 ]; then
    shift 6
    bdl=$(($1 * 256 + $2))
    shift $((2 + bdl))
    pcode=$(($1 & 63))
    wce=$((($3 >> 2) & 1))
    check "caching-page-code-$n" test "$pcode" = 8
    want=$(cat "$(lio_so user "$n")/attrib/emulate_write_cache")
    if [ "$wce" = "$want" ]; then
      pass "wce-$n" "WCE=$wce = emulate_write_cache"
    else
      fail "wce-$n" "WCE=$wce, emulate_write_cache=$want"
    fi
    ct=$(cat /sys/block/"${disk#/dev/}"/device/scsi_disk/*/cache_type 2>/dev/null)
    case $wce/$ct in
      1/"write back" | 0/"write through") pass "sd-cache-type-$n" "$ct" ;;
      *) fail "sd-cache-type-$n" "sd says '$ct', WCE=$wce" ;;
    esac
  else
    fail "caching-page-raw-$n" "sg_modes -r gave: $raw"
  fi

  run deb sg_opcodes "$disk"
  check_rc "sg-opcodes-$n" 0
  check_out_i "sg-opcodes-list-$n" "read(10)"
  check_out_i "sg-opcodes-write-$n" "write(10)"

  # UNMAP of the first 64 blocks (advertised: LBPME); with LBPRZ they read zero.
  if [ "$lbpme" = 1 ]; then
    run deb sg_unmap --lba=0 --num=64 "$disk"
    check_rc "sg-unmap-$n" 0
    if [ "$lbprz" = 1 ]; then
      check "unmap-reads-zero-$n" sh -c "dd if=$disk bs=512 count=64 iflag=direct 2>/dev/null | cmp - /tmp/zero70"
    fi
  else
    note "$n: READ CAPACITY(16) says no LBPME: UNMAP not tried"
  fi

  # WRITE SAME of one 512-byte block over 16 blocks at LBA 4096.
  dd if=/dev/urandom of=/tmp/ws70 bs=512 count=1 2>/dev/null
  : >/tmp/ws70x16
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat /tmp/ws70 >>/tmp/ws70x16; done
  run deb sg_write_same --in=/tmp/ws70 --lba=4096 --num=16 "$disk"
  check_rc "sg-write-same-$n" 0
  check "write-same-data-$n" sh -c "dd if=$disk bs=512 skip=4096 count=16 iflag=direct 2>/dev/null | cmp - /tmp/ws70x16"
  run deb sg_write_same --16 --unmap --lba=4096 --num=16 "$disk"
  check_rc "sg-write-same-unmap-$n" 0
  check "write-same-unmap-zero-$n" sh -c "dd if=$disk bs=512 skip=4096 count=16 iflag=direct 2>/dev/null | cmp - /tmp/zero70-16"

  # COMPARE AND WRITE at LBA 8192: compare with what is there (a match
  # writes), then with something else (MISCOMPARE, nothing written).
  dd if="$disk" of=/tmp/caw-old bs=512 skip=8192 count=1 iflag=direct 2>/dev/null
  dd if=/dev/urandom of=/tmp/caw-new bs=512 count=1 2>/dev/null
  cat /tmp/caw-old /tmp/caw-new >/tmp/caw-match
  run deb sg_compare_and_write --in=/tmp/caw-match --lba=8192 --num=1 "$disk"
  check_rc "caw-match-$n" 0
  check "caw-wrote-$n" sh -c "dd if=$disk bs=512 skip=8192 count=1 iflag=direct 2>/dev/null | cmp - /tmp/caw-new"
  cat /tmp/caw-old /tmp/caw-old >/tmp/caw-miss
  run deb sg_compare_and_write --in=/tmp/caw-miss --lba=8192 --num=1 "$disk"
  # sg3-utils' status for a miscompare is 14 (SG_LIB_CAT_MISCOMPARE).
  check_rc "caw-mismatch-status-$n" 14
  check_out_i "caw-mismatch-says-$n" "miscompare"
  check "caw-mismatch-kept-$n" sh -c "dd if=$disk bs=512 skip=8192 count=1 iflag=direct 2>/dev/null | cmp - /tmp/caw-new"

  run deb sg_sync "$disk"
  check_rc "sg-sync-$n" 0

  t0=$(cut -d' ' -f1 /proc/uptime)
  run timeout 240 chroot "$DEBIAN_ROOT" /usr/bin/fio --name=qd32 --filename="$disk" --rw=randwrite \
    --bs=4k --size=4M --ioengine=libaio --iodepth=32 --direct=1 --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --output-format=terse --terse-version=3
  t1=$(cut -d' ' -f1 /proc/uptime)
  check_rc "fio-verify-qd32-$n" 0
  note "$n: fio randwrite 4M QD32 + verify in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
done

# The daemon's statistics show the traffic of each device.
run tc --json stats
check_rc stats-json 0
printf '%s\n' "$OUT" >/tmp/stats70.json
for n in $ok; do
  # shellcheck disable=SC2016
  run deb python3 -c '
import json, sys
name = sys.argv[1]
for s in json.load(open("/tmp/stats70.json")):
    if s["path"].endswith("/" + name):
        print("commands=%d read=%d written=%d errors=%d up=%s" % (s["commands"], s["read_bytes"], s["write_bytes"], s["errors"], s["up"]))
        ok = s["commands"] > 0 and s["read_bytes"] > 0 and s["write_bytes"] > 0 and s["up"]
        sys.exit(0 if ok else 1)
print("no entry for", name)
sys.exit(2)' "$n"
  check_rc "stats-traffic-$n" 0
done

run tc /loopback delete $NAA
check_rc loopback-delete 0
for n in $ok; do
  run tc /backstores/user:"$(subtype "$n")" delete "$n"
  check_rc "delete-$n" 0
done
kill -TERM "$spid" 2>/dev/null
show_file /tmp/serve70.log 40
