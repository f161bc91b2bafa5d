#!/usr/bin/env bash
# Self-test of test/vm/run: boots the scenarios of test/vm/selftest, which
# pass, fail, check nothing, exit non-zero, hang, leave LIO objects or
# processes behind, and crash the kernel, and
# checks that the harness reports each one and fails the run. About a minute.
# Usage: test/vm/selftest.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -z "${TCMSH_VM_BINARY:-}" ]; then
  vm_build_tcmsh "$out/tcmsh"
  export TCMSH_VM_BINARY=$out/tcmsh
fi
export TCMSH_VM_SCENARIOS=$here/selftest

failures=0
# expect NAME WANT-STATUS RUN-ARGS... -- PATTERNS...: runs the harness and
# checks its exit status and that its output matches each extended regex.
expect() {
  local name=$1 want=$2 args=() pats=() rc=0
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  pats=("$@")
  echo "== selftest $name: run ${args[*]}"
  "$here/run" "${args[@]}" >"$out/$name.log" 2>&1 || rc=$?
  local ok=1
  if [ "$rc" != "$want" ]; then
    echo "   exit $rc, want $want"
    ok=0
  fi
  local p
  for p in "${pats[@]}"; do
    if ! grep -Eq -- "$p" "$out/$name.log"; then
      echo "   output lacks /$p/"
      ok=0
    fi
  done
  if [ "$ok" = 1 ]; then
    echo "   ok"
  else
    failures=$((failures + 1))
    sed -n '/==== tcmsh real-kernel test summary/,$p' "$out/$name.log" | sed 's/^/   | /'
  fi
}

expect passing 0 10-pass 60-after 80 81 82 83 -- \
  '10-pass +PASS +2 pass +0 fail' '60-after +PASS +1 pass' '80-leave-mess +PASS' \
  '81-clean-start +PASS +6 pass +0 fail' '83-no-leftover +PASS +1 pass' '^PASS$'
TCMSH_SCENARIO_TIMEOUT=8 expect broken 1 10 20 30 40 50 60 -- \
  '10-pass +PASS' '20-fail +FAIL +2 pass +1 fail' 'FAIL 20-fail deliberate-fail' \
  'what 20-fail printed' '^      \| output of the failed scenario' \
  '30-nochecks +FAIL' 'no-checks' '40-exit +FAIL' 'scenario-exit the script exited with status 3' \
  '50-hang +FAIL' 'scenario-timeout killed after 8s' '60-after +PASS' '^FAIL:$'
TCMSH_SCENARIO_TIMEOUT=600 expect host-timeout 1 --timeout 25 50-hang -- \
  'timeout: the guest ran longer than 25s; qemu was killed' '50-hang +NO-END' 'no TCMSH-ALL-DONE'
expect panic 1 70-panic -- '70-panic +NO-END' 'Kernel panic' 'no TCMSH-ALL-DONE'
expect host-step 1 90-host-check -- \
  '90-host-check +PASS +1 pass' 'deliberate host failure after seeing prepared-ok' \
  '90-host-check.host +FAIL' 'its host-side check failed' '^FAIL:$'
expect unknown-scenario 1 nosuchscenario -- "no scenario matches 'nosuchscenario'"

if [ "$failures" -gt 0 ]; then
  echo "selftest: $failures case(s) failed"
  exit 1
fi
echo "selftest: all cases behaved"
