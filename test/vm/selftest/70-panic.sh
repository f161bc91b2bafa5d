# shellcheck shell=sh
# Crashes the kernel: qemu exits (panic=1, -no-reboot) with no scenario end.
pass before-panic "about to crash the kernel"
echo c >/proc/sysrq-trigger
sleep 30
