/**
 * Where a spec's bind mount may not go: the kernel trees vigil mounts for
 * every container itself. /proc and /sys carry its security defaults (parts
 * masked, /proc/sys and /sys read-only, the container's own cgroup at
 * /sys/fs/cgroup); a bind at or under them would hide or undo those. /dev is
 * vigil's tmpfs with the nodes and links it makes; other paths under /dev
 * (a socket such as /dev/log, a device) may be bound. Pure.
 */
import path from 'node:path';

/** The nodes, links and mounts vigil makes in the container's /dev (native/helper/create.c make_devices). */
const DEV_OWNED = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'fd', 'stdin', 'stdout', 'stderr'].map((n) => `/dev/${n}`);

function within(p: string, tree: string): boolean {
  return p === tree || p.startsWith(tree + '/');
}

/** An absolute path without ".", empty components or a trailing slash ("//proc/" is "/proc"). */
export function normalTarget(target: string): string {
  const n = path.posix.normalize(target);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Why a bind mount cannot target this path (absolute, without ".."), or null when it can. */
export function ownedTargetProblem(target: string): string | null {
  const t = normalTarget(target);
  if (t === '/') return 'cannot mount over the container root';
  if (within(t, '/proc')) {
    return `${JSON.stringify(target)} lies in /proc, which vigil mounts for the container itself with security defaults (parts masked, /proc/sys read-only); a bind there would hide or undo them`;
  }
  if (within(t, '/sys')) {
    return `${JSON.stringify(target)} lies in /sys, which vigil mounts for the container itself with security defaults (read-only, parts masked, the container's own cgroup at /sys/fs/cgroup); a bind there would hide or undo them`;
  }
  if (t === '/dev') return `${JSON.stringify(target)} is the container's /dev, which vigil makes itself; bind a path under it instead`;
  const owned = DEV_OWNED.find((d) => within(t, d));
  if (owned) return `${JSON.stringify(target)} lies in ${owned}, which vigil makes in the container's /dev itself`;
  return null;
}
