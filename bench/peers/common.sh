# Shared settings of vigil's peer benchmark scripts (source it; no side effects).
# Everything the peers keep lives under $VIGIL_PEERS_DIR; their containers'
# cgroups lie under /vigil-bench-* in each hierarchy.
VIGIL_PEERS_DIR=${VIGIL_PEERS_DIR:-/tmp/vigil-peers}
P=$VIGIL_PEERS_DIR
DOCKER_SOCK=$P/docker.sock
CONTAINERD_SOCK=$P/containerd.sock
# Debian's client: a newer /usr/local/bin/docker may come first in PATH.
DOCKER_BIN=/usr/bin/docker
export CONTAINERS_CONF=$P/containers.conf
PODMAN_ARGS=(--root "$P/podman/root" --runroot "$P/podman/run" --tmpdir "$P/podman/tmp" --cgroup-manager=cgroupfs --events-backend=file)
IMAGE=vigil-bench/busybox:local
# The host network is never touched: no bridge, no iptables, no forwarding.
DOCKERD_ARGS=(--data-root "$P/docker" --exec-root "$P/docker-exec" --pidfile "$P/dockerd.pidfile"
  --containerd "$CONTAINERD_SOCK" --host "unix://$DOCKER_SOCK"
  --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none
  --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent /vigil-bench-docker --storage-driver=overlay2)

docker_cli() { "$DOCKER_BIN" -H "unix://$DOCKER_SOCK" "$@"; }
podman_cli() { podman "${PODMAN_ARGS[@]}" "$@"; }

# alive_as PID COMM: PID runs (not a zombie) and is the program named COMM (guards pid reuse).
alive_as() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  local state; state=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)
  [ "$state" != Z ] && [ "$state" != X ]
}

# The hugetlb fix for crun 1.8 on hybrid hosts: crun refuses to run while the cgroup v2 tree
# owns any controller, and here only hugetlb does. A v1 hierarchy takes a controller away
# from v2 for as long as it exists, wherever it is mounted. So it is mounted only inside a
# private mount namespace held by one `sleep` (the holder): no process in the host's mount
# namespace sees it (crun, runc and the engines create no hugetlb cgroups, and containers
# made meanwhile, the peers' or anyone's, do not copy the mount into their namespaces and
# keep the hierarchy alive), and when the holder ends, even killed, the hierarchy goes and
# hugetlb returns to v2.
hugetlb_on_v2() { grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; }
# Held even when hugetlb is off v2 already (a hierarchy someone else keeps may go at any moment).
hugetlb_fix() {
  mountpoint -q /sys/fs/cgroup/unified 2>/dev/null && grep -qw '^hugetlb' /proc/cgroups || return 0   # hybrid hosts only
  alive_as "$(cat "$P/hugetlb-holder.pid" 2>/dev/null)" sleep && return 0
  mkdir -p "$P/hugetlb-mnt"
  setsid unshare --mount --propagation private -- sh -c \
    "mount -t cgroup -o hugetlb vigil-bench-hugetlb '$P/hugetlb-mnt' && exec sleep 86400" </dev/null >/dev/null 2>&1 &
  echo $! >"$P/hugetlb-holder.pid"
  local i; for i in $(seq 50); do
    ! hugetlb_on_v2 && [ "$(readlink "/proc/$!/ns/mnt" 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ] &&
      alive_as "$!" sleep && break
    sleep 0.1
  done
  if hugetlb_on_v2 || ! alive_as "$!" sleep; then
    echo "peers: could not take hugetlb off cgroup v2; crun (and Podman with crun) will not run" >&2
    hugetlb_restore; return 1
  fi
  echo "peers: hugetlb is a v1 hierarchy (in a private mount namespace) while the peers run" >&2
}
hugetlb_restore() {
  local pid; pid=$(cat "$P/hugetlb-holder.pid" 2>/dev/null)
  if alive_as "$pid" sleep && [ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]; then
    kill -TERM "$pid"
  fi
  rm -f "$P/hugetlb-holder.pid"
  rmdir "$P/hugetlb-mnt" 2>/dev/null
  local i; for i in $(seq 50); do hugetlb_on_v2 && return 0; sleep 0.2; done
  [ -d /sys/fs/cgroup/unified ] || return 0
  echo "peers: WARNING: hugetlb has not returned to cgroup v2; mount namespaces that still hold it:" >&2
  grep -l ' - cgroup [^ ]* [^ ]*hugetlb' /proc/[0-9]*/mountinfo 2>/dev/null | cut -d/ -f3 | head -5 >&2
  return 1
}

start_containerd() {
  alive_as "$(cat "$P/containerd.pid" 2>/dev/null)" containerd && return 0
  command -v containerd >/dev/null || return 1
  setsid containerd --config "$P/containerd.toml" >>"$P/containerd.log" 2>&1 </dev/null &
  echo $! >"$P/containerd.pid"
  local i; for i in $(seq 100); do [ -S "$CONTAINERD_SOCK" ] && ctr -a "$CONTAINERD_SOCK" version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "peers: containerd did not come up (see $P/containerd.log)" >&2; return 1
}

start_dockerd() {
  alive_as "$(cat "$P/dockerd.pid" 2>/dev/null)" dockerd && return 0
  [ -x /usr/sbin/dockerd ] || return 1
  rm -f "$P/dockerd.pidfile"
  setsid /usr/sbin/dockerd "${DOCKERD_ARGS[@]}" >>"$P/dockerd.log" 2>&1 </dev/null &
  echo $! >"$P/dockerd.pid"
  local i; for i in $(seq 300); do docker_cli version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "peers: dockerd did not come up (see $P/dockerd.log)" >&2; return 1
}
