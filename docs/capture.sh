#!/bin/sh
# Regenerates docs/demo.txt and docs/ui.txt: the screens of `tcmsh demo`
# (the monitor, after a few seconds of history) and of its browser with
# the tree opened on the demo's LUNs, at 100×30, as plain text read back
# from a tmux pane (capture-pane). Needs tmux and Go.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
sock="tcmsh-capture-$$"
t() { tmux -L "$sock" -f /dev/null "$@"; }
trap 't kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/tcmsh" .
t new-session -d -s cap -x 100 -y 30 "cd '$tmp' && ./tcmsh demo; sleep 60"
# Until the three devices show I/O (a loaded machine starts slowly), then
# a few seconds of sparklines.
i=0
until t capture-pane -p -t cap | grep -Eq 'user:ram/r0 +up +[1-9]'; do
  i=$((i+1)); [ $i -lt 300 ] || { echo "capture.sh: the demo shows no I/O" >&2; exit 1; }
  sleep 0.1
done
sleep 10
t capture-pane -p -t cap > docs/demo.txt
t send-keys -t cap b
sleep 1
for p in /backstores/user:fault/slow /loopback/naa.5001405dec0de001/luns/lun2; do
  t send-keys -t cap : C-u
  t send-keys -t cap -l "$p"
  t send-keys -t cap Enter
  sleep 1
done
t capture-pane -p -t cap > docs/ui.txt
t send-keys -t cap q
# The captures are published: no path of the machine that made them.
if grep -n "$tmp\|/home/\|/root" docs/demo.txt docs/ui.txt; then
  echo "capture.sh: a local path is on screen; choose another node" >&2
  exit 1
fi
echo "wrote docs/demo.txt and docs/ui.txt"
