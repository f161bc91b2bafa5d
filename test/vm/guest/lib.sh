# shellcheck shell=sh
# Helpers for scenario scripts (busybox sh), sourced before each scenario as
# /tcmsh-vm/lib.sh. Each check prints one marker line the host collects:
#   TCMSH-CHECK PASS|FAIL|SKIP <scenario> <check> <detail>
# and appends PASS or FAIL to $TCMSH_VM_STATE/results, which /init counts:
# a scenario with a FAIL, or with no PASS at all, fails.
#
# Conventions: check names are one word (a-z0-9 and dashes); run tcmsh as
# "$TCMSH" (the static binary in the guest); never write to a device before
# checking it with is_block.

TCMSH=${TCMSH:-/bin/tcmsh}
CONFIGFS=/sys/kernel/config
export LIO=$CONFIGFS/target
: "${TCMSH_SCENARIO:=unknown}"
: "${TCMSH_VM_STATE:=/tmp}"

_record() { # _record STATUS CHECK DETAIL...
  _st=$1
  _name=$2
  shift 2
  echo "TCMSH-CHECK $_st $TCMSH_SCENARIO $_name $*"
  echo "$_st $_name" >>"$TCMSH_VM_STATE/results"
}

pass() { _record PASS "$@"; }
fail() {
  _record FAIL "$@"
  return 1
}
skip() { _record SKIP "$@"; }
note() { echo "TCMSH-NOTE $TCMSH_SCENARIO $*"; }

# show prints the last command's output, indented, for whoever reads the log.
show() {
  printf '%s\n' "$OUT" | sed 's/^/    | /'
}

# show_file FILE: prints a file, indented (to explain a failure).
show_file() {
  echo "  --- $1"
  sed 's/^/    | /' "$1" 2>&1 | head -n "${2:-120}"
}

# run CMD...: runs CMD with stdout and stderr together; sets OUT and RC.
# Never fails itself, so that the checks decide.
run() {
  echo "  \$ $*"
  OUT=$("$@" 2>&1)
  RC=$?
  show
  echo "    (exit $RC)"
  return 0
}

# run_as USER CMD...: like run, as a non-root user (busybox su).
run_as() {
  _user=$1
  shift
  _cmd=
  for _w in "$@"; do
    _cmd="$_cmd '$(printf '%s' "$_w" | sed "s/'/'\\\\''/g")'"
  done
  run su -s /bin/sh "$_user" -c "$_cmd"
}

# run_in INPUT CMD...: like run, with INPUT on stdin.
run_in() {
  _in=$1
  shift
  echo "  \$ $* <<<$(printf '%s' "$_in" | tr '\n' ';')"
  OUT=$(printf '%s\n' "$_in" | "$@" 2>&1)
  RC=$?
  show
  echo "    (exit $RC)"
  return 0
}

# check NAME CMD...: passes when CMD exits 0.
check() {
  _n=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$_n" "$*"; else fail "$_n" "failed: $*"; fi
}

# check_rc NAME WANT: the last run's exit status is WANT.
check_rc() {
  if [ "$RC" = "$2" ]; then pass "$1" "exit $RC"; else fail "$1" "exit $RC, want $2"; fi
}

# check_out NAME TEXT...: the last run's output contains each TEXT (fixed strings).
check_out() {
  _n=$1
  shift
  for _t in "$@"; do
    if ! printf '%s\n' "$OUT" | grep -qF -- "$_t"; then
      fail "$_n" "output lacks '$_t'"
      return 1
    fi
  done
  pass "$_n" "output has: $*"
}

# check_out_i NAME TEXT: like check_out, case-insensitive, one text.
check_out_i() {
  if printf '%s\n' "$OUT" | grep -qiF -- "$2"; then
    pass "$1" "output has '$2'"
  else
    fail "$1" "output lacks '$2' (any case)"
  fi
}

# check_no_out NAME TEXT: the last run's output does not contain TEXT.
check_no_out() {
  if printf '%s\n' "$OUT" | grep -qF -- "$2"; then
    fail "$1" "output has '$2'"
  else
    pass "$1" "output has no '$2'"
  fi
}

# is_block DEV: DEV exists and is a block device (dd onto a missing /dev/sdX
# silently makes a regular file, and reading it back "matches").
is_block() { [ -b "$1" ]; }

# holds_uio PID NAME: process PID has the uio device of user backstore NAME
# open (it serves it).
holds_uio() {
  for _u in /sys/class/uio/uio*; do
    case $(cat "$_u/name" 2>/dev/null) in
      tcm-user/*/"$2"/*)
        for _fd in /proc/"$1"/fd/*; do
          [ "$(readlink "$_fd")" = "/dev/${_u##*/}" ] && return 0
        done
        ;;
    esac
  done
  return 1
}

# wait_for SECONDS TEST-ARGS...: polls `test TEST-ARGS` every 0.1 s.
wait_for() {
  _t=$(($1 * 10))
  shift
  while [ "$_t" -gt 0 ]; do
    test "$@" && return 0
    sleep 0.1
    _t=$((_t - 1))
  done
  test "$@"
}

# (busybox here has no mountpoint applet)
configfs_mounted() { grep -q "^[^ ]* $CONFIGFS configfs " /proc/mounts; }

# tc WORDS...: one tcmsh command against the real kernel.
tc() { "$TCMSH" --kernel real "$@"; }

# wait_serve CHECK PID OUT: waits for the daemon PID, which a scenario
# started in the background with its control socket at $SOCK and its output
# in OUT (`"$TCMSH" --kernel real serve --socket "$SOCK" … >OUT 2>&1 &`), to
# answer on the socket. CHECK passes once a `stats` does (a socket file
# alone may be left by a killed daemon), within 15 s; else it fails, OUT is
# shown and wait_serve returns 1 (a scenario that cannot go on returns then).
wait_serve() {
  _i=0
  while kill -0 "$2" 2>/dev/null && [ $_i -lt 150 ]; do
    if [ -S "$SOCK" ] && tc stats >/dev/null 2>&1; then
      pass "$1" "pid $2"
      return 0
    fi
    sleep 0.1
    _i=$((_i + 1))
  done
  fail "$1" "tcmsh serve did not come up"
  show_file "$3"
  return 1
}

# stop_serve CHECK PID: sends SIGTERM to the daemon PID (a background job of
# the scenario). CHECK passes when it exits 0 within 10 s; else it fails
# (and a daemon still running then is killed).
stop_serve() {
  kill -TERM "$2"
  _i=0
  while kill -0 "$2" 2>/dev/null && [ $_i -lt 100 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  if kill -0 "$2" 2>/dev/null; then
    fail "$1" "still running 10 s after SIGTERM"
    kill -KILL "$2"
  elif wait "$2"; then
    pass "$1" "exit 0 on SIGTERM"
  else
    fail "$1" "exit $? on SIGTERM"
  fi
}

# lio_so PLUGIN NAME: prints the configfs directory of a storage object
# (core/PLUGIN_N/NAME; tcmsh picks N), fails when there is none.
lio_so() {
  for _d in "$LIO"/core/"$1"_*/"$2"; do
    [ -d "$_d" ] && { echo "$_d"; return 0; }
  done
  return 1
}

# check_file NAME FILE WANT: FILE's content (trailing newline dropped) is WANT.
check_file() {
  if [ ! -e "$2" ]; then
    fail "$1" "$2 does not exist"
    return 1
  fi
  _got=$(cat "$2" 2>&1)
  if [ "$_got" = "$3" ]; then pass "$1" "$2 = $3"; else fail "$1" "$2 = '$_got', want '$3'"; fi
}

# check_file_has NAME FILE TEXT: FILE contains the fixed string TEXT.
check_file_has() {
  if grep -qF -- "$3" "$2" 2>/dev/null; then
    pass "$1" "$2 has '$3'"
  else
    fail "$1" "$2 lacks '$3' (it has: $(tr '\n' ' ' <"$2" 2>&1 | cut -c1-200))"
  fi
}

# loopback_disk NAA [LUN]: prints the /dev/sdX of LUN (default 0) of the
# loopback target NAA, fails when there is none (yet).
loopback_disk() {
  _addr=$(cat "$LIO/loopback/$1/tpgt_1/address" 2>/dev/null) || return 1
  for _b in /sys/class/scsi_disk/"$_addr:${2:-0}"/device/block/*; do
    [ -e "$_b" ] && disk_opens "/dev/${_b##*/}" && echo "/dev/${_b##*/}" && return 0
  done
  return 1
}

# lio_disk VENDOR MODEL: prints the /dev/sdX whose SCSI vendor and model
# (trimmed) are VENDOR and MODEL, fails when there is none.
lio_disk() {
  for _b in /sys/block/sd*; do
    [ -d "$_b/device" ] || continue
    _v=$(sed 's/ *$//' "$_b/device/vendor")
    _m=$(sed 's/ *$//' "$_b/device/model")
    if [ "$_v" = "$1" ] && [ "$_m" = "$2" ]; then
      echo "/dev/${_b##*/}"
      return 0
    fi
  done
  return 1
}

# disk_opens DEV: whether DEV opens. sysfs and the /dev node appear before
# the kernel has finished adding the disk, and until then an open fails
# (ENXIO): a disk is handed out only once it opens. `true`, not `:`: a
# failed redirection of a special builtin ends a POSIX shell.
disk_opens() {
  { true <"$1"; } 2>/dev/null
}

# wait_disk SECONDS VENDOR MODEL: waits for lio_disk to find one that opens;
# prints it.
wait_disk() {
  _t=$(($1 * 10))
  while [ "$_t" -gt 0 ]; do
    if _wd=$(lio_disk "$2" "$3") && disk_opens "$_wd"; then
      echo "$_wd"
      return 0
    fi
    sleep 0.1
    _t=$((_t - 1))
  done
  lio_disk "$2" "$3"
}

# skip_scenario REASON: the scenario cannot run in this guest; it ends as
# SKIP (not a failure). Call it and return before any check.
skip_scenario() {
  _record SKIP scenario "$*"
  echo "SKIPPED $*" >>"$TCMSH_VM_STATE/results"
}

# The Debian userland (test/vm/run --debian) is mounted at /debian.
DEBIAN_ROOT=/debian
have_debian() { [ -x "$DEBIAN_ROOT/usr/bin/apt-get" ]; }

# deb CMD...: runs CMD inside the Debian userland (chroot), e.g.
# `run deb sg_inq /dev/sda`. /proc, /sys, /dev and /tmp are shared.
deb() {
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb LANG=C.UTF-8 "$@"
}

# deb_dbus starts the system D-Bus in the Debian userland (targetcli-fb
# fails without it), once.
deb_dbus() {
  [ -S "$DEBIAN_ROOT/run/dbus/system_bus_socket" ] && return 0
  deb dbus-daemon --system --fork || return 1
  wait_for 10 -S "$DEBIAN_ROOT/run/dbus/system_bus_socket"
}

# load_on_demand NAME...: loads modules the guest has but does not load at
# boot (VM_MODULES_ON_DEMAND in test/vm/lib.sh), each after its
# dependencies; fails when one is not in the guest or does not load.
# Every module it loaded is remembered for unload_on_demand.
load_on_demand() {
  for _want in "$@"; do
    grep -q "^demand:$_want " /etc/tcmsh-vm-modules || return 1
    while read -r _req _path; do
      [ "$_req" = "demand:$_want" ] || continue
      case $_path in builtin:*) continue ;; esac
      _name=$(basename "$_path" .ko | tr - _)
      [ -d "/sys/module/$_name" ] && continue
      insmod "$_path" || return 1
      echo "$_name" >>"$TCMSH_VM_STATE/on-demand-loaded"
    done </etc/tcmsh-vm-modules
  done
}

# unload_on_demand: removes, last loaded first, every module
# load_on_demand loaded (a module still in use gets 5 s to be let go);
# fails when one stays, naming it with its use count.
unload_on_demand() {
  [ -f "$TCMSH_VM_STATE/on-demand-loaded" ] || return 0
  _left=
  for _name in $(sed -n '1!G;h;$p' "$TCMSH_VM_STATE/on-demand-loaded"); do
    _i=0
    while ! rmmod "$_name" 2>/dev/null && [ -d "/sys/module/$_name" ] && [ $_i -lt 50 ]; do
      sleep 0.1
      _i=$((_i + 1))
    done
    [ -d "/sys/module/$_name" ] && _left="$_left $_name(refcnt $(cat "/sys/module/$_name/refcnt" 2>/dev/null))"
  done
  rm -f "$TCMSH_VM_STATE/on-demand-loaded"
  [ -z "$_left" ] || { echo "still loaded:$_left" >&2; return 1; }
}
