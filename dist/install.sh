#!/bin/sh
# Installs tcmsh and its systemd units.
#
#   dist/install.sh [--binary PATH] [--no-enable] [--uninstall]
#
#   --binary PATH  the tcmsh binary to install (default: ./tcmsh, built
#                  with `go build -o tcmsh .` at the repository's root)
#   --no-enable    install the files only; do not enable or start units
#   --uninstall    stop and disable the units, remove what was installed
#                  (the saved configuration in /etc/target is kept)
#
# Environment: DESTDIR (stage into another root, for packaging; implies
# --no-enable), PREFIX (default /usr/local; the units name
# /usr/local/bin/tcmsh, and are rewritten to match another prefix).
#
# What it does:
#   install -m 0755 tcmsh       $PREFIX/bin/tcmsh
#   install -m 0644 *.service   /etc/systemd/system/
#   install -d -m 0700          /etc/target
#   install -m 0644 tcmsh-dbus.conf /usr/share/dbus-1/system.d/tcmsh.conf
#   systemctl daemon-reload
#   systemctl enable --now tcmsh.service
#   systemctl enable tcmsh-restore.service   (restores at next boot)
# tcmu-runner, if running, is stopped first: it would hold the uio devices.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
binary=./tcmsh
enable=yes
uninstall=no
while [ $# -gt 0 ]; do
	case $1 in
	--binary) binary=$2; shift 2 ;;
	--binary=*) binary=${1#--binary=}; shift ;;
	--no-enable) enable=no; shift ;;
	--uninstall) uninstall=yes; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
unitdir=$DESTDIR/etc/systemd/system
[ -n "$DESTDIR" ] && enable=no

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: run as root (or set DESTDIR to stage the files)" >&2
	exit 1
fi

if [ "$uninstall" = yes ]; then
	if [ "$enable" = yes ] && command -v systemctl >/dev/null; then
		systemctl disable --now tcmsh-restore.service tcmsh.service 2>/dev/null || true
	fi
	rm -f "$unitdir/tcmsh.service" "$unitdir/tcmsh-restore.service" "$DESTDIR$PREFIX/bin/tcmsh" "$DESTDIR/usr/share/dbus-1/system.d/tcmsh.conf"
	[ "$enable" = yes ] && command -v systemctl >/dev/null && systemctl daemon-reload
	echo "tcmsh uninstalled (configuration in /etc/target kept)"
	exit 0
fi

if [ ! -x "$binary" ]; then
	echo "install.sh: no tcmsh binary at $binary: build it with 'go build -o tcmsh .' or pass --binary PATH" >&2
	exit 1
fi

install -d -m 0755 "$DESTDIR$PREFIX/bin" "$unitdir"
install -m 0755 "$binary" "$DESTDIR$PREFIX/bin/tcmsh"
for unit in tcmsh.service tcmsh-restore.service; do
	sed "s|/usr/local/bin/tcmsh|$PREFIX/bin/tcmsh|g" "$here/$unit" > "$unitdir/$unit.tmp"
	chmod 0644 "$unitdir/$unit.tmp"
	mv "$unitdir/$unit.tmp" "$unitdir/$unit"
done
install -d -m 0700 "$DESTDIR/etc/target"
# The D-Bus policy that lets the daemon own org.kernel.TCMUService1
# (targetcli-fb's user: backstores); dbus-daemon reloads it by itself.
dbusdir=$DESTDIR/usr/share/dbus-1/system.d
install -d -m 0755 "$dbusdir"
install -m 0644 "$here/tcmsh-dbus.conf" "$dbusdir/tcmsh.conf"
echo "installed $DESTDIR$PREFIX/bin/tcmsh, $unitdir/tcmsh.service, $unitdir/tcmsh-restore.service, $dbusdir/tcmsh.conf"

if [ "$enable" = yes ]; then
	if ! command -v systemctl >/dev/null || [ ! -d /run/systemd/system ]; then
		echo "systemd is not running here: start the daemon with '$PREFIX/bin/tcmsh --kernel real serve'"
		exit 0
	fi
	if systemctl is-active --quiet tcmu-runner.service; then
		echo "stopping tcmu-runner: it would hold the uio devices tcmsh serves"
		systemctl disable --now tcmu-runner.service
	fi
	systemctl daemon-reload
	systemctl enable --now tcmsh.service
	systemctl enable tcmsh-restore.service
	echo "tcmsh.service running; tcmsh-restore.service restores /etc/target/saveconfig.json at boot"
fi
