#!/usr/bin/env bash
# Exploration aid (not a test): boots the real kernel with explore-guest.sh as
# /init, which builds every LIO object by hand, dumps configfs and records the
# refusals. Writes OUTDIR/dump.txt, OUTDIR/refusals.txt and OUTDIR/console.log.
# Usage: test/vm/explore.sh OUTDIR
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

out=${1:?usage: explore.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

vm_deps
vm_kernel
vm_base_initramfs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ovl"
cp "$VM_DIR/explore-guest.sh" "$work/ovl/init"
chmod 755 "$work/ovl/init"
vm_overlay_cpio "$work/ovl" "$work/ovl.cpio"
cat "$VM_BASE_CPIO" "$work/ovl.cpio" >"$work/initrd"

vm_log "booting $VM_KVER (console in $out/console.log)"
rc=0
vm_boot "$work/initrd" "${TCMSH_VM_TIMEOUT:-600}" "$out/console.log" "loglevel=1" >/dev/null || rc=$?
[ "$rc" = 0 ] || vm_log "qemu exited with $rc"

{
  printf '# Real kernel %s: every configfs entry after building each LIO object by hand.\n' "$VM_KVER"
  printf '# path<TAB>type<TAB>octal mode<TAB>content (\\n and \\t escaped; symlinks: -> target)\n'
  grep -a '^DUMP	' "$out/console.log" | cut -f2-
} >"$out/dump.txt"
{
  printf '# Real kernel %s: attempts and their results.\n' "$VM_KVER"
  printf '# number<TAB>what<TAB>rc=exit status<TAB>cmd=shell command<TAB>out=its output<TAB>kmsg=kernel log lines it produced\n'
  grep -a '^REF	' "$out/console.log" | cut -f2-
} >"$out/refusals.txt"
grep -a '^EXPLORE' "$out/console.log" >"$out/notes.txt" || true
vm_log "$(grep -c . "$out/dump.txt") dump lines, $(grep -c . "$out/refusals.txt") refusal lines in $out"
grep -aq '^EXPLORE [0-9.]*s done' "$out/console.log" || vm_die "the guest did not finish (see $out/console.log)"
