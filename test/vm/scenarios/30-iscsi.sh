# shellcheck shell=sh
# 30-iscsi: tcmsh makes an iSCSI target with the targetcli defaults (TPG 1,
# default portal, mapped LUNs for a new ACL), CHAP values and portals; the
# kernel's view is checked in configfs and in the listening sockets.
IQN=iqn.2003-01.org.example.tcmsh:vm
INIT=iqn.1994-05.com.example:client
TPG=$LIO/iscsi/$IQN/tpgt_1

run tc /backstores/ramdisk create ir 16M
check_rc backstore-create 0
run tc /iscsi create $IQN
check_rc target-create 0
check tpg-in-configfs test -d "$TPG"
check_file tpg-enabled "$TPG/enable" 1
check default-portal test -d "$TPG/np/0.0.0.0:3260"
run netstat -ltn
check_out listening-3260 0.0.0.0:3260

run tc /iscsi/$IQN/tpg1/luns create /backstores/ramdisk/ir
check_rc lun-create 0
lnk=$(find "$TPG/lun/lun_0" -maxdepth 1 -type l 2>/dev/null | head -n1)
if [ -n "$lnk" ]; then
  check_file lun-links-backstore "$(readlink -f "$lnk")/enable" 1
else
  fail lun-links-backstore "no link in $TPG/lun/lun_0"
fi

run tc /iscsi/$IQN/tpg1/acls create $INIT
check_rc acl-create 0
check acl-in-configfs test -d "$TPG/acls/$INIT"
mlnk=$(find "$TPG/acls/$INIT/lun_0" -maxdepth 1 -type l 2>/dev/null | head -n1)
case $(readlink "$mlnk" 2>/dev/null) in
  */lun/lun_0) pass mapped-lun-auto "$(readlink "$mlnk")" ;;
  *) fail mapped-lun-auto "acls/$INIT/lun_0 has no link to lun/lun_0" ;;
esac

run tc /iscsi/$IQN/tpg1 set auth userid=tuser password=tpass12345
check_rc set-auth 0
check_file auth-userid "$TPG/auth/userid" tuser
check_file auth-password "$TPG/auth/password" tpass12345

run tc /iscsi/$IQN/tpg1/portals delete 0.0.0.0 3260
check_rc portal-delete 0
check default-portal-gone test ! -e "$TPG/np/0.0.0.0:3260"
run tc /iscsi/$IQN/tpg1/portals create 127.0.0.1 3261
check_rc portal-create 0
check portal-in-configfs test -d "$TPG/np/127.0.0.1:3261"
run netstat -ltn
check_out listening-3261 127.0.0.1:3261
check_no_out not-listening-3260 0.0.0.0:3260

run tc ls /iscsi
check_rc ls-iscsi 0
check_out ls-iscsi-tree $IQN $INIT 127.0.0.1:3261 ramdisk/ir

# Refusals: a bad IQN, and deleting a backstore in use is allowed only with
# its LUNs going too (targetcli deletes them); here just the bad name.
run tc /iscsi create iqn.bad_name
check_rc bad-iqn-refused 1
check bad-iqn-nothing-made test ! -e "$LIO/iscsi/iqn.bad_name"

run tc /iscsi delete $IQN
check_rc target-delete 0
check target-gone test ! -e "$LIO/iscsi/$IQN"
run tc /backstores/ramdisk delete ir
check_rc backstore-delete 0
