# shellcheck shell=sh
# 50-realkernel: a package's Go tests against the real kernel. $TCMSH is not
# tcmsh here but that package's test binary, built with the realkernel tag
# (test/vm/gotest/run builds and boots one per package). The guest is
# thrown away, so the test that switches the module's netlink reply mode
# may run.
export TCMSH_REPLY_MODE_TEST=1
run "$TCMSH" -test.v -test.timeout 240s -test.run 'RealKernel'
check_rc realkernel-tests 0
check_no_out realkernel-no-skip SKIP
check_out realkernel-ran '--- PASS: TestRealKernel'
