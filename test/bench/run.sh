#!/bin/sh
# Scale benchmark on the simulated kernel: 1,000 fileio backstores and
# 1,000 LUNs on one TPG created in one batch, then the tree listed and
# saved; and the time from start to the first prompt.
#
#   test/bench/run.sh [N]        (N defaults to 1000)
#
# Prints seconds and objects per second for each phase. Needs Go, python3
# (for the pseudo-terminal of the prompt timing) and about 50 MB of disk
# under a temporary directory (the image files are sparse).
set -eu
N=${1:-1000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin="$work/tcmsh"
(cd "$repo" && go build -o "$bin" .)
state="$work/state"
export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/xdg-state"
run() { "$bin" --kernel=sim --sim-state="$state" "$@"; }

# seconds since the epoch, with nanoseconds
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
rate() { echo "$1 / $2" | bc -l; }

{
	echo "/iscsi create iqn.2003-01.org.example:bench"
	i=0
	while [ $i -lt "$N" ]; do
		echo "/backstores/fileio create d$i $work/d$i.img 1M"
		i=$((i + 1))
	done
} > "$work/backstores.tcmsh"
{
	echo "cd /iscsi/iqn.2003-01.org.example:bench/tpg1/luns"
	i=0
	while [ $i -lt "$N" ]; do
		echo "create /backstores/fileio/d$i $i add_mapped_luns=false"
		i=$((i + 1))
	done
} > "$work/luns.tcmsh"

t0=$(now)
run < "$work/backstores.tcmsh" > /dev/null
t1=$(now)
run < "$work/luns.tcmsh" > /dev/null
t2=$(now)
run ls > "$work/ls.txt"
t3=$(now)
run saveconfig "$work/saveconfig.json" > /dev/null
t4=$(now)
# The last commands of a full configuration cost what the first did.
printf '/backstores/fileio create extra %s/extra.img 1M\n/iscsi/iqn.2003-01.org.example:bench/tpg1/luns create /backstores/fileio/extra\n' "$work" > "$work/one.tcmsh"
t5=$(now)
run < "$work/one.tcmsh" > /dev/null
t6=$(now)

lines=$(wc -l < "$work/ls.txt")
printf 'objects: %d fileio backstores, %d LUNs on one TPG (simulated kernel)\n' "$N" "$N"
printf '%-34s %8.3f s %10.1f objects/s\n' "create $N backstores (batch)" "$(elapsed "$t0" "$t1")" "$(rate "$N" "$(elapsed "$t0" "$t1")")"
printf '%-34s %8.3f s %10.1f objects/s\n' "create $N LUNs (batch)" "$(elapsed "$t1" "$t2")" "$(rate "$N" "$(elapsed "$t1" "$t2")")"
printf '%-34s %8.3f s %10.1f lines/s\n' "ls (whole tree, $lines lines)" "$(elapsed "$t2" "$t3")" "$(rate "$lines" "$(elapsed "$t2" "$t3")")"
printf '%-34s %8.3f s %10.1f objects/s\n' "saveconfig" "$(elapsed "$t3" "$t4")" "$(rate "$((2 * N))" "$(elapsed "$t3" "$t4")")"
printf '%-34s %8.3f s\n' "one backstore + one LUN at $N" "$(elapsed "$t5" "$t6")"

# Start to first prompt, on a pseudo-terminal, with the full configuration.
python3 - "$bin" "$state" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
binary, state = sys.argv[1], sys.argv[2]
best = None
for _ in range(5):
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "--kernel=sim", "--sim-state=" + state])
    # go-prompt draws nothing on a terminal of size 0x0.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    buf = b""
    while b"/> " not in buf:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            break
        try:
            buf += os.read(fd, 4096)
        except OSError:
            break
    took = time.monotonic() - start
    os.write(fd, b"\x04")
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    best = took if best is None else min(best, took)
print("%-34s %8.3f s (best of 5)" % ("start to first prompt", best))
PY
