#!/bin/bash
# Prepare the peer engines for `npm run bench` (NOT part of the test path: CI never runs it).
#
#   bench/peers/setup.sh [--install]
#
# --install  apt-get installs Debian's docker.io, containerd, runc, crun, podman, conmon and
#            busybox-static first (without it, whatever is installed is used and the rest is
#            left out of the table).
# Then: a busybox rootfs under $VIGIL_PEERS_DIR (default /tmp/vigil-peers), containerd and
# dockerd on private sockets and data roots (no bridge, no iptables, no forwarding: the host
# network is never touched), the rootfs imported as an image in Docker and Podman (no
# registry), an OCI config template for runc and crun, and one smoke run per engine.
# Idempotent. bench/peers/teardown.sh stops what this started (by pid) and undoes the rest.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$P"/{docker,docker-exec,containerd,podman/root,podman/run,podman/tmp}

if [ "${1:-}" = --install ]; then
  need=()
  for p in docker.io containerd runc crun podman conmon catatonit busybox-static uidmap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    # Debian's packages would start dockerd and containerd with their default settings
    # (a bridge and iptables rules on the host). Forbid service starts while installing.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
    fi
    trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}"
  fi
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--install]" >&2; exit 2
fi

# The rootfs every engine runs: busybox-static, and /sig where the harness binds its FIFOs.
if [ ! -x "$P/rootfs/bin/busybox" ]; then
  [ -x /bin/busybox ] || { echo "peers: busybox-static is not installed (use --install)" >&2; exit 1; }
  rm -rf "$P/rootfs.new"; mkdir -p "$P/rootfs.new"/{bin,proc,sys,dev,tmp,etc,root,run,var,sig}
  cp /bin/busybox "$P/rootfs.new/bin/busybox"
  chroot "$P/rootfs.new" /bin/busybox --install -s /bin
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$P/rootfs.new/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$P/rootfs.new/etc/group"
  chmod 1777 "$P/rootfs.new/tmp"
  mv "$P/rootfs.new" "$P/rootfs"
fi

# An OCI config template for runc and crun (the harness fills in args, the FIFO bind and cgroupsPath).
for rt in runc crun; do
  if command -v $rt >/dev/null && [ ! -s "$P/oci-config.json" ]; then
    d=$(mktemp -d); (cd "$d" && $rt spec) && mv "$d/config.json" "$P/oci-config.json"; rmdir "$d"
  fi
done

# crun needs hugetlb off cgroup v2 (see common.sh); only for the smoke runs here and for a bench run.
hugetlb_fix || true
trap 'hugetlb_restore' EXIT   # replaces the policy-rc.d trap, which has run its course by now

if command -v containerd >/dev/null && [ -x /usr/sbin/dockerd ]; then
  cat >"$P/containerd.toml" <<EOT
version = 2
root = "$P/containerd/root"
state = "$P/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
EOT
  # What we create outside $P, so that teardown removes only that.
  [ -d /run/containerd ] || touch "$P/created-run-containerd"
  [ -e /etc/docker/key.json ] || [ -e "$P/created-etc-docker-key" ] || touch "$P/created-etc-docker-key"
  start_containerd
  start_dockerd
  echo "peers: containerd pid $(cat "$P/containerd.pid"), dockerd pid $(cat "$P/dockerd.pid")"
  docker_cli image inspect "$IMAGE" >/dev/null 2>&1 || tar -C "$P/rootfs" -c . | docker_cli import - "$IMAGE" >/dev/null
  docker_cli run --rm --network none "$IMAGE" true
  echo "peers: docker OK"
fi

if command -v podman >/dev/null; then
  # This sandbox lacks CAP_SYS_RESOURCE: podman's default rlimits for root fail in setrlimit.
  cat >"$CONTAINERS_CONF" <<'EOT'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOT
  podman_cli image exists "$IMAGE" || tar -C "$P/rootfs" -c . | podman_cli import - "$IMAGE" >/dev/null
  podman_cli run --rm --network none --cgroup-parent /vigil-bench-podman "$IMAGE" true
  echo "peers: podman OK ($(podman_cli info --format '{{.Host.OCIRuntime.Name}}'))"
fi
echo "peers: ready in $P"
