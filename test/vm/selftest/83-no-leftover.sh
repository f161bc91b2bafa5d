# shellcheck shell=sh
# Runs after 82-leave-process: its background process is gone.
pid=$(cat /tmp/leftover.pid 2>/dev/null)
if [ -z "$pid" ]; then
  fail leftover-pid "82-leave-process left no pid file"
elif kill -0 "$pid" 2>/dev/null; then
  fail leftover-killed "pid $pid still runs"
else
  pass leftover-killed "pid $pid is gone"
fi
