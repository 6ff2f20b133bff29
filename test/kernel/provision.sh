#!/usr/bin/env bash
# Provision a machine to build vigil and run the kernel suite on its own kernel:
# the shared provisioning script of the Vagrantfile, usable by hand on any of
# Debian 11/12, Ubuntu 22.04/24.04 and the RHEL 9 family (AlmaLinux, Rocky).
#   sudo test/kernel/provision.sh [--no-suite] [SOURCE_DIR]
# SOURCE_DIR (default: this checkout) is copied to /opt/vigil and built there.
# Then the kernel suite (guest-suite.sh) runs and the script ends with
# "N passed, N failed, N skipped"; its exit status is the suite's.
# Network: package mirrors and, on releases whose libbpf is older than 1.0
# (Debian 11, Ubuntu 22.04), the libbpf and bpftool sources from GitHub; for
# hosts without internet see README.md "Kernel matrix" (local boxes and mirrors).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run_suite=1
[ "${1:-}" = --no-suite ] && { run_suite=0; shift; }
src=${1:-$(cd "$here/../.." && pwd)}
dest=/opt/vigil
die() { echo "provision: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$src/package.json" ] || die "$src is not a vigil checkout"
# shellcheck disable=SC1091 # the running system's
. /etc/os-release
echo "provision: $PRETTY_NAME, kernel $(uname -r)"

# Versions of the sources built where the distribution's libbpf is too old.
BPFTOOL_VERSION=7.5.0
NODE_MAJOR=20

libbpf_at_least_1() { pkg-config --atleast-version=1.0.0 libbpf 2>/dev/null; }

case "$ID:${VERSION_ID%%.*}" in
  debian:11|debian:12|ubuntu:22|ubuntu:24)
    export DEBIAN_FRONTEND=noninteractive
    packages="clang llvm libelf-dev zlib1g-dev pkg-config make gcc g++ libc6-dev python3 ca-certificates curl git rsync xz-utils zstd busybox-static"
    # libbpf 1.0 or newer and bpftool from the distribution where it has them.
    case "$ID:${VERSION_ID%%.*}" in
      debian:12) packages="$packages libbpf-dev bpftool" ;;
      ubuntu:24) packages="$packages libbpf-dev" ;;
    esac
    missing=""
    for p in $packages; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; done
    if [ -n "$missing" ]; then
      apt-get update -qq
      # shellcheck disable=SC2086 # a list of package names
      apt-get install -y -qq $missing >/dev/null
    fi
    # Ubuntu's bpftool is a wrapper around the running kernel's linux-tools.
    if [ "$ID:${VERSION_ID%%.*}" = ubuntu:24 ] && ! bpftool version >/dev/null 2>&1; then
      apt-get install -y -qq linux-tools-common "linux-tools-$(uname -r)" >/dev/null || true
    fi
    if ! command -v node >/dev/null || ! node -e "process.exit(+process.versions.node.split('.')[0] >= $NODE_MAJOR ? 0 : 1)"; then
      # Node.js 20 from NodeSource's apt repository (the distributions ship older ones).
      curl -fsSL "https://deb.nodesource.com/setup_$NODE_MAJOR.x" -o /tmp/nodesource-setup.sh
      bash /tmp/nodesource-setup.sh >/dev/null
      apt-get install -y -qq nodejs >/dev/null
    fi ;;
  almalinux:9|rocky:9|rhel:9|centos:9)
    dnf install -y -q dnf-plugins-core
    dnf config-manager --set-enabled crb 2>/dev/null || dnf config-manager --set-enabled powertools 2>/dev/null || true
    # glibc-static: vigil-init and testbin are linked statically.
    dnf install -y -q clang llvm libbpf-devel bpftool elfutils-libelf-devel zlib-devel pkgconf-pkg-config make gcc gcc-c++ \
      glibc-static python3 git rsync xz zstd
    if ! command -v node >/dev/null || ! node -e "process.exit(+process.versions.node.split('.')[0] >= $NODE_MAJOR ? 0 : 1)"; then
      dnf module reset -y -q nodejs
      dnf module install -y -q "nodejs:$NODE_MAJOR/common"
    fi ;;
  *) die "unsupported distribution $ID $VERSION_ID (supported: Debian 11/12, Ubuntu 22.04/24.04, RHEL 9 family)" ;;
esac

# --- libbpf and bpftool from source where the distribution's are too old ---
if ! libbpf_at_least_1 || ! command -v bpftool >/dev/null || ! bpftool version >/dev/null 2>&1; then
  echo "provision: building bpftool $BPFTOOL_VERSION and its libbpf from source"
  work=$(mktemp -d)
  curl -fsSL "https://github.com/libbpf/bpftool/releases/download/v$BPFTOOL_VERSION/bpftool-libbpf-v$BPFTOOL_VERSION-sources.tar.gz" \
    | tar -xz -C "$work"
  tree=$(find "$work" -maxdepth 1 -mindepth 1 -type d | head -1)
  make -s -C "$tree/libbpf/src" install PREFIX=/usr/local LIBDIR=/usr/local/lib >/dev/null
  make -s -C "$tree/src" install prefix=/usr/local >/dev/null
  echo /usr/local/lib > /etc/ld.so.conf.d/vigil-libbpf.conf
  ldconfig
  export PKG_CONFIG_PATH=/usr/local/lib/pkgconfig
  rm -rf "$work"
fi
command -v bpftool >/dev/null || die "bpftool is missing after provisioning"
[ -r /sys/kernel/btf/vmlinux ] || echo "provision: warning: this kernel has no BTF (/sys/kernel/btf/vmlinux); vigil doctor will explain what that costs" >&2

# --- build vigil from a private copy (the shared folder may be read-only or slow) ---
mkdir -p "$dest"
rsync -a --delete --exclude node_modules --exclude dist --exclude build --exclude native/addon/build --exclude .cache --exclude .git "$src/" "$dest/"
cd "$dest"
# --prefer-offline: a warm npm cache (or a local mirror) is enough, no registry round trips.
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
make -s
grep -q ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
bin/vigil doctor || true

[ "$run_suite" = 1 ] || { echo "provision: vigil is built in $dest"; exit 0; }
# --- the kernel suite on this machine's kernel and cgroup layout ---
tap=$(mktemp)
set +e
bash test/kernel/guest-suite.sh | tee "$tap"
node scripts/tap-summary.mjs "$tap"
status=$?
rm -f "$tap"
exit $status
