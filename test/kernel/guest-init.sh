#!/bin/busybox sh
# shellcheck shell=dash
# /init of the kernel-matrix initramfs (busybox). Loads the modules 9p and
# overlayfs need, mounts the host's / read-only over 9p with a tmpfs overlay on
# top (so the guest can write anywhere and nothing reaches the host), sets up the
# cgroup layout named on the kernel command line, mounts bpffs and tracefs, then
# switch_roots into the overlay, where stage 2 (this script again, argument
# "stage2") runs the command from /cell/command with its output on the second
# serial port and writes its exit status to the "result" 9p share.
# Kernel command-line parameters read here:
#   vigil.layout=v2|hybrid|v1   vigil.btf=hidden   vigil.timeout=SECONDS
if [ "${1:-}" = stage2 ]; then
  layout=$2; btf=$3; limit=$4
  bb=/run/vigil-cell/busybox
  say() { echo "vigil-cell: $*" > /dev/ttyS0; }
  finish() {
    echo "$1" > /run/vigil-cell/result/status
    $bb sync
    $bb umount /run/vigil-cell/result
    $bb poweroff -f
  }
  # Like a systemd service, the command runs in a cgroup of its own, not in
  # the root: pure v2's "no internal processes" rule then applies to its parent.
  cg=/kernel-cell.service
  for d in $($bb awk '$3 == "cgroup2" || $3 == "cgroup" { print $2 }' /proc/mounts); do
    $bb mkdir -p "$d$cg"
    if [ -f "$d/cpuset.cpus" ] && [ ! -f "$d/cgroup.controllers" ]; then
      $bb cat "$d/cpuset.cpus" > "$d$cg/cpuset.cpus"; $bb cat "$d/cpuset.mems" > "$d$cg/cpuset.mems"
    fi
    echo $$ > "$d$cg/cgroup.procs" 2>/dev/null || say "could not join $d$cg"
  done
  $bb hostname kernel-cell
  say "running the command ($($bb uname -r), $layout, BTF $btf)"
  start=$($bb cut -d. -f1 /proc/uptime)
  $bb timeout "$limit" /bin/sh /run/vigil-cell/command > /dev/ttyS1 2>&1
  status=$?
  # Stopped by the time limit: report 124, as coreutils' timeout does.
  [ "$status" -ge 128 ] && [ $(( $($bb cut -d. -f1 /proc/uptime) - start )) -ge "$limit" ] && status=124
  say "command exited $status"
  finish "$status"
fi
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

layout=v2; btf=shown; limit=600
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vigil.layout=*) layout=${arg#*=} ;;
    vigil.btf=*) btf=${arg#*=} ;;
    vigil.timeout=*) limit=${arg#*=} ;;
  esac
done

say() { echo "vigil-cell: $*" > /dev/ttyS0; }
finish() { # $1: exit status to report
  echo "$1" > /result/status
  sync
  umount /result 2>/dev/null
  poweroff -f
}

for m in $(cat /modules/load-order); do insmod "/modules/$m.ko" 2>/dev/null || say "insmod $m failed"; done
mkdir -p /host /scratch /root /result
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 result /result || { say "no result share"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host || { say "no host share"; finish 125; }
mount -t tmpfs -o mode=0755 scratch /scratch
mkdir -p /scratch/upper /scratch/work
mount -t overlay -o lowerdir=/host,upperdir=/scratch/upper,workdir=/scratch/work overlay /root || { say "overlay failed"; finish 125; }

r=/root
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
# The host's /tmp and /run would show through the lower layer: start empty.
# A command whose directory lies there (a checkout under /tmp, as a CI clone
# may be) keeps that directory: it is set aside and bound back over the tmpfs.
cwd=$(cat /cell/cwd)
case "$cwd" in
  /tmp/*|/run/*) mkdir -p /keep && mount -o bind "$r$cwd" /keep || { say "cannot keep $cwd"; finish 125; } ;;
  *) cwd= ;;
esac
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
mount -t tmpfs -o mode=0755 tmpfs $r/run
if [ -n "$cwd" ]; then
  mkdir -p "$r$cwd" && mount -o bind /keep "$r$cwd" && umount /keep || { say "cannot restore $cwd"; finish 125; }
fi

case "$layout" in
  v2)
    mount -t cgroup2 cgroup2 $r/sys/fs/cgroup || { say "cgroup2 mount failed"; finish 125; } ;;
  hybrid|v1)
    # systemd's hybrid layout: each v1 controller on its own hierarchy, and a
    # controller-less v2 tree at /sys/fs/cgroup/unified. A controller the
    # kernel lacks in v1 (6.12: memory, cpuset) stays with the v2 tree.
    # v1: the same without any v2 tree (a legacy, v1-only systemd host):
    # vigil must mount one of its own.
    mount -t tmpfs -o mode=0755 cgroup $r/sys/fs/cgroup
    tail -n +2 /proc/cgroups | while read -r name _hierarchy _count enabled; do
      [ "$enabled" = 1 ] || continue
      mkdir -p "$r/sys/fs/cgroup/$name"
      mount -t cgroup -o "$name" cgroup "$r/sys/fs/cgroup/$name" 2>/dev/null || rmdir "$r/sys/fs/cgroup/$name"
    done
    if [ "$layout" = hybrid ]; then
      mkdir -p $r/sys/fs/cgroup/unified
      mount -t cgroup2 cgroup2 $r/sys/fs/cgroup/unified || { say "cgroup2 mount failed"; finish 125; }
    fi ;;
  *) say "unknown layout $layout"; finish 125 ;;
esac
# As systemd does at boot: the v2 root hands every controller it has to its
# children (vigil never writes above its own cgroup, so it relies on this).
for v2 in $r/sys/fs/cgroup $r/sys/fs/cgroup/unified; do
  [ -f $v2/cgroup.controllers ] || continue
  for c in $(cat $v2/cgroup.controllers); do echo "+$c" > $v2/cgroup.subtree_control 2>/dev/null || say "cannot enable $c"; done
done
mount -t bpf bpf $r/sys/fs/bpf
mount -t tracefs tracefs $r/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $r/sys/kernel/debug 2>/dev/null
[ "$btf" = hidden ] && mount -t tmpfs -o ro,mode=0755 nobtf $r/sys/kernel/btf

# The overlay becomes the root of everything (switch_root, not chroot): a
# process that joins a mount namespace (setns) lands at that namespace's root,
# which must be the host's tree, not this initramfs. Stage 2 runs from there
# with this script's busybox, kept in the new root's /run.
cell=$r/run/vigil-cell
mkdir -p $cell/result
cp /bin/busybox $cell/busybox
cp /init $cell/init
cp /cell/command $cell/command
umount /result
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 result $cell/result || { say "no result share"; poweroff -f; }
exec switch_root $r /run/vigil-cell/busybox sh /run/vigil-cell/init stage2 "$layout" "$btf" "$limit"
