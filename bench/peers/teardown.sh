#!/bin/bash
# Undo bench/peers/setup.sh: remove the peers' containers, stop containerd and dockerd (by the
# pids setup.sh recorded, never by name), give hugetlb back to cgroup v2, remove the peers'
# cgroups and mounts. `--purge` also deletes $VIGIL_PEERS_DIR (images, rootfs, logs).
set -uo pipefail
source "$(dirname "$0")/common.sh"
[ -d "$P" ] || exit 0

if alive_as "$(cat "$P/dockerd.pid" 2>/dev/null)" dockerd; then
  ids=$(docker_cli ps -aq); [ -n "$ids" ] && docker_cli rm -f $ids >/dev/null
fi
if command -v podman >/dev/null && [ -d "$P/podman/root" ]; then
  ids=$(podman_cli ps -aq 2>/dev/null); [ -n "$ids" ] && podman_cli rm -f -t 0 $ids >/dev/null
fi
for rt in runc crun; do
  [ -d "$P/$rt-state" ] || continue
  for id in $($rt --root "$P/$rt-state" list -q 2>/dev/null); do
    $rt --root "$P/$rt-state" kill "$id" KILL 2>/dev/null
    $rt --root "$P/$rt-state" delete -f "$id" 2>/dev/null
  done
done

stop_pid() {  # stop_pid PIDFILE COMM
  local pid; pid=$(cat "$1" 2>/dev/null) || return 0
  if alive_as "$pid" "$2"; then
    kill -TERM "$pid"
    local i; for i in $(seq 150); do alive_as "$pid" "$2" || break; sleep 0.1; done
    alive_as "$pid" "$2" && kill -KILL "$pid"
    echo "peers: stopped $2 ($pid)"
  fi
  rm -f "$1"
}
stop_pid "$P/dockerd.pid" dockerd
stop_pid "$P/containerd.pid" containerd
# Shims whose containerd was ours (its socket in their command line), if a container outlived dockerd.
for d in /proc/[0-9]*; do
  [ "$(cat "$d/comm" 2>/dev/null)" = containerd-shim ] || continue
  tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- "-address $CONTAINERD_SOCK" && kill -KILL "${d#/proc/}" && echo "peers: killed leftover shim ${d#/proc/}"
done

hugetlb_restore
for h in /sys/fs/cgroup/*/; do
  for top in vigil-bench-docker vigil-bench-podman vigil-bench-runc vigil-bench-crun; do
    [ -d "$h$top" ] && find "$h$top" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
done
if [ -e "$P/created-run-containerd" ]; then rm -rf /run/containerd; rm -f "$P/created-run-containerd"; fi
rmdir /run/docker/plugins /run/docker 2>/dev/null
# dockerd's private bind of its data root (and overlays of containers that survived)
grep -E " $P/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l

if [ "${1:-}" = --purge ]; then
  if [ -e "$P/created-etc-docker-key" ]; then rm -f /etc/docker/key.json; rmdir /etc/docker 2>/dev/null; fi
  rm -rf "$P"
  echo "peers: purged $P"
fi
exit 0
