# shellcheck shell=bash
# Host-side helpers shared by test/vm/run and test/vm/explore.sh: install the
# packages, fetch and cache Debian's kernel, build the initramfs, boot qemu.
# Sourced, not executed. Every function fails loudly (set -euo pipefail is
# set by the caller).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${TCMSH_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcmsh-vm}

# Modules the guest loads, in this order, each with its dependencies first.
# Missing optional ones (marked ?) are skipped with a note.
VM_MODULES=(configfs target_core_mod target_core_user target_core_file
  target_core_iblock target_core_pscsi? tcm_loop iscsi_target_mod vhost_scsi?
  uio scsi_mod sd_mod sg brd loop)

# Debian userland (run --debian): a debootstrapped bookworm with the tools
# scenarios compare tcmsh against, as an ext4 image on virtio, mounted by the
# guest at /debian (scenarios use it through chroot: see guest/lib.sh).
VM_DEBIAN_SUITE=${TCMSH_VM_DEBIAN_SUITE:-bookworm}
VM_DEBIAN_MIRROR=${TCMSH_VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VM_DEBIAN_PACKAGES=(targetcli-fb python3-rtslib-fb tcmu-runner sg3-utils fio kmod udev dbus
  open-iscsi
  # Measuring cost (test/vm/bench): syscalls and context switches per I/O.
  strace linux-perf procps
  # SAN features seen from an initiator: dm-multipath's ALUA handler, EXTENDED COPY.
  multipath-tools ddpt)
# Modules the guest needs to mount that image (optional: loaded when present).
VM_MODULES+=(virtio_pci? virtio_blk? ext4?)
# The initiator side of iSCSI, for open-iscsi in the Debian userland (85-iscsi-login).
VM_MODULES+=(iscsi_tcp?)
# Modules put in the guest but neither loaded at boot nor in its modules.dep
# (under /lib/on-demand): the scenario that needs one loads it
# (load_on_demand in guest/lib.sh) and removes it when done, so the other
# scenarios, and 15-fidelity's comparison with the simulated kernel, see
# the same kernel and the same loadable fabrics as without them. Their
# lines in /etc/tcmsh-vm-modules have the request "demand:NAME".
# dm-multipath with the ALUA device handler (76-multipath); the FCoE target
# fabric and the QLogic one (77-fc).
VM_MODULES_ON_DEMAND=(dm_multipath? dm_round_robin? scsi_dh_alua? tcm_fc? tcm_qla2xxx?)

vm_log() { printf '[vm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
vm_die() { printf '[vm] error: %s\n' "$*" >&2; exit 1; }

# vm_now prints seconds since the epoch with milliseconds.
vm_now() { printf '%s\n' "${EPOCHREALTIME:0:-3}"; }
# vm_sub A B prints A - B with one decimal.
vm_sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", a - b }'; }

# vm_stream LOG: copies the console to stdout and LOG as it arrives, and
# writes each "TCMSH-" marker with the host's arrival time to LOG.markers.
vm_stream() {
  local log=$1 line
  : >"$log"
  : >"$log.markers"
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    printf '%s\n' "$line" >>"$log"
    # Markers count only at the start of a line, so that a command's output
    # (which scenarios print indented) cannot fake one.
    case $line in
      TCMSH-*) printf '%s %s\n' "$(vm_now)" "$line" >>"$log.markers" ;;
    esac
  done
}

# vm_deps installs the host packages when a tool is missing (root only).
vm_deps() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v modprobe >/dev/null || missing+=(kmod)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  command -v timeout >/dev/null || missing+=(coreutils)
  [ -n "${TCMSH_VM_BINARY:-}" ] || command -v go >/dev/null ||
    vm_die "go is not on PATH (needed to build a static tcmsh; or set TCMSH_VM_BINARY)"
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || vm_die "missing packages ${missing[*]}; run as root or install them"
    command -v apt-get >/dev/null || vm_die "missing ${missing[*]} and no apt-get"
    vm_log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
  # busybox-static may be shadowed by the dynamic busybox package's /bin/busybox.
  if ! file_is_static /bin/busybox; then
    vm_die "/bin/busybox is not statically linked; install busybox-static"
  fi
}

file_is_static() {
  # A static ELF has no PT_INTERP; readelf may be absent, so look for the
  # loader's path in the first bytes instead.
  ! head -c 4096 "$1" | grep -aq 'ld-linux'
}

# vm_kernel_pkg prints the linux-image package to use.
vm_kernel_pkg() {
  if [ -n "${TCMSH_VM_KERNEL_PKG:-}" ]; then
    printf '%s\n' "$TCMSH_VM_KERNEL_PKG"
    return
  fi
  local pkg
  local policy
  policy=$(apt-cache policy linux-image-amd64 2>/dev/null || true)
  # (Not a pipe into grep -q: with pipefail its early exit fails the pipe.)
  if [[ $policy != *"Candidate: "[0-9]* ]] && [ "$(id -u)" = 0 ]; then
    vm_log "apt knows no linux-image-amd64: running apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  fi
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' || true)
  pkg=${pkg%%$'\n'*}
  if [ -z "$pkg" ]; then
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
      awk '{print $1}' | sort -t- -k4,4n | tail -n1)
  fi
  [ -n "$pkg" ] || vm_die "no linux-image-6.1.0-*-amd64 package known to apt (run apt-get update, or set TCMSH_VM_KERNEL_PKG)"
  printf '%s\n' "$pkg"
}

# vm_kernel fetches and unpacks the kernel into the cache once; sets
# VM_KROOT (unpacked tree), VM_KVER (module version), VM_VMLINUZ.
vm_kernel() {
  local pkg kdir deb
  if [ -n "${TCMSH_VM_KERNEL_PKG:-}" ] || [ ! -f "$VM_CACHE/kernel.current" ]; then
    pkg=$(vm_kernel_pkg)
  else
    pkg=$(cat "$VM_CACHE/kernel.current")
  fi
  kdir="$VM_CACHE/$pkg"
  if [ ! -f "$kdir/.unpacked" ]; then
    vm_log "fetching $pkg (about 70 MB, once)"
    mkdir -p "$VM_CACHE/dl"
    rm -rf "$kdir" "$VM_CACHE/dl/"*.deb
    if ! (cd "$VM_CACHE/dl" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); then
      vm_log "apt-get download failed; running apt-get update and retrying"
      [ "$(id -u)" = 0 ] && apt-get update -qq
      (cd "$VM_CACHE/dl" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
        vm_die "apt-get download $pkg failed"
    fi
    deb=$(ls "$VM_CACHE/dl/${pkg}_"*.deb)
    vm_log "unpacking $(basename "$deb")"
    mkdir -p "$kdir.tmp"
    dpkg-deb -x "$deb" "$kdir.tmp"
    rm -f "$deb"
    # The package ships no modules.dep (its postinst makes it): make it here.
    local ver
    ver=$(find "$kdir.tmp/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | head -n1)
    depmod -b "$kdir.tmp" "$ver" || vm_die "depmod for $ver failed"
    mv "$kdir.tmp" "$kdir"
    touch "$kdir/.unpacked"
  fi
  printf '%s\n' "$pkg" >"$VM_CACHE/kernel.current"
  VM_KROOT=$kdir
  VM_KVER=$(find "$kdir/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | head -n1)
  [ -n "$VM_KVER" ] || vm_die "no lib/modules in $kdir"
  VM_VMLINUZ="$kdir/boot/vmlinuz-$VM_KVER"
  [ -f "$VM_VMLINUZ" ] || vm_die "no kernel image $VM_VMLINUZ"
}

# vm_module_order prints "request path-in-guest" lines, every module after
# its dependencies, each module once, for the modules in VM_MODULES; then
# for each of VM_MODULES_ON_DEMAND (request demand:NAME) every dependency
# not loaded at boot, at its path under /lib/on-demand.
vm_module_order() {
  local want opt line path seen=" " req
  for want in "${VM_MODULES[@]}" "${VM_MODULES_ON_DEMAND[@]/#/demand:}"; do
    req=
    case $want in demand:*) req=demand: want=${want#demand:} ;; esac
    opt=0
    case $want in *\?) opt=1; want=${want%\?} ;; esac
    local deps
    if ! deps=$(modprobe -d "$VM_KROOT" -S "$VM_KVER" --show-depends "$want" 2>&1); then
      if [ "$opt" = 1 ]; then
        vm_log "optional module $want not in this kernel: skipped"
        continue
      fi
      vm_die "module $want: $deps"
    fi
    while IFS= read -r line; do
      case $line in
        "insmod "*)
          path=${line#insmod }
          path=${path%% *}
          path=${path#"$VM_KROOT"}
          case $seen in *" $path "*) continue ;; esac
          if [ -n "$req" ]; then
            printf '%s%s /lib/on-demand%s\n' "$req" "$want" "$path"
            continue
          fi
          seen="$seen$path "
          printf '%s %s\n' "$want" "$path"
          ;;
        "builtin "*) printf '%s%s builtin:%s\n' "$req" "$want" "${line#builtin }" ;;
      esac
    done <<<"$deps"
  done
}

# vm_base_initramfs builds (once per kernel and module list) a cpio archive
# with busybox, the modules and their order file. Sets VM_BASE_CPIO.
vm_base_initramfs() {
  local key order stage
  key=$(printf '%s\n' "$VM_KVER" "${VM_MODULES[@]}" "${VM_MODULES_ON_DEMAND[@]}" "$(sha256sum /bin/busybox)" \
    "$(sha256sum "$VM_DIR/lib.sh")" | sha256sum | cut -c1-12)
  VM_BASE_CPIO="$VM_CACHE/base-$VM_KVER-$key.cpio"
  [ -s "$VM_BASE_CPIO" ] && return 0
  vm_log "building the base initramfs (busybox and modules)"
  stage=$(mktemp -d)
  order=$(vm_module_order)
  mkdir -p "$stage"/{bin,sbin,etc/target,var/target,proc,sys,dev,tmp,run,root,mnt,lib/modules/"$VM_KVER"}
  cp /bin/busybox "$stage/bin/busybox"
  # The kernel opens /dev/console for /init before anything is mounted.
  mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
  done
  # The kernel's module requests (mkdir of a fabric, the first HBA) run
  # /sbin/modprobe, as on a real system.
  ln -s ../bin/busybox "$stage/sbin/modprobe"
  local path
  while read -r _ path; do
    case $path in builtin:*) continue ;; esac
    mkdir -p "$stage/$(dirname "$path")"
    cp "$VM_KROOT${path#/lib/on-demand}" "$stage$path"
  done <<<"$order"
  printf '%s\n' "$order" >"$stage/etc/tcmsh-vm-modules"
  cp "$VM_KROOT/lib/modules/$VM_KVER/modules.builtin" "$stage/lib/modules/$VM_KVER/" 2>/dev/null || true
  cp "$VM_KROOT/lib/modules/$VM_KVER/modules.order" "$stage/lib/modules/$VM_KVER/" 2>/dev/null || true
  depmod -b "$stage" "$VM_KVER" 2>/dev/null || vm_log "depmod failed: guest modprobe will not work"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\ntcmshuser:x:1000:1000:tcmsh test user:/tmp:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\ntcmshuser:x:1000:\n' >"$stage/etc/group"
  printf '/bin/sh\n' >"$stage/etc/shells"
  (cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$VM_BASE_CPIO.tmp"
  mv "$VM_BASE_CPIO.tmp" "$VM_BASE_CPIO"
  # Older base archives (other module lists or helper versions) are stale.
  find "$VM_CACHE" -maxdepth 1 -name 'base-*.cpio' ! -path "$VM_BASE_CPIO" -delete
  rm -rf "$stage"
}

# vm_debian_image builds (once per suite and package list) the Debian
# userland image; sets VM_DEBIAN_IMG.
vm_debian_image() {
  local key root size
  key=$(printf '%s\n' "$VM_DEBIAN_SUITE" "${VM_DEBIAN_PACKAGES[@]}" | sha256sum | cut -c1-12)
  VM_DEBIAN_IMG="$VM_CACHE/debian-$VM_DEBIAN_SUITE-$key.ext4"
  [ -s "$VM_DEBIAN_IMG" ] && return 0
  [ "$(id -u)" = 0 ] || vm_die "building the Debian userland needs root (debootstrap)"
  if ! command -v debootstrap >/dev/null || ! command -v mkfs.ext4 >/dev/null; then
    vm_log "installing debootstrap and e2fsprogs"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      debootstrap e2fsprogs >/dev/null
  fi
  root="$VM_CACHE/debian-root.tmp"
  rm -rf "$root"
  vm_log "debootstrap $VM_DEBIAN_SUITE with ${VM_DEBIAN_PACKAGES[*]} (once; about 2 minutes and 900 MB)"
  local pkgs
  pkgs=$(IFS=,; printf '%s' "${VM_DEBIAN_PACKAGES[*]}")
  debootstrap --variant=minbase --include="$pkgs" "$VM_DEBIAN_SUITE" "$root" "$VM_DEBIAN_MIRROR" \
    >"$VM_CACHE/debootstrap.log" 2>&1 ||
    vm_die "debootstrap failed (see $VM_CACHE/debootstrap.log)"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  # Modules of the guest's kernel are loaded by the busybox init, not here.
  size=$(du -sm "$root" | cut -f1)
  size=$((size + size / 4 + 64))
  rm -f "$VM_DEBIAN_IMG.tmp"
  mkfs.ext4 -q -F -L tcmsh-debian -d "$root" "$VM_DEBIAN_IMG.tmp" "${size}M" ||
    vm_die "mkfs.ext4 -d of the Debian userland failed"
  mv "$VM_DEBIAN_IMG.tmp" "$VM_DEBIAN_IMG"
  rm -rf "$root"
  find "$VM_CACHE" -maxdepth 1 -name 'debian-*.ext4' ! -path "$VM_DEBIAN_IMG" -delete
}

# vm_build_tcmsh builds a static tcmsh into $1.
vm_build_tcmsh() {
  local out=$1
  (cd "$VM_REPO" && CGO_ENABLED=0 go build -o "$out" .) ||
    vm_die "go build of tcmsh failed"
  file_is_static "$out" || vm_die "$out is not static"
}

# vm_overlay_cpio DIR OUT: archive DIR (init, tcmsh, scenarios) as cpio.
vm_overlay_cpio() {
  (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$2"
}

# vm_boot INITRD TIMEOUT LOG [extra kernel args]: boots the guest with the
# console on stdout, tee'd to LOG, killing qemu after TIMEOUT seconds.
# Returns qemu's status (124 on timeout).
vm_boot() {
  local initrd=$1 tmo=$2 log=$3 extra=${4:-} drive=()
  # The cached image is never written: snapshot=on keeps the guest's writes
  # in a temporary file.
  [ -z "${VM_DEBIAN_IMG:-}" ] ||
    drive=(-drive "file=$VM_DEBIAN_IMG,if=virtio,format=raw,snapshot=on")
  local mem=${TCMSH_VM_MEM:-1024} smp=${TCMSH_VM_SMP:-2}
  local accel=tcg
  # KVM only on request: a /dev/kvm that exists is not always usable.
  if [ "${TCMSH_VM_KVM:-0}" = 1 ]; then accel=kvm; fi
  set +e
  timeout --kill-after=5 "$tmo" qemu-system-x86_64 -accel "$accel" \
    -m "$mem" -smp "$smp" -nographic -no-reboot -nic none \
    -kernel "$VM_VMLINUZ" -initrd "$initrd" "${drive[@]}" \
    -append "console=ttyS0 quiet panic=1 $extra" </dev/null 2>&1 |
    sed -u -e 's/\r$//' -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' | vm_stream "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  return "$rc"
}

# vm_host_step DIR NAME STEP ARGS...: runs the scenario's host-side script
# DIR/NAME.host (when there is one) with STEP ARGS: `prepare OVERLAY` before
# the boot (to add files to the guest), `check LOG TCMSH` after it (to
# compare what the guest printed with something made on the host).
vm_host_step() {
  local dir=$1 name=$2
  shift 2
  [ -x "$dir/$name.host" ] || return 0
  "$dir/$name.host" "$@"
}
