/**
 * An OCI bundle's mounts as the helper makes them, pure: mount options that
 * are MS_* flags become flags, propagation options propagation, any other
 * option of a filesystem mount its data; a bind's relative source is the
 * bundle's. Types other than bind, proc, sysfs, tmpfs, devpts, mqueue and
 * cgroup are refused by their path.
 */
import path from 'node:path';
import { absolute, join, known, list, obj, strings } from './oci-fields.js';
import type { Checker } from './spec.js';

/** MS_* flags from linux/mount.h. */
export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, DIRSYNC: 128, NOSYMFOLLOW: 256,
  NOATIME: 1024, NODIRATIME: 2048, REC: 16384, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19,
  SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

/** A mount of the bundle, in its order. `cgroup` is resolved when the container's cgroup exists. */
export interface LayoutMount {
  kind: 'filesystem' | 'bind' | 'cgroup';
  destination: string;
  /** bind: an absolute host path; filesystem: the source string given (e.g. "proc"). */
  source: string;
  /** filesystem only: proc, sysfs, tmpfs, devpts, mqueue. */
  fstype: string | null;
  flags: number;
  propagation: number;
  /** Filesystem options the kernel reads (mode=755,size=64k,...). */
  data: string;
  /** A bind without its submounts ("bind" rather than "rbind"). */
  flat: boolean;
}

const FILESYSTEMS = ['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue'];

/** Mount options that are MS_* flags: [set, flag]. */
const FLAG_OPTIONS: Record<string, [boolean, number]> = {
  ro: [true, MS.RDONLY], rw: [false, MS.RDONLY], nosuid: [true, MS.NOSUID], suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV], dev: [false, MS.NODEV], noexec: [true, MS.NOEXEC], exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS], async: [false, MS.SYNCHRONOUS], dirsync: [true, MS.DIRSYNC],
  noatime: [true, MS.NOATIME], atime: [false, MS.NOATIME], nodiratime: [true, MS.NODIRATIME], diratime: [false, MS.NODIRATIME],
  relatime: [true, MS.RELATIME], norelatime: [false, MS.RELATIME], strictatime: [true, MS.STRICTATIME],
  nostrictatime: [false, MS.STRICTATIME], lazytime: [true, MS.LAZYTIME], nolazytime: [false, MS.LAZYTIME],
  nosymfollow: [true, MS.NOSYMFOLLOW], symfollow: [false, MS.NOSYMFOLLOW], defaults: [false, 0], nomand: [false, 0],
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export function bundleMounts(c: Checker, v: unknown, p: string, bundle: string): LayoutMount[] | undefined {
  const a = list(c, v, p);
  if (!a) return undefined;
  const out: LayoutMount[] = [];
  a.forEach((item, i) => {
    const ip = join(p, i);
    const o = obj(c, item, ip);
    if (!o) return;
    known(c, o, ip, ['destination', 'type', 'source', 'options']);
    const destination = absolute(c, o.destination, join(ip, 'destination'));
    if (destination === '/') c.fail(join(ip, 'destination'), 'cannot mount over the container root (that is root.path)');
    const type = o.type === undefined ? null : c.string(o.type, join(ip, 'type'));
    const options = o.options === undefined ? [] : strings(c, o.options, join(ip, 'options'));
    const source = o.source === undefined ? null : c.string(o.source, join(ip, 'source'));
    if (destination === undefined || type === undefined || options === undefined || source === undefined) return;
    const isBind = options.includes('bind') || options.includes('rbind') || type === 'bind';
    let kind: LayoutMount['kind'];
    if (isBind) kind = 'bind';
    else if (type === 'cgroup' || type === 'cgroup2') kind = 'cgroup';
    else if (type !== null && FILESYSTEMS.includes(type)) kind = 'filesystem';
    else {
      c.fail(join(ip, 'type'), `${JSON.stringify(type)} is not supported by vigil (bind, proc, sysfs, tmpfs, devpts, mqueue, cgroup, cgroup2)`);
      return;
    }
    let flags = 0;
    let propagation = 0;
    const data: string[] = [];
    options.forEach((opt, j) => {
      const op = join(join(ip, 'options'), j);
      if (opt === 'bind' || opt === 'rbind') return;
      if (opt in FLAG_OPTIONS) {
        const [set, flag] = FLAG_OPTIONS[opt];
        flags = set ? flags | flag : flags & ~flag;
      } else if (opt in PROPAGATION) propagation = PROPAGATION[opt];
      else if (kind === 'filesystem' && /^[a-z0-9_]+(=[^,]*)?$/i.test(opt)) data.push(opt); // read by the filesystem itself, e.g. mode=755
      else c.fail(op, `${JSON.stringify(opt)} is not a mount option vigil supports${kind === 'filesystem' ? '' : ` for a ${kind} mount`}`);
    });
    let resolved = source ?? type ?? '';
    if (kind === 'bind') {
      if (!source) return void c.fail(join(ip, 'source'), 'a bind mount needs a source');
      // runtime-spec: a relative bind source is relative to the bundle.
      resolved = path.resolve(bundle, source);
    }
    out.push({
      kind, destination, source: resolved, fstype: kind === 'filesystem' ? type : null, flags, propagation,
      data: data.join(','), flat: options.includes('bind') && !options.includes('rbind'),
    });
  });
  return out;
}
