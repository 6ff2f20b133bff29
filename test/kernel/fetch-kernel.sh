#!/usr/bin/env bash
# Fetch a Debian kernel for the kernel matrix and prepare it for QEMU:
#   test/kernel/fetch-kernel.sh KERNEL     (KERNEL: 5.10, 6.1 or 6.12)
# Prints the cell's kernel directory, which then holds:
#   vmlinux   the uncompressed kernel (QEMU boots it through its PVH note: ~3.5 s
#             under software emulation, against ~8 s for the compressed bzImage)
#   modules/  the modules the guest's init loads (9p over virtio, overlayfs),
#             uncompressed, with `load-order` listing them dependencies first
#   release   the kernel's release string (uname -r)
# Everything is cached under .cache/kernels/ (outside git); a second call with the
# cache present prints the directory and downloads nothing. The packages come
# from Debian's archive through a private apt configuration kept in the cache, so
# the system's own apt sources and state are left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VIGIL_KERNEL_CACHE:-$repo/.cache/kernels}
die() { echo "fetch-kernel: $*" >&2; exit 1; }

kernel=${1:-}
case "$kernel" in
  5.10) suites="bullseye bullseye-updates"; security="bullseye-security"; pick=meta ;;
  6.1) suites="bookworm bookworm-updates"; security="bookworm-security"; pick=meta ;;
  6.12) suites="bookworm bookworm-updates"; security="bookworm-security"; pick='linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
  *) die "unknown kernel '$kernel' (choose 5.10, 6.1 or 6.12)" ;;
esac
dir=$cache/$kernel
if [ -s "$dir/vmlinux" ] && [ -s "$dir/modules/load-order" ] && [ -s "$dir/release" ]; then
  echo "$dir"; exit 0
fi
for tool in apt-get apt-cache dpkg-deb xz zstd ; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install xz-utils zstd)"
done

# --- a private apt world: sources, lists and download cache all in the cache ---
suite=${suites%% *}
aptdir=$cache/apt-$suite
mkdir -p "$aptdir/etc/sources.list.d" "$aptdir/etc/preferences.d" "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial"
: > "$aptdir/state/status"
{
  for s in $suites; do echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main"; done
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $security main"
} > "$aptdir/etc/sources.list"
apt_opts=(-o "Dir::Etc=$aptdir/etc" -o "Dir::Etc::SourceList=$aptdir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$aptdir/etc/sources.list.d" -o "Dir::Etc::PreferencesParts=$aptdir/etc/preferences.d"
  -o "Dir::State=$aptdir/state" -o "Dir::State::status=$aptdir/state/status"
  -o "Dir::Cache=$aptdir/cache" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
if [ -z "$(find "$aptdir/state/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  echo "fetch-kernel: updating the private package lists for $suite" >&2
  apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update for $suite failed (is deb.debian.org reachable?)"
fi

# --- which package: the suite's default kernel, or the newest 6.12 ---
if [ "$pick" = meta ]; then
  pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)
else
  pkg=$(apt-cache "${apt_opts[@]}" pkgnames linux-image- | grep -E "^$pick" | grep -v -e unsigned -e dbg | sort -V | tail -1)
fi
[ -n "$pkg" ] || die "no kernel package found for $kernel in $suite"
echo "fetch-kernel: $kernel is $pkg" >&2

work=$(mktemp -d "$cache/.work-$kernel-XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "$pkg" >&2) || die "downloading $pkg failed"
dpkg-deb -x "$work"/*.deb "$work/root"
release=$(basename "$(ls -d "$work"/root/lib/modules/*/ | head -1)")
[ -n "$release" ] || die "$pkg holds no /lib/modules/<release>"

# --- the uncompressed kernel: find the xz or zstd stream inside vmlinuz ---
vmlinuz=$work/root/boot/vmlinuz-$release
extract() { # $1 magic (grep -P bytes), $2 decompressor
  local off
  for off in $(LC_ALL=C grep -obUaP "$1" "$vmlinuz" | cut -d: -f1); do
    tail -c +"$((off + 1))" "$vmlinuz" | $2 > "$work/vmlinux" 2>/dev/null || true
    if [ "$(head -c 4 "$work/vmlinux" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then return 0; fi
  done
  return 1
}
extract '\xfd\x37\x7a\x58\x5a\x00' 'xz -dc' || extract '\x28\xb5\x2f\xfd' 'zstd -dc' \
  || die "could not find an xz or zstd compressed ELF kernel inside $vmlinuz"

# --- the modules init loads, dependencies first ---
moddir=$work/root/lib/modules/$release
mkdir -p "$work/modules"
order=()
find_module() { find "$moddir" -name "$1.ko*" -o -name "${1//_/-}.ko*" | head -1; }
add_module() { # depth-first: dependencies before the module
  local name=$1 file out dep
  for done_name in "${order[@]}"; do [ "$done_name" = "$name" ] && return 0; done
  file=$(find_module "$name")
  [ -n "$file" ] || return 0   # built into this kernel
  out=$work/modules/$name.ko
  case "$file" in
    *.ko.xz) xz -dc "$file" > "$out" ;;
    *.ko.zst) zstd -qdc "$file" > "$out" ;;
    *) cp "$file" "$out" ;;
  esac
  for dep in $(tr '\0' '\n' < "$out" | sed -n 's/^depends=//p' | head -1 | tr ',' ' '); do add_module "$dep"; done
  order+=("$name")
}
for m in virtio_pci 9pnet_virtio 9p overlay; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$work/modules/load-order"

rm -rf "$dir"
mkdir -p "$dir"
mv "$work/vmlinux" "$work/modules" "$dir/"
echo "$release" > "$dir/release"
echo "$pkg" > "$dir/package"
echo "$dir"
