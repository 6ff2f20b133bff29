#!/usr/bin/env bash
# Boot a Debian kernel under QEMU with this host's userspace and run a command:
#   test/kernel/run-cell.sh [options] KERNEL LAYOUT -- CMD [ARG...]
#     KERNEL   5.10, 6.1 or 6.12 (fetched and cached by fetch-kernel.sh)
#     LAYOUT   v2 (pure cgroup v2: cgroup_no_v1=all) or hybrid (v1 controllers
#              plus a v2 tree at /sys/fs/cgroup/unified) or v1 (v1 controllers
#              and no v2 tree mounted at all: a legacy, v1-only host)
#   options: --btf-hidden   mask /sys/kernel/btf in the guest
#            --timeout S    stop the command after S seconds (default 900)
#            --memory MIB   guest memory (default 2048)
#            --quiet        do not stream the command's output while it runs
# The guest sees the host's / read-only (9p) under a tmpfs overlay: it can write
# anywhere, and nothing it writes reaches the host. The command runs as root in
# the current directory (same path in the guest) with /tmp and /run empty tmpfs,
# bpffs at /sys/fs/bpf and tracefs at /sys/kernel/tracing, inside a cgroup of
# its own (/kernel-cell.service), as a systemd service would be.
# Exit status: the command's; 124 if it ran out of time; 125 if the guest died
# (or never started) without reporting one.
# KVM is used when /dev/kvm works for a stock kernel (tried once, remembered in
# the cache); otherwise QEMU's software emulation (TCG). VIGIL_KERNEL_ACCEL=tcg
# or =kvm forces one.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VIGIL_KERNEL_CACHE:-$repo/.cache/kernels}
die() { echo "run-cell: $*" >&2; exit 125; }

btf=shown; limit=900; memory=2048; follow=1
while [ $# -gt 0 ]; do
  case "$1" in
    --btf-hidden) btf=hidden; shift ;;
    --timeout) limit=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --quiet) follow=0; shift ;;
    --) break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -ge 4 ] && [ "$3" = -- ] || die "usage: run-cell.sh [--btf-hidden] [--timeout S] [--memory MIB] [--quiet] KERNEL LAYOUT -- CMD [ARG...]"
kernel=$1; layout=$2; shift 3
case "$layout" in
  v2) layout_args="cgroup_no_v1=all" ;;
  hybrid|v1) layout_args="" ;;
  *) die "unknown layout '$layout' (choose v2, hybrid or v1)" ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (the guest's command runs as root over a share of /)"
for tool in qemu-system-x86_64 busybox; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install qemu-system-x86 busybox-static)"
done
# The initramfs has no libc: its busybox must be the static build.
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "busybox must be the static one (apt-get install busybox-static)"

kdir=$("$here/fetch-kernel.sh" "$kernel") || die "could not fetch kernel $kernel"

work=$(mktemp -d /tmp/vigil-cell-XXXXXX)
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 125' INT TERM

# --- the initramfs: busybox, init, the modules, the command ---
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/cell" "$ird/proc" "$ird/sys" "$ird/dev"
cp /bin/busybox "$ird/bin/busybox"
cp "$here/guest-init.sh" "$ird/init"
chmod +x "$ird/init"
cp -r "$kdir/modules" "$ird/modules"
{
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp LANG=C.UTF-8"
  printf 'export VIGIL_CELL_KERNEL=%q VIGIL_CELL_LAYOUT=%q VIGIL_CELL_BTF=%q\n' "$kernel" "$layout" "$btf"
  [ -n "${CI:-}" ] && printf 'export CI=%q\n' "$CI"
  printf 'cd %q || exit 125\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$ird/cell/command"
printf '%s' "$PWD" > "$ird/cell/cwd"
(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null) > "$work/initramfs.cpio" || die "building the initramfs failed"

mkdir -p "$work/result"
: > "$work/output"; : > "$work/console"

accel_file=$cache/accel
accel=${VIGIL_KERNEL_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -f "$accel_file" ]; then accel=$(cat "$accel_file")
  elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=try-kvm
  else accel=tcg; fi
fi

boot() { # $1: kvm or tcg
  local accel_args
  # shellcheck disable=SC2054 # "tcg,thread=multi" is one argument
  if [ "$1" = kvm ]; then accel_args=(-accel kvm -cpu host); else accel_args=(-accel tcg,thread=multi -cpu max); fi
  rm -f "$work/result/status"
  # In a subshell, so that a QEMU that aborts (KVM refusing the guest) is
  # reported through its status, not by the shell's job control.
  # --foreground: QEMU stays in this process group, so stopping the runner's
  # group (Ctrl-C, a CI job's end) stops the guest too.
  (exec timeout --foreground --kill-after=10 "$((limit + 120))" qemu-system-x86_64 "${accel_args[@]}" \
    -m "$memory" -smp "$(nproc)" -nodefaults -display none -no-reboot \
    -kernel "$kdir/vmlinux" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 $layout_args vigil.layout=$layout vigil.btf=$btf vigil.timeout=$limit" \
    -serial "file:$work/console" -serial "file:$work/output" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$work/result,mount_tag=result,security_model=none" \
    > "$work/qemu.log" 2>&1) &
  qemu_pid=$!
  if [ "$follow" = 1 ]; then
    tail -n +1 -f --pid="$qemu_pid" "$work/output" &
    tail_pid=$!
  fi
  wait "$qemu_pid"
  local qemu_status=$?
  qemu_pid=
  [ "$follow" = 1 ] && wait "$tail_pid"
  return $qemu_status
}

if [ "$accel" = try-kvm ]; then
  boot kvm
  if [ -s "$work/result/status" ]; then echo kvm > "$accel_file"; accel=kvm
  elif grep -qi 'KVM internal error\|emulation failure\|failed to initialize kvm' "$work/qemu.log" "$work/console" 2>/dev/null || [ ! -s "$work/console" ]; then
    echo "run-cell: KVM here cannot run a stock kernel; using software emulation (TCG) from now on" >&2
    echo tcg > "$accel_file"; accel=tcg
    : > "$work/output"; : > "$work/console"
    boot tcg
  fi
else
  boot "$accel"
fi
qemu_status=$?

[ "$follow" = 1 ] || cat "$work/output"
if [ -s "$work/result/status" ]; then
  status=$(cat "$work/result/status")
  exit "$status"
fi
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  echo "run-cell: the guest ($kernel, $layout) ran out of time" >&2
  exit 124
fi
echo "run-cell: the guest ($kernel, $layout) died without reporting a status; its console:" >&2
tail -n 30 "$work/console" >&2
tail -n 5 "$work/qemu.log" >&2
exit 125
