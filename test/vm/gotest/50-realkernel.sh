# shellcheck shell=sh
# 50-engine: engine.Local against the real kernel. $TCMSH is not tcmsh here
# but the test binary of test/engine built with the realkernel tag (see
# README.md next to this file).
run "$TCMSH" -test.v -test.timeout 240s -test.run 'RealKernel'
check_rc engine-realkernel 0
check_no_out engine-no-skip SKIP
