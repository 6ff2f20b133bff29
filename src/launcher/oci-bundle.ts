/**
 * An OCI runtime bundle's config.json (runtime-spec 1.0/1.1, Linux) as a
 * vigil container spec, pure: the parsed JSON and the bundle's path in, a
 * ContainerSpec out, or a SpecError listing every field vigil cannot honour
 * by its JSON path. Nothing is silently ignored: a field is either carried
 * into the spec, shown to have the same effect as what vigil does, or refused.
 *
 * The bundle's one process becomes the business process `main`
 * (OCI_PROCESS_NAME), watched and restarted like any other.
 */
import path from 'node:path';
import { SpecError } from '../util/errors.js';
import { normalizeCapability } from './capabilities.js';
import { idMapSpec, RLIMIT_NAMES, type Rlimit, type UserNamespace } from './spec-isolation.js';
import { absolute, join, known, list, obj, strings, uint, WHY } from './oci-fields.js';
import { bundleMounts, MS, type LayoutMount } from './oci-mounts.js';
import { DEFAULT_ESCALATION } from './spec-ops.js';
import { Checker, checkUsersMapped, DEFAULT_RESTART, NAME_PATTERN, type ContainerSpec, type RestartPolicy } from './spec.js';

export { MS, type LayoutMount };

export const OCI_PROCESS_NAME = 'main';

/** What an OCI bundle sets that vigil's own spec leaves to defaults. */
export interface OciLayout {
  bundle: string;
  rootReadonly: boolean;
  mounts: LayoutMount[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** pid and mount namespaces are always new; these follow the bundle. */
  namespaces: { ipc: boolean; uts: boolean; cgroup: boolean };
  annotations: Record<string, string>;
}

const NAMESPACES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

/** Fields accepted at each level; anything else is refused by name. */
const KNOWN = {
  top: ['ociVersion', 'root', 'process', 'hostname', 'mounts', 'linux', 'annotations'],
  root: ['path', 'readonly'],
  process: ['terminal', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'],
  user: ['uid', 'gid', 'umask', 'additionalGids'],
  capabilities: ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'],
  linux: ['namespaces', 'resources', 'maskedPaths', 'readonlyPaths', 'rootfsPropagation', 'sysctl', 'devices', 'uidMappings', 'gidMappings'],
  resources: ['devices', 'memory', 'cpu', 'pids'],
  memory: ['limit'],
  cpu: ['shares', 'quota', 'period', 'cpus'],
  pids: ['limit'],
} as const;

/** A capability list as vigil's names; every entry must be known. */
function capabilityNames(c: Checker, v: unknown, p: string): string[] | undefined {
  const names = strings(c, v, p);
  if (!names) return undefined;
  const out: string[] = [];
  names.forEach((n, i) => {
    const name = normalizeCapability(n);
    if (name === null || name === 'ALL') c.fail(join(p, i), `unknown capability ${JSON.stringify(n)}`);
    else out.push(name);
  });
  return out.length === names.length ? out : undefined;
}

/**
 * Capabilities: for a root process the kernel makes effective and permitted
 * equal to the bounding set at exec, whatever was set before; for another
 * user only ambient capabilities survive exec, and the kernel raises those
 * only if they are inheritable too. vigil applies the bounding set and keeps
 * inheritable and ambient empty, so it accepts what has that same outcome.
 */
function capabilities(c: Checker, v: unknown, p: string): string[] | undefined {
  const o = obj(c, v, p);
  if (!o) return undefined;
  known(c, o, p, KNOWN.capabilities);
  const bounding = o.bounding === undefined ? [] : capabilityNames(c, o.bounding, join(p, 'bounding'));
  if (!bounding) return undefined;
  for (const set of ['effective', 'permitted'] as const) {
    const names = o[set] === undefined ? [] : capabilityNames(c, o[set], join(p, set));
    const outside = names?.filter((n) => !bounding.includes(n)) ?? [];
    if (outside.length) c.fail(join(p, set), `${outside.join(', ')} not in the bounding set: vigil gives a root process exactly the bounding set (as the kernel does at exec); add them to bounding or remove them here`);
  }
  const inheritable = o.inheritable === undefined ? [] : capabilityNames(c, o.inheritable, join(p, 'inheritable'));
  if (inheritable?.length) c.fail(join(p, 'inheritable'), `not supported by vigil: ${WHY['process.capabilities.inheritable']}`);
  // The kernel raises an ambient capability only if it is also inheritable
  // (runc ignores that failure): with inheritable empty, ambient capabilities
  // end up empty under runc as under vigil. For root they are in the bounding
  // set, so effective, anyway.
  const ambient = o.ambient === undefined ? [] : capabilityNames(c, o.ambient, join(p, 'ambient'));
  const outside = ambient?.filter((n) => !bounding.includes(n)) ?? [];
  if (outside.length) c.fail(join(p, 'ambient'), `${outside.join(', ')} not in the bounding set`);
  return bounding;
}

/** OCI rlimits ([{type: "RLIMIT_NOFILE", soft, hard}]) as vigil's. */
function rlimits(c: Checker, v: unknown, p: string): Record<string, Rlimit> | undefined {
  const a = list(c, v, p);
  if (!a) return undefined;
  const out: Record<string, Rlimit> = {};
  let ok = true;
  a.forEach((item, i) => {
    const ip = join(p, i);
    const o = obj(c, item, ip);
    if (!o) return void (ok = false);
    known(c, o, ip, ['type', 'soft', 'hard']);
    const type = c.string(o.type, join(ip, 'type'));
    const name = type?.replace(/^RLIMIT_/, '').toLowerCase();
    if (type !== undefined && !(RLIMIT_NAMES as readonly string[]).includes(name!)) {
      ok = false;
      c.fail(join(ip, 'type'), `unknown rlimit ${JSON.stringify(type)} (RLIMIT_NOFILE, RLIMIT_NPROC, ...)`);
    } else if (name && out[name]) {
      ok = false;
      c.fail(join(ip, 'type'), `${type} is given twice`);
    }
    const soft = limitValue(c, o.soft, join(ip, 'soft'));
    const hard = limitValue(c, o.hard, join(ip, 'hard'));
    if (soft === undefined || hard === undefined || !name) return void (ok = false);
    if ((soft === 'unlimited' ? Infinity : soft) > (hard === 'unlimited' ? Infinity : hard)) {
      ok = false;
      c.fail(join(ip, 'soft'), `must not exceed hard (${hard}), got ${soft}`);
    }
    out[name] = { soft, hard };
  });
  return ok ? out : undefined;
}

/** A uint64 limit: 2^64-1 (RLIM_INFINITY) is unlimited; JSON numbers lose precision above 2^53. */
function limitValue(c: Checker, v: unknown, p: string): number | 'unlimited' | undefined {
  if (typeof v === 'number' && v >= 2 ** 64 - 1) return 'unlimited';
  return c.number(v, p, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
}

interface Namespaces {
  network: boolean;
  ipc: boolean;
  uts: boolean;
  cgroup: boolean;
  user: boolean;
}

function namespaces(c: Checker, v: unknown, p: string): Namespaces | undefined {
  const a = list(c, v, p);
  if (!a) return undefined;
  const seen = new Set<string>();
  a.forEach((item, i) => {
    const ip = join(p, i);
    const o = obj(c, item, ip);
    if (!o) return;
    known(c, o, ip, ['type', 'path']);
    if (o.path !== undefined) c.fail(join(ip, 'path'), 'joining an existing namespace is not supported by vigil (each container has its own)');
    const type = c.oneOf(o.type, join(ip, 'type'), NAMESPACES);
    if (type === undefined) return;
    if (seen.has(type)) c.fail(join(ip, 'type'), `${type} is given twice`);
    if (type === 'time') c.fail(ip, 'a time namespace is not supported by vigil');
    seen.add(type);
  });
  for (const needed of ['pid', 'mount']) {
    if (!seen.has(needed)) c.fail(p, `vigil always gives a container its own ${needed} namespace (vigil-init is its PID 1 and assembles its root): add {"type": "${needed}"}`);
  }
  return { network: seen.has('network'), ipc: seen.has('ipc'), uts: seen.has('uts'), cgroup: seen.has('cgroup'), user: seen.has('user') };
}

interface Resources {
  limits: ContainerSpec['limits'];
  denyAllDevices: boolean;
}

const MAX_PIDS = 4_194_304;

function resources(c: Checker, v: unknown, p: string): Resources | undefined {
  const o = obj(c, v, p);
  if (!o) return undefined;
  known(c, o, p, KNOWN.resources);
  const limits: ContainerSpec['limits'] = { memory: null, pids: null, cpus: null, oomGroup: false, cpuWeight: null, cpuset: null, cpuPeriod: null };
  let denyAllDevices = false;
  if (o.devices !== undefined) {
    const dp = join(p, 'devices');
    const rules = list(c, o.devices, dp);
    rules?.forEach((rule, i) => {
      const r = obj(c, rule, join(dp, i));
      if (!r) return;
      known(c, r, join(dp, i), ['allow', 'access', 'type', 'major', 'minor']);
      const denyAll = r.allow === false && (r.type === undefined || r.type === 'a') && r.major === undefined && r.minor === undefined
        && (r.access === undefined || r.access === 'rwm');
      if (!denyAll) c.fail(join(dp, i), 'device rules other than deny-all ({"allow": false, "access": "rwm"}) are not supported by vigil');
      else denyAllDevices = true;
    });
  }
  if (o.memory !== undefined) {
    const mp = join(p, 'memory');
    const m = obj(c, o.memory, mp);
    if (m) {
      known(c, m, mp, KNOWN.memory);
      if (m.limit !== undefined && m.limit !== -1) {
        const limit = c.number(m.limit, join(mp, 'limit'), { min: 4 * 1024 * 1024, max: 2 ** 50, integer: true });
        if (limit !== undefined) limits.memory = limit;
      }
    }
  }
  if (o.pids !== undefined) {
    const pp = join(p, 'pids');
    const m = obj(c, o.pids, pp);
    if (m) {
      known(c, m, pp, KNOWN.pids);
      // runtime-spec: 0 or below is no limit.
      if (typeof m.limit === 'number' && m.limit <= 0) limits.pids = null;
      else {
        const limit = c.number(m.limit, join(pp, 'limit'), { min: 1, max: MAX_PIDS, integer: true });
        if (limit !== undefined) limits.pids = limit;
      }
    }
  }
  if (o.cpu !== undefined) {
    const cp = join(p, 'cpu');
    const m = obj(c, o.cpu, cp);
    if (m) {
      known(c, m, cp, KNOWN.cpu);
      if (m.shares !== undefined) {
        // v1 cpu.shares (default 1024) as vigil's cpu weight (default 100): proportional, as systemd maps them.
        const shares = c.number(m.shares, join(cp, 'shares'), { min: 2, max: 262_144, integer: true });
        if (shares !== undefined) limits.cpuWeight = Math.min(10_000, Math.max(1, Math.round((shares * 100) / 1024)));
      }
      const period = m.period === undefined ? 100_000 : c.number(m.period, join(cp, 'period'), { min: 1000, max: 1_000_000, integer: true });
      if (m.quota !== undefined && m.quota !== -1) {
        const quota = c.number(m.quota, join(cp, 'quota'), { min: 1000, max: 2 ** 40, integer: true });
        if (quota !== undefined && period !== undefined) {
          limits.cpus = quota / period;
          limits.cpuPeriod = period;
        }
      }
      if (m.cpus !== undefined) {
        const cpus = c.string(m.cpus, join(cp, 'cpus'), /^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a list of cpus such as "0-1,3"');
        if (cpus) limits.cpuset = cpus;
      }
    }
  }
  return { limits, denyAllDevices };
}

/**
 * Translate a parsed config.json. `bundle` is the bundle directory
 * (absolute); `name` the container's name; `restart` the policy of `main`.
 */
export function translateBundle(config: unknown, bundle: string, name: string, restart: RestartPolicy = DEFAULT_RESTART, file = path.join(bundle, 'config.json')): ContainerSpec {
  const c = new Checker();
  const o = obj(c, config, '');
  if (!o) throw new SpecError(file, c.issues);
  known(c, o, '', KNOWN.top);
  if (!NAME_PATTERN.test(name)) c.fail('--name', `${JSON.stringify(name)} is not a container name ([a-z0-9][a-z0-9_.-]{0,62}); give one with --name`);

  const version = c.string(o.ociVersion, 'ociVersion');
  if (version !== undefined && !/^1\.[0-9]+\.[0-9]+/.test(version)) c.fail('ociVersion', `runtime-spec ${JSON.stringify(version)} is not supported by vigil (1.x)`);

  let rootfs: string | undefined;
  let rootReadonly = false;
  const root = obj(c, o.root, 'root');
  if (root) {
    known(c, root, 'root', KNOWN.root);
    const p = c.string(root.path, 'root.path');
    if (p !== undefined) rootfs = path.resolve(bundle, p);
    if (rootfs === '/') c.fail('root.path', 'the host\'s own root cannot be a bundle\'s root');
    if (root.readonly !== undefined) rootReadonly = c.boolean(root.readonly, 'root.readonly') ?? false;
  }

  // linux first: the namespaces decide what hostname and mounts may do.
  let ns: Namespaces = { network: false, ipc: false, uts: false, cgroup: false, user: false };
  let userns: UserNamespace | null = null;
  let res: Resources = { limits: { memory: null, pids: null, cpus: null, oomGroup: false, cpuWeight: null, cpuset: null, cpuPeriod: null }, denyAllDevices: false };
  let maskedPaths: string[] = [];
  let readonlyPaths: string[] = [];
  const linux = o.linux === undefined ? c.fail('linux', 'a Linux bundle needs a "linux" object (namespaces at least)') : obj(c, o.linux, 'linux');
  if (linux) {
    known(c, linux, 'linux', KNOWN.linux);
    const n = namespaces(c, linux.namespaces ?? [], 'linux.namespaces');
    if (n) ns = n;
    if (linux.resources !== undefined) res = resources(c, linux.resources, 'linux.resources') ?? res;
    const paths = (key: 'maskedPaths' | 'readonlyPaths') => {
      if (linux[key] === undefined) return [];
      const a = list(c, linux[key], `linux.${key}`) ?? [];
      if (a.length > 64) c.fail(`linux.${key}`, `at most 64 paths, got ${a.length}`);
      return a.map((s, i) => absolute(c, s, `linux.${key}[${i}]`)).filter((s): s is string => s !== undefined);
    };
    maskedPaths = paths('maskedPaths');
    readonlyPaths = paths('readonlyPaths');
    if (linux.rootfsPropagation !== undefined && !['private', 'rprivate'].includes(String(linux.rootfsPropagation))) {
      c.fail('linux.rootfsPropagation', `${JSON.stringify(linux.rootfsPropagation)} is not supported by vigil (its mounts are always private)`);
    }
    if (ns.user) {
      const uidMap = idMapSpec(c, linux.uidMappings, 'linux.uidMappings');
      const gidMap = idMapSpec(c, linux.gidMappings, 'linux.gidMappings');
      if (uidMap && gidMap) userns = { uidMap, gidMap };
    } else {
      for (const key of ['uidMappings', 'gidMappings'] as const) {
        if (linux[key] !== undefined) c.fail(`linux.${key}`, 'given without a user namespace (add {"type": "user"} to linux.namespaces)');
      }
    }
    for (const key of ['sysctl', 'devices'] as const) {
      const v = linux[key];
      const empty = v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && v !== null && Object.keys(v).length === 0);
      if (!empty) c.fail(`linux.${key}`, 'not supported by vigil');
    }
  }

  let hostname = name;
  if (o.hostname !== undefined) {
    const h = c.string(o.hostname, 'hostname', /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'a host name');
    if (h !== undefined) hostname = h;
    if (!ns.uts) c.fail('hostname', 'a hostname needs a uts namespace (add {"type": "uts"} to linux.namespaces)');
  }

  const layoutMounts = o.mounts === undefined ? [] : bundleMounts(c, o.mounts, 'mounts', bundle);
  // In a user namespace the kernel mounts sysfs only in a network namespace, and mqueue only in an ipc namespace, of its own.
  if (userns) layoutMounts?.forEach((m, i) => {
    if (m.fstype === 'sysfs' && !ns.network) c.fail(`mounts[${i}]`, 'sysfs in a user namespace needs a network namespace too (add {"type": "network"})');
    if (m.fstype === 'mqueue' && !ns.ipc) c.fail(`mounts[${i}]`, 'mqueue in a user namespace needs an ipc namespace too (add {"type": "ipc"})');
  });

  let proc: ContainerSpec['processes'][number] | undefined;
  let bounding: string[] | undefined;
  let noNewPrivileges = false;
  const po = obj(c, o.process, 'process');
  if (po) {
    known(c, po, 'process', KNOWN.process);
    if (po.terminal !== undefined && c.boolean(po.terminal, 'process.terminal') === true) {
      c.fail('process.terminal', WHY['process.terminal']);
    }
    const args = strings(c, po.args, 'process.args');
    if (args && args.length === 0) c.fail('process.args', 'must name the program to run');
    const env: Record<string, string> = {};
    (po.env === undefined ? [] : strings(c, po.env, 'process.env') ?? []).forEach((entry, i) => {
      const eq = entry.indexOf('=');
      if (eq <= 0) c.fail(`process.env[${i}]`, `expected "NAME=value", got ${JSON.stringify(entry)}`);
      else env[entry.slice(0, eq)] = entry.slice(eq + 1);
    });
    const cwd = absolute(c, po.cwd, 'process.cwd');
    let uid = 0;
    let gid = 0;
    let groups: number[] = [];
    let umask: string | null = null;
    const user = obj(c, po.user, 'process.user');
    if (user) {
      known(c, user, 'process.user', KNOWN.user);
      uid = uint(c, user.uid, 'process.user.uid') ?? 0;
      gid = uint(c, user.gid, 'process.user.gid') ?? 0;
      if (user.additionalGids !== undefined) {
        const a = list(c, user.additionalGids, 'process.user.additionalGids') ?? [];
        if (a.length > 64) c.fail('process.user.additionalGids', `at most 64 groups, got ${a.length}`);
        groups = a.map((g, i) => uint(c, g, `process.user.additionalGids[${i}]`)).filter((g): g is number => g !== undefined);
      }
      if (user.umask !== undefined) {
        const m = uint(c, user.umask, 'process.user.umask', 0o777);
        if (m !== undefined) umask = m.toString(8).padStart(4, '0');
      }
    }
    bounding = po.capabilities === undefined ? [] : capabilities(c, po.capabilities, 'process.capabilities');
    const limits = po.rlimits === undefined ? {} : rlimits(c, po.rlimits, 'process.rlimits');
    if (po.noNewPrivileges !== undefined) noNewPrivileges = c.boolean(po.noNewPrivileges, 'process.noNewPrivileges') ?? false;
    if (args && args.length && cwd !== undefined && limits) {
      proc = { name: OCI_PROCESS_NAME, command: args, env, cwd, user: `${uid}:${gid}`, restart, security: null, rlimits: limits, groups, umask };
    }
  }

  // A deny-all device rule is what vigil's /dev gives by construction (the
  // standard nodes only, which runc allows too); it holds only if no process
  // can make a node and no bind brings one in: MKNOD must be gone, and binds
  // get nodev.
  if (res.denyAllDevices && bounding?.includes('MKNOD')) {
    c.fail('linux.resources.devices', 'vigil enforces a deny-all device rule by giving no way to make or reach a device node: remove CAP_MKNOD from process.capabilities.bounding, or the rule');
  }
  const finalMounts = (layoutMounts ?? []).map((m) => (res.denyAllDevices && m.kind === 'bind' ? { ...m, flags: m.flags | MS.NODEV } : m));

  const annotations: Record<string, string> = {};
  if (o.annotations !== undefined) {
    const a = obj(c, o.annotations, 'annotations');
    for (const [k, v] of Object.entries(a ?? {})) {
      const s = c.string(v, `annotations.${k}`);
      if (s !== undefined) annotations[k] = s;
    }
  }

  if (userns && proc) checkUsersMapped(c, userns, [['process', proc]]);
  if (c.issues.length || !proc || !rootfs || !bounding || !layoutMounts) throw new SpecError(file, c.issues);
  return {
    name,
    rootfs,
    hostname,
    network: ns.network ? 'none' : 'host',
    limits: res.limits,
    privileged: false,
    security: { capabilities: { drop: ['ALL'], add: bounding }, noNewPrivileges },
    mounts: [],
    restart,
    processes: [proc],
    escalation: DEFAULT_ESCALATION,
    hooks: [],
    userns,
    oci: {
      bundle,
      rootReadonly,
      mounts: finalMounts,
      maskedPaths,
      readonlyPaths,
      namespaces: { ipc: ns.ipc, uts: ns.uts, cgroup: ns.cgroup },
      annotations,
    },
  };
}
