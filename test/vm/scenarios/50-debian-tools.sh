# shellcheck shell=sh
# 50-debian-tools: what tcmsh builds looks right to the standard tools
# (sg3-utils, fio), and tcmsh and targetcli-fb read each other's
# configurations and saveconfig.json files. Needs the Debian userland:
# test/vm/run --debian; skipped without it.
if ! have_debian; then
  skip_scenario "no Debian userland (run test/vm/run --debian)"
  return 0
fi
NAA=naa.5001405fedcba987

run tc /backstores/fileio create dtf /tmp/dtf.img 8M write_back=false
check_rc backstore-create 0
run tc /loopback create $NAA
run tc /loopback/$NAA/luns create /backstores/fileio/dtf
check_rc lun-create 0
if disk=$(wait_disk 10 LIO-ORG dtf) && is_block "$disk"; then
  pass disk "$disk"
else
  fail disk "no block device for the LUN"
  disk=
fi

if [ -n "$disk" ]; then
  run deb sg_inq "$disk"
  check_rc sg-inq 0
  check_out sg-inq-ids "Vendor identification: LIO-ORG" "Product identification: dtf"
  run deb sg_readcap "$disk"
  check_rc sg-readcap 0
  check_out sg-readcap-size "Last LBA=16383" "Logical block length=512 bytes"
  serial=$(sed -n 's/^T10 VPD Unit Serial Number: //p' "$(lio_so fileio dtf)/wwn/vpd_unit_serial")
  run deb sg_vpd --page=sn "$disk"
  check_rc sg-vpd-sn 0
  check_out sg-vpd-serial-matches "$serial"
  run deb fio --name=verify --filename="$disk" --rw=randwrite --bs=4k --size=2M \
    --ioengine=psync --direct=1 --verify=crc32c --do_verify=1 --output-format=terse
  check_rc fio-verify 0
fi

# targetcli-fb sees what tcmsh made.
if deb_dbus; then
  pass dbus-started "system bus in the Debian userland"
else
  fail dbus-started "dbus-daemon --system did not start"
fi
run deb targetcli ls /
check_rc targetcli-ls 0
check_out targetcli-sees-tcmsh dtf /tmp/dtf.img $NAA

# tcmsh sees what targetcli-fb made.
run deb targetcli /backstores/ramdisk create tr 8M
check_rc targetcli-create 0
run tc ls /backstores/ramdisk
check_rc tcmsh-ls 0
check_out tcmsh-sees-targetcli tr

# targetcli-fb's saveconfig.json, restored by tcmsh.
run deb targetcli saveconfig /tmp/by-targetcli.json
check_rc targetcli-saveconfig 0
run tc clearconfig confirm=true
check_rc tcmsh-clearconfig 0
run tc restoreconfig /tmp/by-targetcli.json
check_rc tcmsh-restores-targetcli-file 0 || show_file /tmp/by-targetcli.json 400
run tc ls
check_out tcmsh-restored-all dtf tr $NAA

# tcmsh's saveconfig.json, restored by targetcli-fb (from a fresh state made
# by tcmsh, whatever happened above).
run tc clearconfig confirm=true
run tc /backstores/fileio create dtf2 /tmp/dtf2.img 4M
run tc /backstores/ramdisk create tr2 4M
run tc /iscsi create iqn.2003-01.org.example.tcmsh:deb
run tc /iscsi/iqn.2003-01.org.example.tcmsh:deb/tpg1/luns create /backstores/fileio/dtf2
run tc /iscsi/iqn.2003-01.org.example.tcmsh:deb/tpg1/acls create iqn.1994-05.com.example:debc
run tc /loopback create $NAA
run tc /loopback/$NAA/luns create /backstores/ramdisk/tr2
check_rc tcmsh-setup 0
run tc saveconfig /tmp/by-tcmsh.json
check_rc tcmsh-saveconfig 0
run deb targetcli clearconfig confirm=True
check_rc targetcli-clearconfig 0
run deb targetcli restoreconfig /tmp/by-tcmsh.json
check_rc targetcli-restores-tcmsh-file 0
check_no_out targetcli-restore-no-skips skipped
check_no_out targetcli-restore-no-traceback Traceback
run deb targetcli ls /
check_out targetcli-restored-all dtf2 tr2 iqn.2003-01.org.example.tcmsh:deb iqn.1994-05.com.example:debc $NAA || show_file /tmp/by-tcmsh.json
