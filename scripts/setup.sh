#!/usr/bin/env bash
# Install what vigil needs on Debian 12 (as root), build it, then optionally
#   demo  run the live demo
#   test  run the whole test suite (what .ci/run does)
# Idempotent: a second run with nothing changed installs and rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (vigil creates namespaces, cgroups and BPF programs)"

# --- Debian packages: compilers, libbpf, the BPF toolchain; busybox-static and
# runc for the OCI bundle test (a rootfs it builds, compared with runc run);
# tmux for the TUI's end-to-end test; QEMU, xz and zstd for the kernel matrix
# (test/kernel/) ---
APT_PACKAGES="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config make gcc libc6-dev g++ python3 busybox-static runc tmux qemu-system-x86 xz-utils zstd"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  # Wait for another apt run (a parallel setup) instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null
fi

# --- Node.js 20.8 or newer (ava 6 needs it) ---
command -v node >/dev/null || die "Node.js 20.8 or newer is needed (this project's machines have it; Debian 12's nodejs package is 18)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 8) ? 0 : 1)' \
  || die "Node.js $(node --version) is too old: 20.8 or newer is needed"


# --- npm dependencies, only when the lock file changed ---
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.vigil-lock ] || [ "$(cat node_modules/.vigil-lock)" != "$lock_sum" ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.vigil-lock
fi

# --- build: BPF object, vigil-init, helper, testbin, N-API addon, TypeScript ---
make --no-print-directory -s

# --- bpffs, where the tracer pins its maps and links ---
grep -q ' /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf

# --- `vigil` on the PATH (SPEC.md): a link to this checkout's bin/vigil. A
# regular file there is someone else's and is left alone. ---
link=/usr/local/bin/vigil
if [ ! -e "$link" ] || [ -L "$link" ]; then
  mkdir -p /usr/local/bin
  ln -sfn "$PWD/bin/vigil" "$link"
else
  echo "setup: $link exists and is not a link; leaving it (run bin/vigil from here)" >&2
fi

case "${1:-}" in
  demo) exec node dist/src/demo/demo.js ;;
  test) exec bash scripts/test.sh ;;
  "") echo "setup: vigil is built; vigil (linked to bin/vigil) runs it (try: vigil doctor)" ;;
  *) die "unknown action '$1' (use demo or test)" ;;
esac
