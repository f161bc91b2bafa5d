# shellcheck shell=sh
# Leaves a background process running; the harness must end it.
sleep 100000 &
echo $! >/tmp/leftover.pid
pass left-process "pid $(cat /tmp/leftover.pid)"
