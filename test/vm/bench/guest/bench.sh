# shellcheck shell=sh
# The real-kernel benchmark, guest side (test/vm/bench/run puts it into the
# guest as a scenario of test/vm/run, with its parameters, cref, raw and the
# tcmu-runner handler under /tcmsh-vm/bench). Prints one line per figure:
#   BENCH io <case>@<placement> <contender> iops=… mbps=… p50_us=… p99_us=… [syscalls_per_io=…] [cswitch_per_io=…] round=<r>
#   BENCH config <N> <step> <contender> seconds=… cpu_user=… cpu_sys=… [ops_per_object=…]
#   BENCH … skipped=<reason>
# (io lines carry their round; the host averages the rounds) and a check per
# contender's data verification, so that a wrong answer fails the run.
if ! have_debian; then
  skip_scenario "no Debian userland"
  return 0
fi
# shellcheck disable=SC1091
. /tcmsh-vm/bench/params
B=/tmp/bench # under /tmp: the Debian chroot sees the same files
mkdir -p $B/bin $B/cfg
cp /tcmsh-vm/bench/bin/* $B/bin/
chmod 755 $B/bin/*

up() { cut -d' ' -f1 /proc/uptime; }
# The run's time budget (seconds of guest clock for the whole bench): past
# it, what is left prints skipped=run-budget-spent instead of running.
BENCH_END=$(($(cut -d. -f1 /proc/uptime) + BUDGET))
remaining() { echo $((BENCH_END - $(cut -d. -f1 /proc/uptime))); }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# child_cpu: the user and system CPU clock ticks of this shell's children
# that have ended (cutime, cstime of /proc/PID/stat): before and after a
# step, what its processes spent in user space and in the kernel.
child_cpu() { sed 's/.*) //' /proc/$$/stat | awk '{ print $14, $15 }'; }
# cpu_fields BEFORE AFTER: " cpu_user=… cpu_sys=…" in seconds.
cpu_fields() {
  awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    printf " cpu_user=%.2f cpu_sys=%.2f", (y[1] - x[1]) / hz, (y[2] - x[2]) / hz }'
}
bench() { echo "BENCH $*"; }
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
# fio and the tools run in the Debian userland; /proc, /sys, /dev and /tmp are shared.
if deb_dbus; then pass dbus "system bus up"; else note "dbus-daemon did not start"; fi
note "bench: suites=[$SUITES] contenders=[$CONTENDERS] cases=[$CASES] placements=[$PLACEMENTS] runtime=${RUNTIME}s rounds=$ROUNDS size=${SIZE_MB}MiB n=[$NS]"
echo "BENCH-INFO kernel $(uname -r)"
echo "BENCH-INFO cpus $(grep -c ^processor /proc/cpuinfo) mem_mb $(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024))"
echo "BENCH-INFO debian $(cat $DEBIAN_ROOT/etc/debian_version)"
echo "BENCH-INFO fio $(deb fio --version)"
echo "BENCH-INFO targetcli $(deb dpkg-query -W -f '${Version}' targetcli-fb)"
echo "BENCH-INFO tcmu-runner $(deb dpkg-query -W -f '${Version}' tcmu-runner)"
echo "BENCH-INFO tcmsh $("$TCMSH" version 2>&1 | head -n1)${TCMSH_REV:+ (commit $TCMSH_REV)}"
[ -f /tcmsh-vm/bench/runner-built ] && echo "BENCH-INFO runner_handler $(cat /tcmsh-vm/bench/runner-built)"
echo "BENCH-INFO params suites=$SUITES; contenders=$CONTENDERS; cases=$CASES; placements=$PLACEMENTS; fio runtime ${RUNTIME}s (ramp ${RAMP}s); rounds $ROUNDS; ${SIZE_MB} MiB per contender; config N=$NS with $CONFIG_TOOLS"

# quiet SUITE: over two seconds before a suite, how busy the guest is and
# which tasks (kernel threads too) used the CPU: a suite is timed on an
# idle guest, and what an earlier suite left running shows here.
quiet() {
  # pid, name, user + system ticks of every task (one awk: a process per
  # task would itself be what runs)
  _ticks() {
    awk '{ l = $0; p = index(l, " ("); q = 0
      for (i = length(l); i > 0; i--) if (substr(l, i, 2) == ") ") { q = i; break }
      if (!p || !q) next
      split(substr(l, q + 2), f, " ")
      print substr(l, 1, p - 1), substr(l, p + 2, q - p - 2), f[12] + f[13] }' /proc/[0-9]*/stat 2>/dev/null |
      tr ' ' '_' | sed 's/_/ /; s/\(.*\)_/\1 /'
  }
  _ticks >$B/quiet0
  _c0=$(head -n1 /proc/stat)
  sleep 2
  _c1=$(head -n1 /proc/stat)
  _ticks >$B/quiet1
  _busy=$(printf '%s\n%s\n' "$_c0" "$_c1" | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; idle = $5 + $6 }
    NR == 1 { t0 = t; i0 = idle } NR == 2 { printf "%.1f", 100 * (1 - (idle - i0) / (t - t0)) }')
  echo "BENCH-INFO quiet-$1 busy ${_busy}% of the guest over 2 s; tasks that ran: $(awk 'NR == FNR { a[$1] = $3; next }
    ($1 in a) && $3 > a[$1] { printf "%s%s(%s)=%d", (n++ ? "," : ""), $2, $1, $3 - a[$1] }' $B/quiet0 $B/quiet1)"
}

# ---------------------------------------------------------------- io ----
NAA=naa.5001405bec000001
NEXUS=naa.5001405bec000002
TPG=$LIO/loopback/$NAA/tpgt_1
BYTES=$((SIZE_MB * 1048576))
SOCK=/run/tcmsh/control.sock
spid=
rpid=

# so_dir CONTENDER: the configfs directory of its storage object.
so_name() {
  case $1 in
    rd_mcp) echo b_rd ;; fileio) echo b_fileio ;; cref) echo b_cref ;; tcmu-runner) echo b_runner ;;
    user:ram) echo b_ram ;; user:file) echo b_file ;; user:null) echo b_null ;; user:ram-nostats) echo b_ramns ;;
  esac
}
# handler_pid CONTENDER: the process that serves it (none for the kernel's own).
handler_pid() {
  case $1 in
    cref) cat $B/cref.pid ;; tcmu-runner) echo "$rpid" ;; user:*) echo "$spid" ;;
  esac
}

# user_so IDX NAME CONFIG: a user backstore made through configfs (for the
# handlers that are not tcmsh), with netlink replies off where nobody
# answers them.
user_so() {
  _d=$LIO/core/user_$1/$2
  mkdir -p "$_d" || return 1
  echo "dev_config=$3" >"$_d/control" || return 1
  echo "dev_size=$BYTES" >"$_d/control" || return 1
  [ -z "$4" ] || echo "nl_reply_supported=$4" >"$_d/control" || return 1
  echo 1 >"$_d/enable"
}

# contender_up C IDX: makes C's storage object (and its handler), prints
# nothing; returns 1 (with a reason in $WHY) when it cannot run.
contender_up() {
  WHY=
  case $1 in
    rd_mcp)
      d=$LIO/core/rd_mcp_$2/b_rd
      mkdir -p $d && echo "rd_pages=$((BYTES / 4096))" >$d/control && echo 1 >$d/enable ||
        { WHY=configfs-refused; return 1; }
      ;;
    fileio)
      dd if=/dev/zero of=$B/fileio.img bs=1M count=0 seek="$SIZE_MB" 2>/dev/null
      d=$LIO/core/fileio_$2/b_fileio
      mkdir -p $d && echo "fd_dev_name=$B/fileio.img,fd_dev_size=$BYTES" >$d/control &&
        echo 1 >$d/enable || { WHY=configfs-refused; return 1; }
      ;;
    cref)
      user_so "$2" b_cref cref/ -1 || { WHY=configfs-refused; return 1; }
      $B/bin/cref b_cref $BYTES >$B/cref.out 2>&1 &
      echo $! >$B/cref.pid
      _i=0
      until grep -q serving $B/cref.out 2>/dev/null; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] && kill -0 "$(cat $B/cref.pid)" 2>/dev/null ||
          { WHY=cref-did-not-start; show_file $B/cref.out; return 1; }
        sleep 0.1
      done
      ;;
    tcmu-runner)
      if [ ! -f $B/bin/handler_benchfile.so ]; then
        WHY=$(cat /tcmsh-vm/bench/runner-skip 2>/dev/null || echo no-handler-built)
        return 1
      fi
      mkdir -p $B/runner
      cp $B/bin/handler_benchfile.so $B/runner/
      dd if=/dev/zero of=$B/runner.img bs=1M count=0 seek="$SIZE_MB" 2>/dev/null
      # (Not through the deb function: a function in the background is a
      # subshell, and its pid would not be tcmu-runner's.)
      mkdir -p $B/runner-log
      chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        tcmu-runner --handler-path $B/runner --tcmu-log-dir $B/runner-log >$B/runner.out 2>&1 &
      rpid=$!
      _i=0
      while [ $_i -lt 40 ] && kill -0 "$rpid" 2>/dev/null; do
        deb dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
          org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 2>/dev/null |
          grep -q 'boolean true' && break
        sleep 0.5
        _i=$((_i + 1))
      done
      kill -0 "$rpid" 2>/dev/null || { WHY=tcmu-runner-exited; show_file $B/runner.out; return 1; }
      user_so "$2" b_runner "benchfile/$B/runner.img" "" || { WHY=enable-refused; show_file $B/runner-log/tcmu-runner.log; return 1; }
      ;;
    user:*)
      if [ -z "$spid" ]; then
        serve_start on || { WHY=serve-did-not-start; return 1; }
      fi
      case $1 in
        user:ram) out=$(tc /backstores/user:ram create b_ram "${SIZE_MB}M" 2>&1) ;;
        user:file) out=$(tc /backstores/user:file create b_file "${SIZE_MB}M" $B/ufile.img 2>&1) ;;
        user:null) out=$(tc /backstores/user:null create b_null "${SIZE_MB}M" 2>&1) ;;
        user:ram-nostats) out=$(tc /backstores/user:ram create b_ramns "${SIZE_MB}M" 2>&1) ;;
      esac || { WHY=create-refused; echo "$out"; return 1; }
      d=$(lio_so user "$(so_name "$1")") || { WHY=no-storage-object; return 1; }
      holds_uio "$spid" "$(so_name "$1")" || { WHY=not-served; return 1; }
      ;;
  esac
  return 0
}

# serve_start on|off: starts tcmsh serve (for every user: contender), with
# per-command statistics on or off (--stats=false: user:ram-nostats).
serve_start() {
  _sf=
  [ "$1" = off ] && _sf=--stats=false
  "$TCMSH" --kernel real serve --socket "$SOCK" --log-file $B/serve.log $_sf >$B/serve.out 2>&1 &
  spid=$!
  serve_stats=$1
  wait_serve "serve-started-stats-$1" "$spid" $B/serve.out || { spid=; return 1; }
}

# serve_for C: the daemon in the mode contender C needs (statistics off for
# user:ram-nostats, on for the other user: contenders), restarted if it is
# not; it serves every user backstore again before this returns.
serve_for() {
  case $1 in
    user:ram-nostats) _want=off ;;
    user:*) _want=on ;;
    *) return 0 ;;
  esac
  [ -n "$spid" ] && [ "$serve_stats" = "$_want" ] && return 0
  if [ -n "$spid" ]; then
    kill -TERM "$spid" 2>/dev/null
    _i=0
    while kill -0 "$spid" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
  fi
  serve_start "$_want" || return 1
  for _x in $live; do
    case ${_x#*:} in
      user:*)
        _i=0
        until holds_uio "$spid" "$(so_name "${_x#*:}")"; do
          _i=$((_i + 1))
          [ $_i -lt 300 ] || { fail "reserve-${_x#*:}" "not served again after the restart"; return 1; }
          sleep 0.1
        done
        ;;
    esac
  done
}

# lun_up IDX C: exports C's storage object as loopback LUN IDX; prints its disk.
lun_up() {
  _so=
  for _d in "$LIO"/core/*/"$(so_name "$2")"; do [ -d "$_d" ] && _so=$_d; done
  [ -n "$_so" ] || return 1
  mkdir -p "$TPG/lun/lun_$1" && ln -s "$_so" "$TPG/lun/lun_$1/l_$1" || return 1
  _addr=$(cat "$TPG/address")
  _t=300
  while [ $_t -gt 0 ]; do
    for _b in /sys/class/scsi_disk/"$_addr:$1"/device/block/*; do
      [ -b "/dev/${_b##*/}" ] && echo "/dev/${_b##*/}" && return 0
    done
    sleep 0.1
    _t=$((_t - 1))
  done
  return 1
}

# fio_args CASE: the workload of a case.
fio_args() {
  case $1 in
    randread-qd1) echo "--rw=randread --bs=4k --iodepth=1" ;;
    randread-qd16) echo "--rw=randread --bs=4k --iodepth=16" ;;
    randwrite-qd16) echo "--rw=randwrite --bs=4k --iodepth=16" ;;
    seqread-1m) echo "--rw=read --bs=1M --iodepth=4" ;;
    seqwrite-1m) echo "--rw=write --bs=1M --iodepth=4" ;;
  esac
}

# run_fio CASE DISK PLACEMENT RAMP OUT: one timed fio run (JSON into OUT).
run_fio() {
  _pin=
  [ "$3" = pinned ] && _pin="taskset -c 1"
  # shellcheck disable=SC2046,SC2086
  timeout $((RUNTIME + $4 + 120)) chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    $_pin fio --name=b --filename="$2" --ioengine=libaio --direct=1 $(fio_args "$1") \
    --time_based --runtime="$RUNTIME" --ramp_time="$4" --norandommap --randrepeat=0 \
    --output-format=json --output="$5" >/dev/null 2>$5.err
}

# fio_fields JSON: "iops=… mbps=… p50_us=… p99_us=… ios=…" of the side
# (read or write) that did the work, from fio's pretty-printed JSON (awk,
# not Python: a Python start costs seconds under TCG).
fio_fields() {
  awk '
    function val(l) { sub(/^[^:]*: */, "", l); sub(/,$/, "", l); return l + 0 }
    /^ *"(read|write|trim|sync)" : \{/ { sec = $1; gsub(/[":]/, "", sec); next }
    /^ *"job_runtime"/ { sec = "" }
    sec != "" && /^ *"total_ios" :/ && !((sec, "ios") in v) { v[sec, "ios"] = val($0) }
    sec != "" && /^ *"iops" :/ && !((sec, "iops") in v) { v[sec, "iops"] = val($0) }
    sec != "" && /^ *"bw_bytes" :/ && !((sec, "bw") in v) { v[sec, "bw"] = val($0) }
    sec != "" && /^ *"50.000000" :/ && !((sec, "p50") in v) { v[sec, "p50"] = val($0) }
    sec != "" && /^ *"99.000000" :/ && !((sec, "p99") in v) { v[sec, "p99"] = val($0) }
    /^ *"error" : [1-9]/ { err = 1 }
    END {
      s = v["write", "ios"] > v["read", "ios"] ? "write" : "read"
      if (err || !((s, "iops") in v)) exit 1
      printf "iops=%.0f mbps=%.1f p50_us=%.0f p99_us=%.0f ios=%d\n", v[s, "iops"], v[s, "bw"] / 1e6, v[s, "p50"] / 1000, v[s, "p99"] / 1000, v[s, "ios"]
    }' "$1"
}

# place PID PLACEMENT: every thread of the handler on vCPU 1 (with fio) or free.
place() {
  [ -n "$1" ] || return 0
  if [ "$2" = pinned ]; then
    deb taskset -a -p -c 1 "$1" >/dev/null
  else
    deb taskset -a -p -c 0-"$(($(grep -c ^processor /proc/cpuinfo) - 1))" "$1" >/dev/null
  fi
}

# cswitches PID: voluntary + involuntary context switches of all its threads.
cswitches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# io_case R PLACEMENT C CASE DISK: one measured case, printed as a BENCH line.
io_case() {
  _hp=$(handler_pid "$3")
  _ramp=$RAMP
  [ "$4" = randread-qd1 ] && _ramp=0 # context switches are divided by every I/O
  _cs0=
  [ -n "$_hp" ] && _cs0=$(cswitches "$_hp")
  if ! run_fio "$4" "$5" "$2" "$_ramp" $B/fio.json; then
    bench io "$4@$2" "$3" "skipped=fio-failed round=$1"
    sed 's/^/    | /' $B/fio.json.err | head -n 5
    return 0
  fi
  _cs1=
  [ -n "$_hp" ] && _cs1=$(cswitches "$_hp")
  _f=$(fio_fields $B/fio.json) || {
    bench io "$4@$2" "$3" "skipped=fio-output-unreadable round=$1"
    return 0
  }
  _ios=${_f##*ios=}
  _f=${_f% ios=*}
  _extra=
  if [ "$4" = randread-qd1 ] && [ -n "$_hp" ] && [ "$_ios" -gt 0 ]; then
    # Syscalls per I/O: counted (syscalls_run) during a second, untimed
    # fio run of the same case.
    # (Once per placement, in the first round: a traced run costs as much
    # as two cases, and the count hardly varies.)
    if [ "$1" = 1 ]; then
      _sc=$(syscalls_run "$2" "$5" "$_hp")
      [ -n "$_sc" ] && _extra=" syscalls_per_io=$_sc"
    fi
    [ "${TRACE:-0}" = 1 ] && trace_run "$2" "$5" "$_hp" "$3"
    _extra="$_extra cswitch_per_io=$(awk -v a="$_cs0" -v b="$_cs1" -v n="$_ios" 'BEGIN { printf "%.2f", (b - a) / n }')"
  fi
  bench io "$4@$2" "$3" "$_f$_extra round=$1 up=$(up)"
}

# syscalls_run PLACEMENT DISK PID: syscalls per I/O of the handler PID over a
# randread QD 1 run, counted by the kernel's syscall tracepoint (perf stat
# -e raw_syscalls:sys_enter, every thread of the process). strace -c stops
# the threads at each syscall: an I/O then takes 10-70 ms instead of well
# under one, and a handler whose runtime has timers of its own (Go's
# scheduler monitor, the ring thread's 5 ms yield) is charged for the
# tracer's slowness. Where perf cannot count, strace -c -f is the fallback
# and the figure says so (syscalls_by=strace).
syscalls_run() {
  [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
  rm -f $B/perf.txt
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    perf stat -e raw_syscalls:sys_enter -x, -o $B/perf.txt -p "$3" 2>$B/perf.err &
  _pp=$!
  sleep 0.5
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-syscalls.json
  _rc=$?
  kill -INT $_pp 2>/dev/null
  _i=0
  while kill -0 $_pp 2>/dev/null && [ $_i -lt 100 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  kill -KILL $_pp 2>/dev/null
  wait $_pp
  [ $_rc = 0 ] || return 0
  _n=$(fio_fields $B/fio-syscalls.json)
  _n=${_n##*ios=}
  _calls=$(awk -F, '$3 ~ /raw_syscalls:sys_enter/ && $1 ~ /^[0-9]+$/ { print $1 }' $B/perf.txt 2>/dev/null)
  if [ -n "$_calls" ] && [ "${_n:-0}" -gt 0 ]; then
    awk -v c="$_calls" -v n="$_n" 'BEGIN { printf "%.1f", c / n }'
    return 0
  fi
  note "perf stat could not count the handler's syscalls ($(head -c 200 $B/perf.err | tr '\n' ' ')): strace -c instead"
  _sc=$(strace_run "$1" "$2" "$3")
  [ -n "$_sc" ] && printf '%s syscalls_by=strace' "$_sc"
}

# strace_run PLACEMENT DISK PID: syscalls per I/O of the handler PID over a
# randread QD 1 run with strace -c -f attached (syscalls_run's fallback).
strace_run() {
  rm -f $B/strace.txt
  # strace itself in the background (not a subshell: its pid is needed),
  # stopped with SIGTERM (a background job ignores SIGINT); it detaches and
  # writes its summary.
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    strace -c -f -p "$3" -o $B/strace.txt 2>$B/strace.err &
  _st=$!
  sleep 1
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-strace.json
  _rc=$?
  kill -TERM $_st 2>/dev/null
  _i=0
  while kill -0 $_st 2>/dev/null && [ $_i -lt 300 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  kill -KILL $_st 2>/dev/null
  wait $_st
  [ $_rc = 0 ] || return 0
  _n=$(fio_fields $B/fio-strace.json)
  _n=${_n##*ios=}
  _calls=$(awk '$NF == "total" { print $4 }' $B/strace.txt)
  [ -n "$_calls" ] && [ "${_n:-0}" -gt 0 ] &&
    awk -v c="$_calls" -v n="$_n" 'BEGIN { printf "%.1f", c / n }'
}

# thread_switches PID: "tid comm voluntary involuntary" per thread.
thread_switches() {
  for _t in /proc/"$1"/task/*; do
    echo "${_t##*/} $(cat "$_t"/comm) $(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { n = $2 } END { print v + 0, n + 0 }' "$_t"/status)"
  done 2>/dev/null
}

# trace_run PLACEMENT DISK PID CONTENDER (--trace): over 1 s of randread QD 1,
# each thread's context switches, then under strace -f -tt its syscalls by
# thread and name, and a slice of the trace itself, on the console.
trace_run() {
  note "trace $4@$1: pid $3, $(grep -c . /proc/"$3"/task/*/comm 2>/dev/null | wc -l) threads, $(grep Cpus_allowed_list /proc/"$3"/status)"
  thread_switches "$3" >$B/ts0
  _rt=$RUNTIME
  RUNTIME=1
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-trace.json
  thread_switches "$3" >$B/ts1
  note "trace $4@$1: $(fio_fields $B/fio-trace.json); per thread (tid comm vol invol) over that run:"
  awk 'NR == FNR { v[$1] = $3; n[$1] = $4; next } { dv = $3 - v[$1]; dn = $4 - n[$1]; if (dv + dn > 0) print "    | " $1, $2, dv, dn }' $B/ts0 $B/ts1
  # The same count from the kernel's syscall tracepoint (perf stat): it
  # does not stop the threads at each syscall as strace does.
  [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
  rm -f $B/perf.txt
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    perf stat -e raw_syscalls:sys_enter -x, -o $B/perf.txt -p "$3" 2>$B/perf.err &
  _pp=$!
  sleep 1
  RUNTIME=1
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-perf.json
  kill -INT $_pp 2>/dev/null
  _i=0
  while kill -0 $_pp 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
  note "trace $4@$1 under perf stat: $(fio_fields $B/fio-perf.json); $(grep -v '^#' $B/perf.txt | grep . | tr '\n' ' ') $(head -c 300 $B/perf.err)"
  thread_syscalls "$1" "$2" "$3" "$4"
  rm -f $B/trace.txt
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    strace -f -tt -qq -p "$3" -o $B/trace.txt 2>$B/strace.err &
  _st=$!
  sleep 1
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-trace.json
  kill -TERM $_st 2>/dev/null
  _i=0
  while kill -0 $_st 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
  kill -KILL $_st 2>/dev/null
  wait $_st
  RUNTIME=$_rt
  note "trace $4@$1 under strace: $(fio_fields $B/fio-trace.json); syscalls by thread and name:"
  awk '{ c = $3; sub(/\(.*/, "", c); if ($3 ~ /^<\.\.\./) { c = $4; } else if (c ~ /^[a-z_0-9]+$/) n[$1 " " c]++ } END { for (k in n) print "    | " k, n[k] }' $B/trace.txt | sed "s/^    | //" | sort -k1,1n -k3,3nr | sed "s/^/    | /" | head -n 40
  note "trace $4@$1: 60 lines from the middle of the trace:"
  _l=$(wc -l <$B/trace.txt)
  sed -n "$((_l / 2)),$((_l / 2 + 60))p" $B/trace.txt | cut -c1-160 | sed 's/^/    | /'
}

# thread_syscalls PLACEMENT DISK PID CONTENDER (--trace): over 1 s of randread
# QD 1 under perf stat --per-thread (counting on the kernel's tracepoints:
# no thread is stopped as under strace), per thread the system calls of the
# kinds a handler makes and the wake-ups it performs, per I/O, on the
# console.
thread_syscalls() {
  _ev=sched:sched_wakeup,sched:sched_switch
  for _s in read write pread64 pwrite64 preadv pwritev pwritev2 futex clock_gettime nanosleep clock_nanosleep \
    sched_yield epoll_pwait getpid gettid tgkill rt_sigreturn madvise mmap; do
    [ -d /sys/kernel/tracing/events/syscalls/sys_enter_$_s ] && _ev=$_ev,syscalls:sys_enter_$_s
  done
  rm -f $B/perft.txt
  chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    perf stat --per-thread -e "$_ev" -x, -o $B/perft.txt -p "$3" 2>$B/perft.err &
  _pp=$!
  sleep 1
  RUNTIME=1
  run_fio randread-qd1 "$2" "$1" 0 $B/fio-rec.json
  kill -INT $_pp 2>/dev/null
  _i=0
  while kill -0 $_pp 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
  _ios=$(fio_fields $B/fio-rec.json | sed -n 's/.*ios=\([0-9]*\).*/\1/p')
  note "trace $4@$1 under perf stat --per-thread: $(fio_fields $B/fio-rec.json); per I/O, by thread (sched_wakeup: wake-ups it made):"
  awk -F, -v ios="${_ios:-1}" '$2 ~ /^[0-9]+$/ && $2 > 0 { e = $4; sub(/.*:(sys_enter_)?/, "", e); printf "    | %s %s %.2f\n", $1, e, $2 / ios }' $B/perft.txt |
    sort -k2,2 -k4,4nr
  head -c 300 $B/perft.err
}

# verify C DISK: the data path is right: fio writes random 4 KiB blocks all
# over the disk and reads each back (crc32c); user:null keeps nothing, so
# there a read must return zeroes.
verify() {
  if [ "$1" = user:null ]; then
    dd if=/dev/zero of=$B/zero1m bs=1M count=1 2>/dev/null
    if dd if="$2" bs=1M count=1 skip=$((SIZE_MB / 2)) iflag=direct 2>/dev/null | cmp -s - $B/zero1m; then
      pass "verify-$1" "reads zeroes (null keeps nothing)"
    else
      fail "verify-$1" "user:null read something other than zeroes"
    fi
    return
  fi
  if timeout 600 chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    fio --name=verify --filename="$2" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \
    --iodepth=8 --io_size="${VERIFY_MB}M" --verify=crc32c --do_verify=1 --verify_fatal=1 \
    --output-format=terse >$B/verify.out 2>&1; then
    pass "verify-$1" "fio crc32c verify of ${VERIFY_MB} MiB of random 4 KiB writes over the disk"
  else
    fail "verify-$1" "fio verify failed"
    sed 's/^/    | /' $B/verify.out | tail -n 5
  fi
}

io_suite() {
  mkdir -p "$TPG" && echo "$NEXUS" >"$TPG/nexus" || { fail io-loopback "no loopback target"; return; }
  live=
  idx=0
  for c in $CONTENDERS; do
    idx=$((idx + 1))
    t0=$(up)
    if ! contender_up "$c" "$idx"; then
      for pl in $PLACEMENTS; do for k in $CASES; do bench io "$k@$pl" "$c" "skipped=$WHY"; done; done
      note "contender $c skipped: $WHY"
      continue
    fi
    if ! disk=$(lun_up "$idx" "$c"); then
      for pl in $PLACEMENTS; do for k in $CASES; do bench io "$k@$pl" "$c" "skipped=no-disk"; done; done
      fail "disk-$c" "no disk for loopback LUN $idx"
      case $c in user:*) tail -n 20 $B/serve.log 2>/dev/null | sed 's/^/    | /' ;; esac
      dmesg | tail -n 10 | sed 's/^/    | /'
      continue
    fi
    # Written once end to end before anything is measured.
    if timeout 900 chroot "$DEBIAN_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      fio --name=fill --filename="$disk" --ioengine=libaio --direct=1 --rw=write --bs=1M \
      --iodepth=4 --output-format=terse >$B/fill.out 2>&1; then
      pass "fill-$c" "$disk written end to end ($SIZE_MB MiB) in $(elapsed "$t0" "$(up)") s with setup"
    else
      fail "fill-$c" "fio could not write $disk"
      sed 's/^/    | /' $B/fill.out | tail -n 5
      continue
    fi
    eval "disk_$idx=$disk"
    live="$live $idx:$c"
  done
  # Two (or --rounds) rounds; even rounds take the contenders in reverse.
  r=1
  while [ $r -le "$ROUNDS" ]; do
    order=$live
    if [ $((r % 2)) = 0 ]; then
      order=
      for x in $live; do order="$x $order"; done
    fi
    for pl in $PLACEMENTS; do
      for x in $order; do
        i=${x%%:*}
        c=${x#*:}
        eval "disk=\$disk_$i"
        if [ "$(remaining)" -lt 60 ]; then
          for k in $CASES; do bench io "$k@$pl" "$c" "skipped=run-budget-spent round=$r"; done
          continue
        fi
        serve_for "$c"
        hp=$(handler_pid "$c")
        place "$hp" "$pl"
        for k in $CASES; do
          # Statistics cost per command: the 4 KiB cases tell it.
          case $c/$k in
            user:ram-nostats/seq*) bench io "$k@$pl" "$c" "skipped=4k-cases-only round=$r" ;;
            *) io_case "$r" "$pl" "$c" "$k" "$disk" ;;
          esac
        done
      done
    done
    # The end of each contender's run in this round: its data is checked.
    for x in $order; do
      i=${x%%:*}
      eval "disk=\$disk_$i"
      verify "${x#*:}" "$disk"
    done
    r=$((r + 1))
  done
  # Take everything down: LUNs, then handlers, then storage objects.
  for l in "$TPG"/lun/lun_*; do
    rm -f "$l"/l_* 2>/dev/null
    rmdir "$l" 2>/dev/null
  done
  rmdir "$TPG" "$LIO/loopback/$NAA" 2>/dev/null
  for c in user:ram user:file user:null user:ram-nostats; do
    has "$CONTENDERS" "$c" && [ -n "$spid" ] && tc /backstores/"${c%-nostats}" delete "$(so_name "$c")" >/dev/null 2>&1
  done
  [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null
  [ -f $B/cref.pid ] && kill "$(cat $B/cref.pid)" 2>/dev/null
  [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
  sleep 1
  for d in "$LIO"/core/*/b_*; do [ -d "$d" ] && rmdir "$d"; done
  for d in "$LIO"/core/*_*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  rm -f $B/*.img
}

# ------------------------------------------------------------ config ----
IQN=iqn.2003-01.org.example.bench:t1
INIT=iqn.1994-05.com.example:bench-init

# batch N FILE: N fileio backstores, one iSCSI target, N LUNs, one ACL
# (its mapped LUNs are added for every LUN), in targetcli syntax.
make_batch() {
  : >"$2"
  _i=1
  while [ $_i -le "$1" ]; do
    echo "/backstores/fileio create f$_i $B/cfg/f$_i.img 1M" >>"$2"
    _i=$((_i + 1))
  done
  echo "/iscsi create $IQN" >>"$2"
  _i=1
  while [ $_i -le "$1" ]; do
    echo "/iscsi/$IQN/tpg1/luns create /backstores/fileio/f$_i" >>"$2"
    _i=$((_i + 1))
  done
  echo "/iscsi/$IQN/tpg1/acls create $INIT" >>"$2"
}

# step_cmd TOOL STEP N: the command line of one step (run with deb).
step_cmd() {
  case $1 in
    targetcli) _t="targetcli" ;;
    tcmsh) _t="tcmsh --kernel real" ;;
    raw) _t="$B/bin/raw" ;;
  esac
  case $1/$2 in
    raw/bulk) echo "$_t create $3 $B/cfg" ;;
    raw/ls) echo "$_t ls" ;;
    raw/ls-backstores) echo "$_t ls-backstores" ;;
    raw/saveconfig) echo "$_t save $B/cfg/raw.save" ;;
    raw/clearconfig) echo "$_t clear" ;;
    raw/restoreconfig) echo "$_t restore $B/cfg/raw.save" ;;
    */bulk) echo "$_t" ;; # the batch file on stdin
    */ls) echo "$_t ls" ;;
    */ls-backstores) echo "$_t ls /backstores" ;;
    */saveconfig) echo "$_t saveconfig $B/cfg/$1.json" ;;
    targetcli/clearconfig) echo "$_t clearconfig confirm=True" ;;
    */clearconfig) echo "$_t clearconfig confirm=true" ;;
    */restoreconfig) echo "$_t restoreconfig $B/cfg/$1.json" ;;
  esac
}

# lio_empty: no iSCSI target and no storage object left in configfs (HBA
# directories are named <plugin>_<n>; core/alua is a default group).
lio_empty() {
  [ -z "$(find "$LIO"/iscsi -mindepth 1 -maxdepth 1 -type d ! -name discovery_auth 2>/dev/null)" ] &&
    [ -z "$(find "$LIO"/core -mindepth 2 -maxdepth 2 -type d -path "$LIO/core/*_*/*" 2>/dev/null)" ]
}

# tree_whole N: the benchmark's tree is all there (N storage objects, N
# LUNs, N mapped LUNs in the ACL), so that the listing, saving and
# clearing steps after bulk (and after restoreconfig) time the whole of it;
# otherwise prints what is there.
tree_whole() {
  _so=$(find "$LIO"/core -mindepth 2 -maxdepth 2 -type d -path "$LIO/core/fileio_*/*" | wc -l)
  _luns=$(find "$LIO/iscsi/$IQN/tpgt_1/lun" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
  _mapped=$(find "$LIO/iscsi/$IQN/tpgt_1/acls/$INIT" -mindepth 1 -maxdepth 1 -type d -name 'lun_*' 2>/dev/null | wc -l)
  [ "$_so" = "$1" ] && [ "$_luns" = "$1" ] && [ "$_mapped" = "$1" ] && return 0
  echo "storage-objects=$_so luns=$_luns mapped-luns=$_mapped"
  return 1
}

# wait_by TRACE: seconds spent inside each kind of configfs syscall (strace
# -T), the largest first: where the kernel makes a step wait (its grace
# periods, kthreads, flushes) rather than compute. A call another thread
# split counts on its "resumed" half, which carries the time, when its
# first half named a configfs path.
wait_by() {
  awk '{ pid = $1; l = $0; sub(/^[0-9]+ +/, "", l)
    if (l ~ /<unfinished \.\.\.>$/) {
      if (l ~ /\/sys\/kernel\/config/) { name = l; sub(/\(.*/, "", name); open[pid] = name }
      next
    }
    if (!match(l, /<[0-9.]+>$/)) next
    t = substr(l, RSTART + 1, RLENGTH - 2)
    if (l ~ /^<\.\.\. [a-z_0-9]+ resumed>/) {
      split(l, a, " ")
      if (open[pid] != a[2]) next
      name = a[2]; delete open[pid]
    } else if (l ~ /\/sys\/kernel\/config/) { name = l; sub(/\(.*/, "", name) }
    else next
    s[name] += t }
    END { for (k in s) printf "%s %.2f\n", k, s[k] }' "$1" | sort -k2,2 -rn | head -n 6 |
    awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $1, $2 }'
}

# config_tool N TOOL TRACE: the six steps; TRACE=1 runs them under strace
# and prints ops_per_object instead of timing them.
config_tool() {
  _n=$1
  _objects=$((3 * _n + 2)) # N backstores, N LUNs, N mapped LUNs, the target, the ACL
  # _skip: once a step cannot be run (budget spent, timeout), why; every
  # later step of this tool and N still prints its line, skipped for that.
  _skip=
  for st in bulk ls ls-backstores saveconfig clearconfig restoreconfig; do
    if [ -n "$_skip" ]; then
      [ "$3" = 1 ] || bench config "$_n" "$st" "$2" "skipped=$_skip"
      continue
    fi
    _cmd=$(step_cmd "$2" "$st" "$_n")
    _in=/dev/null
    [ "$st" = bulk ] && _in=$B/cfg/batch-$_n
    _trace=
    # Only file and descriptor syscalls, filtered in the kernel
    # (--seccomp-bpf): the rest of a Python start is not slowed down.
    # -T: the time inside each call, to see where the kernel waits.
    [ "$3" = 1 ] && _trace="strace -f -T --seccomp-bpf -e trace=%file,%desc -y -qq -o $B/cfg/trace-$2-$st.txt"
    _lim=$STEP_TIMEOUT
    [ "$(remaining)" -lt "$_lim" ] && _lim=$(remaining)
    if [ "$_lim" -lt 10 ]; then
      [ "$3" = 1 ] || bench config "$_n" "$st" "$2" "skipped=run-budget-spent"
      note "config $2 N=$_n $st: the run's time budget is spent"
      _skip=run-budget-spent
      continue
    fi
    c0=$(child_cpu)
    t0=$(up)
    # shellcheck disable=SC2086
    timeout "$_lim" chroot "$DEBIAN_ROOT" /usr/bin/env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8 \
      $_trace $_cmd <"$_in" >$B/cfg/out-$2-$st.txt 2>&1
    rc=$?
    t1=$(up)
    c1=$(child_cpu)
    _what=
    # (busybox timeout: 143 after its SIGTERM; coreutils': 124)
    case $rc in 124 | 137 | 143) _what="timeout-after-${_lim}s" ;; esac
    [ -z "$_what" ] && [ $rc != 0 ] && _what="exit-$rc"
    if [ -n "$_what" ] && [ "$3" = 1 ]; then
      # The traced pass counts operations; its failure names the step, no figure.
      note "config $2 N=$_n $st under strace: $_what"
      case $_what in timeout-*) ;; *) fail "config-ops-$2-$st" "$_what: $_cmd" ;; esac
      sed 's/^/    | /' $B/cfg/out-$2-$st.txt | tail -n 8
      return 1
    fi
    case $rc in 124 | 137 | 143)
      # Too slow to measure here is a finding, not a failure of the bench.
      bench config "$_n" "$st" "$2" "skipped=timeout-after-${_lim}s"
      note "config $2 N=$_n $st: not done after ${_lim}s; its remaining steps are not run"
      _skip=after-$st-timeout
      continue
      ;;
    esac
    if [ $rc != 0 ]; then
      bench config "$_n" "$st" "$2" "skipped=exit-$rc"
      fail "config-$2-$_n-$st" "exit $rc: $_cmd"
      sed 's/^/    | /' $B/cfg/out-$2-$st.txt | tail -n 8
      return 1
    fi
    # A step that exits 0 but leaves part of the tree out would time less
    # than the whole (and the steps after it too): it ends the tool's run.
    case $st in bulk | restoreconfig)
      if ! _have=$(tree_whole "$_n"); then
        [ "$3" = 1 ] || bench config "$_n" "$st" "$2" "skipped=tree-incomplete"
        fail "config-$2-$_n-$st" "exit 0 but the tree is not whole: $_have"
        return 1
      fi
      ;;
    esac
    if [ "$3" = 1 ]; then
      # Every syscall on a configfs path or file descriptor (strace -y
      # names the fd's path), the resumption of a split one not twice.
      _ops=$(grep -v 'resumed>' $B/cfg/trace-$2-$st.txt | grep -c '/sys/kernel/config')
      echo "BENCH-OPS $_n $st $2 ops=$_ops objects=$_objects by=$(grep -v 'resumed>' $B/cfg/trace-$2-$st.txt |
        grep '/sys/kernel/config' | sed 's/^[0-9]* *//; s/(.*//' | sort | uniq -c | sort -rn | awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 }') wait_by=$(wait_by $B/cfg/trace-$2-$st.txt)"
      rm -f $B/cfg/trace-$2-$st.txt
    else
      bench config "$_n" "$st" "$2" "seconds=$(elapsed "$t0" "$t1")$(cpu_fields "$c0" "$c1")"
    fi
  done
  [ -z "$_skip" ] || return 1
  pass "config-$2-$_n" "six steps"
}

# config_reset: what a tool's restoreconfig (or a failed step) left goes,
# untimed, with raw (the quickest way), so the next tool starts empty.
config_reset() {
  timeout 300 $B/bin/raw clear >/dev/null 2>&1
  lio_empty || note "config: LIO not empty after raw clear"
  rm -f $B/cfg/*.img
}

config_suite() {
  config_reset
  first=1
  for n in $NS; do
    make_batch "$n" $B/cfg/batch-"$n"
    for tool in $CONFIG_TOOLS; do
      if [ "$tool" = targetcli ] && [ "$n" -gt 200 ]; then
        continue # targetcli-fb at 1,000 objects takes too long to run here
      fi
      config_tool "$n" "$tool" 0
      config_reset
    done
    [ $first = 1 ] || continue
    first=0
    # configfs operations per object, counted at the smallest N (before the
    # larger ones, so that a run cut short still has them).
    for tool in $CONFIG_TOOLS; do
      has "$TRACE_TOOLS" "$tool" || continue
      config_tool "$n" "$tool" 1
      config_reset
    done
  done
}

if has "$SUITES" io; then quiet io; io_suite; fi
if has "$SUITES" config; then quiet config; config_suite; fi
echo "BENCH-DONE $(up)"
