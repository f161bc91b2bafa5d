# shellcheck shell=sh
# Leaves a configuration behind (made by hand: this tests the harness's reset
# between scenarios, not tcmsh): a backstore, a loopback target with a nexus
# and a LUN, an iscsi target with an ACL and a mapped LUN.
C=$LIO
check mess-backstore sh -c "mkdir -p $C/core/rd_mcp_0/mess && echo rd_pages=64 > $C/core/rd_mcp_0/mess/control && echo 1 > $C/core/rd_mcp_0/mess/enable"
L=$C/loopback/naa.5001405000000001/tpgt_1
check mess-loopback sh -c "mkdir -p $L/lun/lun_0 && echo naa.5001405000000002 > $L/nexus && ln -s $C/core/rd_mcp_0/mess $L/lun/lun_0/x"
T=$C/iscsi/iqn.2003-01.org.example.selftest:mess/tpgt_1
A=$T/acls/iqn.2003-01.org.example.selftest:init
check mess-iscsi sh -c "mkdir -p $T/lun/lun_0 $A/lun_0 && ln -s $C/core/rd_mcp_0/mess $T/lun/lun_0/x && ln -s $T/lun/lun_0 $A/lun_0/m"
