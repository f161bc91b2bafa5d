# shellcheck shell=sh
# Runs after 80-leave-mess: the harness must have removed all of it.
run ls "$LIO/core"
check_rc ls-core 0
check_no_out core-empty rd_mcp_0
run ls "$LIO/loopback"
check_rc ls-loopback 0
check_no_out loopback-empty naa.
run ls "$LIO/iscsi"
check_rc ls-iscsi 0
check_no_out iscsi-empty iqn.
