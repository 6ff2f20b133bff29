/**
 * cgroups on the real layouts: pure v2; hybrid (v1 controllers plus a
 * controller-less v2 tree, e.g. /sys/fs/cgroup/unified); and v1 only, where
 * vigil mounts a controller-less v2 tree of its own (VIGIL_V2_MOUNT) and
 * then works as on hybrid. Identity always comes from the v2 tree (its cgroup
 * id is what BPF sees); limits go to v2 controllers where they exist, else to
 * the v1 ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError, UnsupportedError, UsageError } from '../util/errors.js';
import type { ContainerSpec } from './spec.js';
import { sleepSync } from './proc.js';
import { LEAF, ownBase, planV2Controllers, type V2Level } from './cgroup-v2-plan.js';
import { flock, mountCgroup2, type NativeError } from '../tracer/native.js';

export type Controller = 'memory' | 'pids' | 'cpu' | 'cpuset';
const CONTROLLERS: Controller[] = ['memory', 'pids', 'cpu', 'cpuset'];

export interface CgroupLayout {
  /**
   * v2: pure cgroup v2. hybrid: v1 controllers plus a v2 tree the host mounts
   * (systemd's /sys/fs/cgroup/unified). v1: the host mounts only v1
   * hierarchies; identity comes from vigil's own v2 tree at VIGIL_V2_MOUNT,
   * otherwise it behaves exactly as hybrid.
   */
  kind: 'v2' | 'hybrid' | 'v1';
  v2Mount: string;
  v2Controllers: Set<string>;
  /** v1 hierarchy mount points by controller, where the controller is on v1. */
  v1Mounts: Partial<Record<Controller, string>>;
}

/** Where a container's cgroups are: `dirs` are absolute directories to join. */
export interface ContainerCgroups {
  /** The path shown to operators, relative to the v2 root, e.g. "/vigil/dispatch". */
  path: string;
  v2: string;
  v1: Partial<Record<Controller, string>>;
  /** The v2 cgroup id (inode of the v2 directory) as a decimal string. */
  id: string;
}

/**
 * Where vigil mounts a v2 tree of its own on a host that mounts none: one
 * fixed host path for every state root (cgroups of all vigil instances live
 * there), outside /sys/fs/cgroup because a legacy systemd host remounts that
 * tmpfs read-only. It is never unmounted (see docs/decisions.md).
 */
export const VIGIL_V2_MOUNT = '/run/vigil/cgroup2';
const VIGIL_V2_LOCK = '/run/vigil/cgroup2.lock';

/** What /proc/self/mounts says, without touching anything: v2Mount null when no cgroup2 is mounted. */
export function readLayout(mountsText = fs.readFileSync('/proc/self/mounts', 'utf8')): Omit<CgroupLayout, 'v2Mount' | 'v2Controllers'> & { v2Mount: string | null; v2Controllers: Set<string> } {
  let v2Mount: string | null = null;
  const v1Mounts: CgroupLayout['v1Mounts'] = {};
  for (const line of mountsText.split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    // The host's own tree wins over vigil's (should a host mount both).
    if (type === 'cgroup2' && (v2Mount === null || v2Mount === VIGIL_V2_MOUNT || mountPoint === '/sys/fs/cgroup')) v2Mount = mountPoint;
    if (type === 'cgroup') {
      const opts = options.split(',');
      for (const c of CONTROLLERS) if (opts.includes(c) && !v1Mounts[c]) v1Mounts[c] = mountPoint;
    }
  }
  const v2Controllers = v2Mount === null ? new Set<string>() : new Set(readOr(path.join(v2Mount, 'cgroup.controllers'), '').split(/\s+/).filter(Boolean));
  const kind = v2Mount === null || v2Mount === VIGIL_V2_MOUNT ? 'v1' : Object.keys(v1Mounts).length ? 'hybrid' : 'v2';
  return { kind, v2Mount, v2Controllers, v1Mounts };
}

/**
 * The layout vigil works with. With no `mountsText` (the live host) and no
 * cgroup v2 tree mounted, vigil mounts its own at VIGIL_V2_MOUNT first;
 * with `mountsText` it only parses (and refuses a text without cgroup2).
 */
export function detectLayout(mountsText?: string): CgroupLayout {
  let found = readLayout(mountsText);
  if (found.v2Mount === null) {
    if (mountsText !== undefined) throw new UnsupportedError('cgroup2', 'no cgroup v2 hierarchy is mounted; vigil needs one for process identity');
    ensureVigilV2Tree();
    found = readLayout();
    if (found.v2Mount === null) throw new UnsupportedError('cgroup2', `vigil mounted a cgroup v2 tree at ${VIGIL_V2_MOUNT} but /proc/self/mounts does not show it; vigil needs a cgroup v2 tree for process identity`);
  }
  return found as CgroupLayout;
}

/** How the layout is shown to operators (doctor, the monitor's start line, the TUI header). */
export function describeLayout(layout: Pick<CgroupLayout, 'kind' | 'v2Mount'>): 'v2' | 'hybrid' | `v1 (${string})` {
  return layout.kind === 'v1' ? `v1 (vigil's v2 tree at ${layout.v2Mount})` : layout.kind;
}

/**
 * Mount vigil's v2 tree, once per host: under an exclusive flock, so that
 * concurrent commands do not stack two mounts; the second one re-reads the
 * mounts and finds the first one's. A failure is refused with what failed.
 */
function ensureVigilV2Tree(): void {
  try {
    fs.mkdirSync(VIGIL_V2_MOUNT, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw refusal(HostError.from('mkdir', VIGIL_V2_MOUNT, err).message);
  }
  let fd: number;
  try {
    fd = fs.openSync(VIGIL_V2_LOCK, 'a', 0o600);
  } catch (err) {
    throw refusal(HostError.from('open', VIGIL_V2_LOCK, err).message);
  }
  try {
    flock(fd, true, true);
    if (readLayout().v2Mount !== null) return;
    try {
      mountCgroup2(VIGIL_V2_MOUNT);
    } catch (err) {
      const e = err as NativeError;
      // Mounted meanwhile by someone not taking our lock: use that one.
      if (e.errno === 'EBUSY' && readLayout().v2Mount !== null) return;
      throw refusal(`mount -t cgroup2 at ${VIGIL_V2_MOUNT} failed: ${e.errno ?? e.code} (${e.message})`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function refusal(what: string): UnsupportedError {
  return new UnsupportedError('cgroup2', `this host mounts no cgroup v2 tree and vigil could not mount its own: ${what}. vigil needs a cgroup v2 tree for process identity (the cgroup id the tracer sees)`);
}

/** The calling process's own cgroup in the v2 tree and in each v1 hierarchy. */
export function ownCgroups(procSelfCgroup = fs.readFileSync('/proc/self/cgroup', 'utf8')): { v2: string; v1: Map<string, string> } {
  let v2 = '/';
  const v1 = new Map<string, string>();
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3];
    else for (const c of m[2].split(',')) v1.set(c, m[3]);
  }
  return { v2, v1 };
}

/**
 * Resolve a cgroup parent: an absolute parent ("/vigil") is the same path in
 * every hierarchy; a relative one ("vigil-test-1") lies beneath the caller's
 * own cgroup in each hierarchy (what tests use).
 */
export function resolveParent(layout: CgroupLayout, parent: string, own = ownCgroups()): { v2: string; v1: Partial<Record<Controller, string>> } {
  // path.join would resolve ".." and climb out of our own cgroup (or out of the cgroup mount).
  if (parent.split('/').includes('..')) throw new UsageError(`--cgroup-parent: ".." is not allowed, got ${JSON.stringify(parent)}`);
  const under = (base: string) => (parent.startsWith('/') ? parent : path.posix.join(base, parent));
  const v1: Partial<Record<Controller, string>> = {};
  for (const c of CONTROLLERS) {
    const mount = v1Mount(layout, c);
    if (mount) v1[c] = path.join(mount, under(own.v1.get(c) ?? '/'));
  }
  // On v2, vigil's caller may have been moved to LEAF (see cgroup-v2-plan.ts): resolve above it.
  return { v2: path.join(layout.v2Mount, under(ownBase(own.v2))), v1 };
}

/** A controller is used on v1 only when the v2 tree does not offer it. */
function v1Mount(layout: CgroupLayout, c: Controller): string | undefined {
  return layout.v2Controllers.has(c) ? undefined : layout.v1Mounts[c];
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function write(file: string, value: string): void {
  try {
    fs.writeFileSync(file, value);
  } catch (err) {
    throw HostError.from('write', file, err);
  }
}

function hasProcesses(dir: string): boolean {
  return readOr(path.join(dir, 'cgroup.procs'), '') !== '';
}

/** Move every process of `from` into `to` (mkdir'd), until `from` holds none. */
function evacuate(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (let round = 0; round < 20 && hasProcesses(from); round++) {
    for (const pid of readOr(path.join(from, 'cgroup.procs'), '').split('\n').filter(Boolean)) {
      try {
        fs.writeFileSync(path.join(to, 'cgroup.procs'), pid);
      } catch (err) {
        // Exited meanwhile; anything else is a real failure.
        if (!['ESRCH', 'EINVAL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw HostError.from('write', path.join(to, 'cgroup.procs'), err);
      }
    }
  }
}

/**
 * Enable the controllers a container needs in every v2 ancestor's
 * subtree_control, level by level top down (each read after the level above
 * is done), following planV2Controllers. vigil's own cgroup is emptied into
 * a leaf first when it holds processes (the "no internal processes" rule).
 */
function enableV2Controllers(layout: CgroupLayout, dir: string, needed: Controller[], parent: string, own = ownCgroups()): void {
  const wanted = needed.filter((c) => layout.v2Controllers.has(c));
  if (!wanted.length) return;
  const ownDir = path.join(layout.v2Mount, ownBase(own.v2));
  const chain: string[] = [];
  for (let d = path.dirname(dir); d.startsWith(layout.v2Mount); d = path.dirname(d)) {
    chain.unshift(d);
    if (d === layout.v2Mount) break;
  }
  for (const d of chain) {
    const ours = parent.startsWith('/') || d === ownDir || d.startsWith(ownDir + '/');
    if (ours && !fs.existsSync(d)) {
      try {
        fs.mkdirSync(d);
      } catch (err) {
        throw HostError.from('mkdir', d, err);
      }
    }
    const level: V2Level = {
      dir: d,
      root: d === layout.v2Mount,
      available: readOr(path.join(d, 'cgroup.controllers'), '').split(/\s+/).filter(Boolean),
      enabled: readOr(path.join(d, 'cgroup.subtree_control'), '').split(/\s+/).filter(Boolean),
      hasProcesses: d !== layout.v2Mount && hasProcesses(d),
      ours,
      own: d === ownDir,
    };
    for (const step of planV2Controllers([level], wanted)) {
      if (step.kind === 'evacuate') evacuate(step.from, step.to);
      else enableWithRetry(step.dir, step.controllers, level.own ? () => evacuate(d, path.join(d, LEAF)) : null);
    }
  }
}

/** A process may join our own cgroup between the evacuation and the write (EBUSY): evacuate again, a few times. */
function enableWithRetry(dir: string, controllers: string[], reEvacuate: (() => void) | null): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), controllers.map((c) => `+${c}`).join(' '));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || !reEvacuate || attempt >= 5) throw HostError.from('write', path.join(dir, 'cgroup.subtree_control'), err);
      reEvacuate();
    }
  }
}

/**
 * Create a container's cgroups beneath `parent` and apply its limits. On any
 * failure what was created is removed again before the error is thrown.
 */
export function createCgroups(layout: CgroupLayout, parent: string, name: string, limits: ContainerSpec['limits']): ContainerCgroups {
  const base = resolveParent(layout, parent);
  const created: string[] = [];
  const mk = (dir: string) => {
    try {
      if (fs.existsSync(dir)) {
        // Left by a launcher killed before it recorded the cgroup: an empty one
        // is removed (rmdir fails on a cgroup with processes or children).
        try {
          fs.rmdirSync(dir);
        } catch {
          throw Object.assign(new Error('a cgroup of that name already exists and is in use'), { code: 'EEXIST' });
        }
      }
      fs.mkdirSync(dir, { recursive: true });
      created.push(dir);
    } catch (err) {
      throw HostError.from('mkdir', dir, err);
    }
  };
  try {
    const v2 = path.join(base.v2, name);
    const needed: Controller[] = [];
    if (limits.memory !== null) needed.push('memory');
    if (limits.pids !== null) needed.push('pids');
    if (limits.cpus !== null || limits.cpuWeight != null) needed.push('cpu');
    if (limits.cpuset != null) needed.push('cpuset');
    enableV2Controllers(layout, v2, needed, parent);
    mk(v2);
    const v1: ContainerCgroups['v1'] = {};
    for (const c of needed) {
      const parentDir = base.v1[c];
      if (parentDir) {
        v1[c] = path.join(parentDir, name);
        mk(v1[c]!);
        if (c === 'cpuset') inheritV1Cpuset(layout.v1Mounts.cpuset!, v1[c]!);
      } else if (!layout.v2Controllers.has(c)) {
        throw new UnsupportedError(`cgroup-${c}`, `limits need the ${c} controller, which neither the v2 tree nor a v1 hierarchy offers on this host`);
      }
    }
    applyLimits(layout, v2, v1, limits);
    const id = fs.statSync(v2, { bigint: true }).ino.toString();
    return { path: '/' + path.relative(layout.v2Mount, v2), v2, v1, id };
  } catch (err) {
    for (const dir of created.reverse()) removeDir(dir);
    throw err;
  }
}

/**
 * A new v1 cpuset cgroup starts with no cpus and no memory nodes, and no
 * process may join it so: fill each empty level from its parent, top down.
 */
function inheritV1Cpuset(mount: string, dir: string): void {
  const levels: string[] = [];
  for (let d = dir; d.startsWith(mount) && d !== mount; d = path.dirname(d)) levels.unshift(d);
  for (const d of levels) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (readOr(path.join(d, file), '') === '') write(path.join(d, file), readOr(path.join(path.dirname(d), file), ''));
    }
  }
}

/** cpu.weight (1..10000, default 100) as v1 cpu.shares (default 1024), proportionally as systemd does. */
export function weightToShares(weight: number): number {
  return Math.min(262_144, Math.max(2, Math.round((weight * 1024) / 100)));
}

function applyLimits(layout: CgroupLayout, v2: string, v1: ContainerCgroups['v1'], limits: ContainerSpec['limits']): void {
  if (limits.memory !== null) {
    if (layout.v2Controllers.has('memory')) {
      write(path.join(v2, 'memory.max'), String(limits.memory));
      write(path.join(v2, 'memory.swap.max'), '0');
      if (limits.oomGroup) write(path.join(v2, 'memory.oom.group'), '1');
    } else {
      if (limits.oomGroup) {
        throw new UnsupportedError('memory.oom.group', 'limits.oomGroup needs the cgroup v2 memory controller, which this host does not offer (only v1 memory)');
      }
      write(path.join(v1.memory!, 'memory.limit_in_bytes'), String(limits.memory));
      // No swap beyond the limit, as memory.swap.max 0 on v2: a hog is OOM-killed
      // at the limit even on a host with swap (where swap accounting is on).
      const memsw = path.join(v1.memory!, 'memory.memsw.limit_in_bytes');
      if (fs.existsSync(memsw)) write(memsw, String(limits.memory));
    }
  }
  if (limits.pids !== null) {
    write(path.join(layout.v2Controllers.has('pids') ? v2 : v1.pids!, 'pids.max'), String(limits.pids));
  }
  if (limits.cpus !== null) {
    const period = limits.cpuPeriod ?? 100_000;
    const quota = Math.max(1000, Math.round(limits.cpus * period));
    if (layout.v2Controllers.has('cpu')) write(path.join(v2, 'cpu.max'), `${quota} ${period}`);
    else {
      write(path.join(v1.cpu!, 'cpu.cfs_period_us'), String(period));
      write(path.join(v1.cpu!, 'cpu.cfs_quota_us'), String(quota));
    }
  }
  if (limits.cpuWeight != null) {
    if (layout.v2Controllers.has('cpu')) write(path.join(v2, 'cpu.weight'), String(limits.cpuWeight));
    else write(path.join(v1.cpu!, 'cpu.shares'), String(weightToShares(limits.cpuWeight)));
  }
  if (limits.cpuset != null) write(path.join(layout.v2Controllers.has('cpuset') ? v2 : v1.cpuset!, 'cpuset.cpus'), limits.cpuset);
}

/** Every directory a process must join, v2 first. */
export function cgroupDirs(cg: ContainerCgroups): string[] {
  return [cg.v2, ...Object.values(cg.v1)];
}

function processesOf(cg: ContainerCgroups): number[] {
  return [...new Set(cgroupDirs(cg).flatMap((dir) => readOr(path.join(dir, 'cgroup.procs'), '').split('\n').filter(Boolean).map(Number)))];
}

/**
 * SIGKILL whatever is still in a container's cgroups and wait until they are
 * empty. Needed when init is unknown (a launcher killed before it recorded
 * init): the cgroups hold only that container's processes.
 */
export function killCgroupProcesses(cg: ContainerCgroups, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = processesOf(cg);
    if (!pids.length) return true;
    if (Date.now() > deadline) return false;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    sleepSync(10);
  }
}

/**
 * rmdir a cgroup, waiting for dying processes to leave it: a v1 hierarchy
 * stays busy until each exited process is reaped by its parent.
 */
function removeDir(dir: string, waitMs = 10_000): void {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw HostError.from('rmdir', dir, err);
      sleepSync(10);
    }
  }
}

export function removeCgroups(cg: ContainerCgroups): void {
  for (const dir of cgroupDirs(cg).reverse()) removeDir(dir);
}
