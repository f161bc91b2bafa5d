# shellcheck shell=sh
# 95-monitor: the TUI's figures on the real kernel. `tcmsh serve` serves a
# user:ram backstore behind a loopback LUN; the kernel's own initiator
# drives O_DIRECT I/O through it; `tcmsh monitor --once --json`, a separate
# process that attaches to the daemon through its control socket, lists the
# device with its rates (iops, MB/s within what `stats --json` counted
# around it), latencies and the ring and data area sizes (the same as
# `stats --json`, the configfs ring attributes and the uio map); idle, the
# rates are 0; the text form names the device. Without a terminal, `ui`,
# `monitor` (one-shot and batch) and `demo` refuse and point at
# `monitor --once`. With the Debian userland (util-linux `script`), the
# live monitor runs on a pseudo-terminal (80x24) and shows the device, and
# `demo` runs there on the simulated kernel without touching the real one.
NAA=naa.5001405a95a95a95
SOCK=/run/tcmsh/control.sock
MIB=1048576

"$TCMSH" --kernel real serve --socket "$SOCK" --log-file /tmp/serve95.log >/tmp/serve95.out 2>&1 &
spid=$!
wait_serve serve-started "$spid" /tmp/serve95.out || return 0

# jget FILE PATH KEY: the value of KEY (quotes and comma dropped) in the
# top-level object whose "path" is PATH, in tcmsh's indented JSON list
# (`monitor --once --json`, `--json stats`); fails when there is none.
jget() {
  awk -v want="$2" -v key="$3" '
    /^  [{]/ { p = ""; val = ""; has = 0 }
    index($0, "    \"path\": ") == 1 { p = substr($0, 13); sub(/,$/, "", p); gsub(/"/, "", p) }
    index($0, "    \"" key "\": ") == 1 {
      val = substr($0, length(key) + 9); sub(/,$/, "", val); gsub(/"/, "", val); has = 1
    }
    /^  [}]/ { if (p == want && has) { print val; found = 1; exit } }
    END { exit !found }' "$1"
}
# is EXPR: awk's verdict on a numeric comparison, e.g. is "1.5 > 0".
is() { awk "BEGIN { exit !($1) }" </dev/null 2>/dev/null; }
# strip FILE: FILE without CSI escape sequences and carriage returns.
ESC=$(printf '\033')
strip() { sed -e "s/$ESC\[[0-9;?<>=\$]*[A-Za-z]//g" "$1" | tr -d '\r'; }

DEV=/backstores/user:ram/m95
run tc /backstores/user:ram create m95 16M
check_rc ram-create 0
if holds_uio "$spid" m95; then
  pass served "pid $spid holds m95's uio device"
else
  fail served "the daemon does not hold m95's uio device"
  return 0
fi
so=$(lio_so user m95)
uio=
for u in /sys/class/uio/uio*; do
  case $(cat "$u/name" 2>/dev/null) in tcm-user/*/m95/*) uio=${u##*/} ;; esac
done

run tc /loopback create $NAA
check_rc loopback-create 0
run tc /loopback/$NAA/luns create $DEV
check_rc lun-create 0
if disk=$(wait_disk 30 LIO-ORG m95) && is_block "$disk"; then
  pass disk "$disk"
else
  fail disk "no block device for m95 within 30 s"
  return 0
fi

# Data through the ring, past the page cache: 4 MiB each way.
dd if=/dev/urandom of=/tmp/pat95 bs=64k count=64 2>/dev/null
check write-direct timeout 60 dd if=/tmp/pat95 of="$disk" bs=64k count=64 oflag=direct
check read-direct sh -c "timeout 60 dd if=$disk bs=64k count=64 iflag=direct 2>/dev/null | cmp - /tmp/pat95"

# Load for the snapshot: O_DIRECT reads in a loop until /tmp/stop95 exists.
rm -f /tmp/stop95
(while [ ! -e /tmp/stop95 ]; do dd if="$disk" of=/dev/null bs=64k count=64 iflag=direct 2>/dev/null; done) &
lpid=$!
sleep 1
tc --json stats >/tmp/stats95a.json 2>&1
run timeout -s KILL 60 "$TCMSH" --kernel real monitor --once --json
mrc=$RC
printf '%s\n' "$OUT" >/tmp/mon95.json
tc --json stats >/tmp/stats95b.json 2>&1
touch /tmp/stop95
i=0
while kill -0 "$lpid" 2>/dev/null && [ $i -lt 300 ]; do
  sleep 0.1
  i=$((i + 1))
done
RC=$mrc
check_rc monitor-once-json-exit 0
if jget /tmp/mon95.json $DEV path >/dev/null; then
  pass monitor-lists-device "$DEV"
else
  fail monitor-lists-device "no object with path $DEV"
  show_file /tmp/mon95.json
fi
check_out monitor-json-fields '"iops":' '"mbps":' '"inflight":' '"errors":' '"lat_p50_us":' '"lat_p99_us":' \
  '"lat_max_us":' '"ring_used_bytes":' '"ring_size_bytes":' '"data_used_bytes":' '"data_size_bytes":'
up=$(jget /tmp/mon95.json $DEV up)
iops=$(jget /tmp/mon95.json $DEV iops)
mbps=$(jget /tmp/mon95.json $DEV mbps)
errs=$(jget /tmp/mon95.json $DEV errors)
p50=$(jget /tmp/mon95.json $DEV lat_p50_us)
p99=$(jget /tmp/mon95.json $DEV lat_p99_us)
pmax=$(jget /tmp/mon95.json $DEV lat_max_us)
ring=$(jget /tmp/mon95.json $DEV ring_size_bytes)
data=$(jget /tmp/mon95.json $DEV data_size_bytes)
ringu=$(jget /tmp/mon95.json $DEV ring_used_bytes)
datau=$(jget /tmp/mon95.json $DEV data_used_bytes)
check monitor-up test "$up" = true
check monitor-no-errors test "$errs" = 0
if is "$iops > 0" && is "$mbps > 0"; then
  pass monitor-rates "iops $iops, MB/s $mbps under load"
else
  fail monitor-rates "iops '$iops', MB/s '$mbps' under load"
fi
if is "$p50 > 0" && is "$p50 <= $p99" && is "$p99 <= $pmax"; then
  pass monitor-latency "p50 $p50 <= p99 $p99 <= max $pmax us"
else
  fail monitor-latency "p50 '$p50' p99 '$p99' max '$pmax'"
fi
if is "$ringu <= $ring" && is "$datau <= $data"; then
  pass monitor-used-within-size "ring $ringu/$ring, data $datau/$data"
else
  fail monitor-used-within-size "ring $ringu/$ring, data $datau/$data"
fi

# The snapshot's two readings (1 s apart) fall between the two `stats`:
# its rates cannot exceed what the daemon counted between those.
ca=$(jget /tmp/stats95a.json $DEV commands)
cb=$(jget /tmp/stats95b.json $DEV commands)
ba=$(($(jget /tmp/stats95a.json $DEV read_bytes) + $(jget /tmp/stats95a.json $DEV write_bytes)))
bb=$(($(jget /tmp/stats95b.json $DEV read_bytes) + $(jget /tmp/stats95b.json $DEV write_bytes)))
if [ -n "$ca" ] && [ -n "$cb" ] && is "$iops <= $cb - $ca" && is "$mbps * 1000000 <= $bb - $ba"; then
  pass monitor-rates-vs-stats "iops $iops <= $((cb - ca)) commands, $mbps MB/s <= $((bb - ba)) bytes counted around it"
else
  fail monitor-rates-vs-stats "iops $iops, MB/s $mbps; stats: commands $ca -> $cb, bytes $ba -> $bb"
fi
wb=$(jget /tmp/stats95b.json $DEV write_bytes)
if is "$ca >= 128" && is "$wb >= 4 * $MIB"; then
  pass stats-counted-io "$ca commands before the snapshot, $wb bytes written"
else
  fail stats-counted-io "commands '$ca', write_bytes '$wb' after 4 MiB each way"
fi

# Sizes: the same as stats, and as the kernel made them. 6.1's ring is
# cmd_ring_size_mb MiB less the mailbox, its data area max_data_area_mb
# MiB, and the uio map both plus the mailbox.
check sizes-as-stats test "$ring/$data" = "$(jget /tmp/stats95b.json $DEV ring_size_bytes)/$(jget /tmp/stats95b.json $DEV data_size_bytes)"
suio=$(jget /tmp/stats95b.json $DEV uio)
check stats-uio-is-device test "$suio" = "$uio"
cmdr_mb=$(cat "$so/attrib/cmd_ring_size_mb" 2>/dev/null)
data_mb=$(cat "$so/attrib/max_data_area_mb" 2>/dev/null)
map=$(cat "/sys/class/uio/$uio/maps/map0/size" 2>/dev/null)
map=$((${map:-0}))
mbox=$((map - ring - data))
if [ -n "$data_mb" ] && [ "$data" = $((data_mb * MIB)) ]; then
  pass data-size-configfs "$data bytes = max_data_area_mb $data_mb MiB"
else
  fail data-size-configfs "data_size_bytes $data, max_data_area_mb '$data_mb'"
fi
if [ "$mbox" -gt 0 ] && [ "$mbox" -le 4096 ] && [ -n "$cmdr_mb" ] && [ $((ring + mbox)) = $((cmdr_mb * MIB)) ]; then
  pass ring-size-configfs "$ring bytes + $mbox (mailbox) = cmd_ring_size_mb $cmdr_mb MiB; uio map $map bytes"
else
  fail ring-size-configfs "ring $ring, data $data, uio map $map, cmd_ring_size_mb '$cmdr_mb'"
fi

# Idle: no rates, nothing in flight, and the ring empty (the tail has
# caught up with the head).
run timeout -s KILL 60 "$TCMSH" --kernel real --json monitor --once
check_rc monitor-idle-exit 0
printf '%s\n' "$OUT" >/tmp/mon95b.json
idle="$(jget /tmp/mon95b.json $DEV iops) $(jget /tmp/mon95b.json $DEV mbps) $(jget /tmp/mon95b.json $DEV inflight)"
idle="$idle $(jget /tmp/mon95b.json $DEV data_used_bytes) $(jget /tmp/mon95b.json $DEV ring_used_bytes)"
if [ "$idle" = "0 0 0 0 0" ]; then
  pass monitor-idle "iops, MB/s, inflight, data used, ring used all 0 (--json before the command)"
else
  fail monitor-idle "iops mbps inflight data_used ring_used: $idle"
fi

# Text: a table that names the device.
run timeout -s KILL 60 "$TCMSH" --kernel real monitor --once
check_rc monitor-once-text-exit 0
check_out monitor-once-text "DEVICE" "IOPS" "RING" "$DEV"
if printf '%s\n' "$OUT" | grep -q "^$DEV  *yes "; then
  pass monitor-once-text-up "$DEV yes"
else
  fail monitor-once-text-up "no line '$DEV  yes'"
fi

# No terminal: the full-screen faces refuse (2) and say what scripts use.
for c in ui monitor "ui monitor"; do
  n=$(echo "$c" | tr ' ' -)
  # shellcheck disable=SC2086
  run timeout -s KILL 30 "$TCMSH" --kernel real $c </dev/null
  check_rc "$n-no-tty-exit" 2
  check_out "$n-no-tty-message" "needs a terminal" "monitor --once"
done
run_in monitor timeout -s KILL 30 "$TCMSH" --kernel real
check_rc batch-monitor-exit 1
check_out batch-monitor-message "line 1:" "monitor --once"
run timeout -s KILL 30 "$TCMSH" --kernel real monitor --json </dev/null
check_out monitor-json-needs-once "monitor --once --json"
find "$LIO" | sort >/tmp/lio95a
run timeout -s KILL 30 "$TCMSH" demo </dev/null
check_rc demo-no-tty-exit 2
check_out demo-no-tty-message "needs a terminal" "monitor --once"
find "$LIO" | sort >/tmp/lio95b
check demo-no-tty-lio-untouched cmp /tmp/lio95a /tmp/lio95b

# On a pseudo-terminal (util-linux `script` in the Debian userland): the
# live monitor shows the device; q quits (0) and leaves the alternate
# screen. The chroot has its own /run: the daemon's socket is bound in.
# tty95 LOG COMMAND: runs COMMAND on an 80x24 pseudo-terminal, waits up to
# 60 s for TEXT in what it shows, sends q, waits up to 30 s for the end;
# sets TRC (its exit status, 124 when it did not end) and SCREEN (the screen
# output without escape sequences).
tty95() {
  _log=$1 _text=$3
  rm -f /tmp/tty95.in "$_log"
  mkfifo /tmp/tty95.in
  deb env TERM=xterm-256color script -qefc "stty rows 24 cols 80; $2" /dev/null </tmp/tty95.in >"$_log" 2>&1 &
  _tp=$!
  exec 7>/tmp/tty95.in
  _i=0
  while ! strip "$_log" | grep -qF -- "$_text" && kill -0 "$_tp" 2>/dev/null && [ $_i -lt 600 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  sleep 1
  # (in a subshell: with the reader gone, SIGPIPE ends it, not the scenario)
  (printf q >&7) 2>/dev/null
  _i=0
  while kill -0 "$_tp" 2>/dev/null && [ $_i -lt 300 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  if kill -0 "$_tp" 2>/dev/null; then
    TRC=124
    for _p in /proc/[0-9]*; do
      case $(tr '\0' ' ' <"$_p/cmdline" 2>/dev/null) in
        "script -qefc"*) kill -KILL "${_p#/proc/}" 2>/dev/null ;;
      esac
    done
  else
    wait "$_tp"
    TRC=$?
  fi
  exec 7>&-
  rm -f /tmp/tty95.in
  SCREEN=$(strip "$_log")
  echo "  \$ (pty 80x24) $2"
  printf '%s\n' "$SCREEN" | head -n 30 | sed 's/^/    | /'
  echo "    (exit $TRC)"
}
if ! have_debian || [ ! -x "$DEBIAN_ROOT/usr/bin/script" ]; then
  skip tty-monitor "no util-linux script (run test/vm/run --debian)"
else
  mkdir -p "$DEBIAN_ROOT/run/tcmsh"
  mount -o bind /run/tcmsh "$DEBIAN_ROOT/run/tcmsh"
  # Pseudo-terminals need devpts at the chroot's /dev/pts; devtmpfs has no
  # pts directory for /init's mount, so it is made and mounted here.
  pts=
  if ! grep -q " $DEBIAN_ROOT/dev/pts devpts " /proc/mounts; then
    mkdir -p "$DEBIAN_ROOT/dev/pts"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$DEBIAN_ROOT/dev/pts" && pts=mounted
  fi
  check chroot-devpts grep -q " $DEBIAN_ROOT/dev/pts devpts " /proc/mounts
  tty95 /tmp/tty95.log "tcmsh --kernel real monitor" "${DEV#/backstores/}"
  if [ "$TRC" = 0 ]; then pass tty-monitor-exit "q quits, exit 0"; else fail tty-monitor-exit "exit $TRC"; fi
  case $SCREEN in
    *"${DEV#/backstores/}"*"$uio"* | *"$uio"*"${DEV#/backstores/}"*) pass tty-monitor-device "shows ${DEV#/backstores/} and $uio" ;;
    *) fail tty-monitor-device "the screen lacks ${DEV#/backstores/} or $uio" ;;
  esac
  check tty-monitor-left-alt-screen grep -qF '[?1049l' /tmp/tty95.log
  umount "$DEBIAN_ROOT/run/tcmsh"

  # demo on a terminal: the simulated kernel, the real one left alone.
  find "$LIO" | sort >/tmp/lio95a
  tty95 /tmp/tty95d.log "tcmsh demo" "user:fault/slow"
  case $SCREEN in
    *"leaves the real one alone"*) pass tty-demo-says-sim "the demo says it leaves the real LIO alone" ;;
    *) fail tty-demo-says-sim "no word of the real LIO" ;;
  esac
  case $TRC/$SCREEN in
    1/*"shared region: cannot allocate memory"*)
      # The simulated kernel maps each device's whole TCMU region (1 GiB
      # data area + 8 MiB ring) as shared anonymous memory, which the
      # kernel's overcommit heuristic refuses in a guest of 1 GiB.
      skip tty-demo "the simulated ring's 1 GiB + 8 MiB shared mapping does not fit this guest's memory"
      ;;
    *)
      if [ "$TRC" = 0 ]; then pass tty-demo-exit "q quits, exit 0"; else fail tty-demo-exit "exit $TRC"; fi
      case $SCREEN in
        *user:ram/r0*user:fault/slow* | *user:fault/slow*user:ram/r0*) pass tty-demo-devices "user:ram/r0, user:fault/slow" ;;
        *) fail tty-demo-devices "the demo's devices are not on the screen" ;;
      esac
      ;;
  esac
  find "$LIO" | sort >/tmp/lio95b
  check tty-demo-lio-untouched cmp /tmp/lio95a /tmp/lio95b
  check tty-demo-state-removed sh -c "! ls -d /tmp/tcmsh-demo-* 2>/dev/null"
  [ -z "$pts" ] || umount "$DEBIAN_ROOT/dev/pts"
fi

# Clean up: the LUN, the target and the backstore; then the monitor lists
# nothing, and the daemon stops.
run tc /loopback delete $NAA
check_rc loopback-delete 0
run tc /backstores/user:ram delete m95
check_rc ram-delete 0
check ram-deleted sh -c "! ls -d $LIO/core/user_*/m95 2>/dev/null"
run timeout -s KILL 60 "$TCMSH" --kernel real monitor --once --json
check_rc monitor-empty-exit 0
if [ "$OUT" = "[]" ]; then pass monitor-empty "[]"; else fail monitor-empty "not []"; fi
run timeout -s KILL 60 "$TCMSH" --kernel real monitor --once
check_out monitor-empty-text "No TCMU devices"
stop_serve serve-stops "$spid"
show_file /tmp/serve95.log 30
