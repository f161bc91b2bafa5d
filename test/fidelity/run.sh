#!/usr/bin/env bash
# The fidelity test: the same tcmsh scenario on the simulated kernel (here)
# and on Debian's real 6.1 kernel (test/vm, scenario 15-fidelity) must leave
# the same configfs tree (`tcmsh dump`) and refuse the same commands with the
# same messages, once the values listed in volatile.txt are normalised.
#
# Usage:
#   test/fidelity/run.sh                      boot the guest (test/vm/run 15-fidelity), which compares
#   test/fidelity/run.sh compare LOG [TCMSH]  compare the real run in console LOG with a simulated run
#   test/fidelity/run.sh sim OUTDIR [TCMSH]   only the simulated run: OUTDIR/dump.txt, OUTDIR/refusals.txt
#   test/fidelity/run.sh selftest [TCMSH]     the comparison fails on a changed value, entry or message
# TCMSH: the tcmsh binary (default: built from the repository).
# FIDELITY_SCRIPTS=DIR takes scenario.tcmsh and refusals.tcmsh from DIR (the
# copies the guest ran) instead of test/fidelity.
# FIDELITY_KEEP=DIR keeps the normalised dumps in DIR.
set -euo pipefail
FID_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$FID_DIR/../.." && pwd)
# The fileio images live where the guest puts them too.
DATA=/var/tmp/tcmsh-fidelity
SCRIPTS=${FIDELITY_SCRIPTS:-$FID_DIR}

die() { printf 'fidelity: %s\n' "$*" >&2; exit 2; }

tcmsh_bin() { # tcmsh_bin [BIN] TMPDIR: prints a tcmsh binary to use
  if [ -n "${1:-}" ]; then
    [ -x "$1" ] || die "$1 is not executable"
    printf '%s\n' "$1"
    return
  fi
  (cd "$REPO" && go build -o "$2/tcmsh" .) || die "go build failed"
  printf '%s\n' "$2/tcmsh"
}

# sim_run OUTDIR TCMSH: the scenario, the refusals and the dump on a fresh
# simulated kernel.
sim_run() {
  local out=$1 bin=$2 st
  st=$(mktemp -d "${TMPDIR:-/tmp}/tcmsh-fidelity-sim.XXXXXX")
  mkdir -p "$DATA" "$out"
  rm -f "$DATA"/*
  # The block object's device: ram0's numbers, as in the guest.
  mknod "$DATA/ram0" b 1 0 || die "mknod $DATA/ram0 failed (the fidelity test needs root)"
  local t=(env HOME="$st/home" "$bin" --kernel sim --sim-state "$st/state" --savefile "$st/saveconfig.json" --prefs "$st/prefs.json")
  local rc=0
  "${t[@]}" --keep-going <"$SCRIPTS/scenario.tcmsh" >"$out/scenario.out" 2>"$out/scenario.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$out/scenario.err" >&2; die "the scenario failed on the simulated kernel (exit $rc)"; }
  rc=0
  "${t[@]}" --keep-going <"$SCRIPTS/refusals.tcmsh" >"$out/refusals.out" 2>"$out/refusals.txt" || rc=$?
  [ "$rc" = 1 ] || die "the refusals exited $rc on the simulated kernel, want 1"
  "${t[@]}" dump >"$out/dump.txt" || die "dump failed on the simulated kernel"
  rm -rf "$st"
}

# extract LOG OUTDIR: the real run's dump and refusals from the console log.
extract() {
  local log=$1 out=$2
  mkdir -p "$out"
  grep -q '^FIDELITY-END' "$log" || die "no FIDELITY-END in $log: the guest scenario 15-fidelity did not print its dump"
  awk '/^FIDELITY-BEGIN/ { on = 1; next } /^FIDELITY-END/ { on = 0 } on && /^FIDDUMP\t/ { sub(/^FIDDUMP\t/, ""); print }' "$log" >"$out/dump.txt"
  awk '/^FIDELITY-BEGIN/ { on = 1; next } /^FIDELITY-END/ { on = 0 } on && /^FIDREF\t/ { sub(/^FIDREF\t/, ""); print }' "$log" >"$out/refusals.txt"
  local want
  want=$(awk '/^FIDELITY-END/ { print $2, $3; exit }' "$log")
  [ "$want" = "$(wc -l <"$out/dump.txt") $(wc -l <"$out/refusals.txt")" ] ||
    die "the console log lost lines of the real dump (want $want lines, got $(wc -l <"$out/dump.txt") $(wc -l <"$out/refusals.txt"))"
}

# normalise KIND FILE: applies volatile.txt. Its lines: `path GLOB REASON…`
# (the value of entries whose path matches GLOB — * within a name, ** across
# names — becomes <volatile>), `value REGEX REASON…` (matches of the ERE in
# dump values become <volatile>), `pathre REGEX REASON…` (the same in
# paths, e.g. generated names), `refusal REGEX REASON…` (the same in the
# refusals' messages); # comments.
normalise() {
  awk -v kind="$1" '
    function glob2re(g,   r, i, c) {
      r = "^"
      for (i = 1; i <= length(g); i++) {
        c = substr(g, i, 1)
        if (c == "*" && substr(g, i + 1, 1) == "*") { r = r ".*"; i++ }
        else if (c == "*") r = r "[^/]*"
        else if (c == "?") r = r "[^/]"
        else if (index("\\^$.[]|()+{}", c)) r = r "\\" c
        else r = r c
      }
      return r "$"
    }
    FNR == NR {
      if ($0 ~ /^[ \t]*(#|$)/) next
      if ($1 == "path") { np++; pre[np] = glob2re($2) }
      else if ($1 == "value") { nv++; vre[nv] = $2 }
      else if ($1 == "refusal") { nr++; rre[nr] = $2 }
      else if ($1 == "pathre") { nn++; nre[nn] = $2 }
      next
    }
    kind == "dump" {
      n = split($0, f, "\t")
      for (i = 1; i <= nn; i++) gsub(nre[i], "<volatile>", f[1])
      for (i = 1; i <= np; i++) if (f[1] ~ pre[i]) { f[4] = "<volatile>"; break }
      for (i = 1; i <= nv; i++) gsub(vre[i], "<volatile>", f[4])
      print f[1] "\t" f[2] "\t" f[3] "\t" f[4]
      next
    }
    { for (i = 1; i <= nr; i++) gsub(rre[i], "<volatile>"); print }
  ' "$FID_DIR/volatile.txt" "$2" | LC_ALL=C sort
}

compare() { # compare REALDIR SIMDIR: 0 when they agree
  local real=$1 sim=$2 rc=0 k
  for k in dump refusals; do
    local kind=$k
    normalise "$kind" "$real/$k.txt" >"$real/$k.norm"
    normalise "$kind" "$sim/$k.txt" >"$sim/$k.norm"
    if ! diff -u --label "real-6.1/$k" --label "sim/$k" "$real/$k.norm" "$sim/$k.norm" >"$real/$k.diff"; then
      rc=1
      echo "fidelity: $k: the real and the simulated kernel differ (- real, + simulated):"
      cat "$real/$k.diff"
    else
      echo "fidelity: $k: the same on both ($(wc -l <"$real/$k.norm") lines)"
    fi
  done
  if [ -n "${FIDELITY_KEEP:-}" ]; then
    mkdir -p "$FIDELITY_KEEP/real" "$FIDELITY_KEEP/sim"
    cp "$real"/* "$FIDELITY_KEEP/real/"
    cp "$sim"/* "$FIDELITY_KEEP/sim/"
  fi
  return "$rc"
}

cmd=${1:-vm}
case $cmd in
  vm)
    exec "$REPO/test/vm/run" 15-fidelity
    ;;
  sim)
    [ $# -ge 2 ] || die "usage: $0 sim OUTDIR [TCMSH]"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcmsh-fidelity.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    sim_run "$2" "$(tcmsh_bin "${3:-}" "$tmp")"
    ;;
  compare)
    [ $# -ge 2 ] || die "usage: $0 compare LOG [TCMSH]"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcmsh-fidelity.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    extract "$2" "$tmp/real"
    sim_run "$tmp/sim" "$(tcmsh_bin "${3:-}" "$tmp")"
    compare "$tmp/real" "$tmp/sim"
    ;;
  selftest)
    # The comparison fails when it should: a console log made from a
    # simulated run agrees with another simulated run, and the same log
    # with one value changed, one entry missing, or a refusal's message
    # changed does not.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcmsh-fidelity.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    bin=$(tcmsh_bin "${2:-}" "$tmp")
    sim_run "$tmp/a" "$bin"
    mklog() { # mklog DUMP REFUSALS: a console log as 15-fidelity prints it
      echo "TCMSH-SCENARIO-START 15-fidelity 1.0"
      echo "FIDELITY-BEGIN"
      sed 's/^/FIDDUMP	/' "$1"
      echo "[   12.345] some kernel message"
      sed 's/^/FIDREF	/' "$2"
      echo "FIDELITY-END $(wc -l <"$1") $(wc -l <"$2")"
    }
    mklog "$tmp/a/dump.txt" "$tmp/a/refusals.txt" >"$tmp/same.log"
    sed 's#\(attrib/queue_depth\tattr\t0644\t\)64#\163#' "$tmp/a/dump.txt" >"$tmp/value.txt"
    grep -v '/tpgt_1/attrib/login_timeout' "$tmp/a/dump.txt" >"$tmp/missing.txt"
    sed '1s/invalid argument/numerical result out of range/' "$tmp/a/refusals.txt" >"$tmp/refusal.txt"
    mklog "$tmp/value.txt" "$tmp/a/refusals.txt" >"$tmp/value.log"
    mklog "$tmp/missing.txt" "$tmp/a/refusals.txt" >"$tmp/missing.log"
    mklog "$tmp/a/dump.txt" "$tmp/refusal.txt" >"$tmp/refusal.log"
    head -n 20 "$tmp/same.log" >"$tmp/cut.log"
    bad=0
    expect() { # expect WANT NAME LOG
      local rc=0
      "$0" compare "$3" "$bin" >"$tmp/out" 2>&1 || rc=$?
      if [ "$rc" = "$1" ]; then echo "ok   $2 (exit $rc)"; else echo "FAIL $2: exit $rc, want $1"; sed 's/^/  /' "$tmp/out"; bad=1; fi
    }
    cmp -s "$tmp/value.txt" "$tmp/a/dump.txt" && die "selftest: the value edit changed nothing"
    expect 0 same "$tmp/same.log"
    expect 1 value-changed "$tmp/value.log"
    expect 1 entry-missing "$tmp/missing.log"
    expect 1 refusal-changed "$tmp/refusal.log"
    expect 2 no-end-marker "$tmp/cut.log"
    exit "$bad"
    ;;
  -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0" ;;
  *) die "unknown command $cmd (vm, sim, compare, selftest)" ;;
esac
