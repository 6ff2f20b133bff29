/**
 * Spec fields beyond SPEC.md's example (vigil's extensions): security opt-outs
 * (`privileged`, `security`), per-process rlimits, supplementary groups and
 * umask, and the cpu weight and cpuset limits. Pure validation, each problem
 * reported with its field path like the rest of the spec.
 */
import { normalizeCapability, type CapabilityChange } from './capabilities.js';
import { MAX_ID, type Checker } from './spec.js';

export interface SecuritySpec {
  capabilities: CapabilityChange;
  /** null: inherit (a process from its container; a container: true unless privileged). */
  noNewPrivileges: boolean | null;
}

export interface Rlimit {
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

/** Resource names as setrlimit(2) knows them, without RLIMIT_. */
export const RLIMIT_NAMES = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc',
  'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const;

const MAX_GROUPS = 64;
const MAX_CPU_INDEX = 4095;

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function capabilityList(c: Checker, v: unknown, path: string): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return c.fail(path, `expected a list of capability names such as ["NET_ADMIN"], got ${typeof v}`);
  const out: string[] = [];
  let ok = true;
  v.forEach((item, i) => {
    const s = c.string(item, `${path}[${i}]`);
    if (s === undefined) return void (ok = false);
    const name = normalizeCapability(s);
    if (name === null) {
      ok = false;
      c.fail(`${path}[${i}]`, `unknown capability ${JSON.stringify(s)} (names as in capabilities(7), e.g. "NET_ADMIN" or "CAP_SYS_TIME", or "ALL")`);
    } else out.push(name);
  });
  return ok ? out : undefined;
}

export function securitySpec(c: Checker, v: unknown, path: string): SecuritySpec | undefined {
  const o = c.object(v, path, ['capabilities', 'noNewPrivileges']);
  if (!o) return undefined;
  let capabilities: CapabilityChange | undefined = { add: [], drop: [] };
  if (o.capabilities !== undefined) {
    const cp = join(path, 'capabilities');
    const co = c.object(o.capabilities, cp, ['add', 'drop']);
    const add = co && capabilityList(c, co.add, join(cp, 'add'));
    const drop = co && capabilityList(c, co.drop, join(cp, 'drop'));
    capabilities = add && drop ? { add, drop } : undefined;
  }
  const noNewPrivileges = o.noNewPrivileges === undefined ? null : c.boolean(o.noNewPrivileges, join(path, 'noNewPrivileges'));
  if (!capabilities || noNewPrivileges === undefined) return undefined;
  return { capabilities, noNewPrivileges };
}

function limitValue(c: Checker, v: unknown, path: string): number | 'unlimited' | undefined {
  if (v === 'unlimited') return v;
  if (typeof v !== 'number') return c.fail(path, `expected a whole number or "unlimited", got ${JSON.stringify(v)}`);
  return c.number(v, path, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
}

const asNumber = (v: number | 'unlimited') => (v === 'unlimited' ? Infinity : v);

export function rlimitsSpec(c: Checker, v: unknown, path: string): Record<string, Rlimit> | undefined {
  const o = c.object(v, path, RLIMIT_NAMES);
  if (!o) return undefined;
  const out: Record<string, Rlimit> = {};
  let ok = true;
  for (const [name, value] of Object.entries(o)) {
    const p = join(path, name);
    let limit: Rlimit | undefined;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const lo = c.object(value, p, ['soft', 'hard']);
      const soft = lo && limitValue(c, lo.soft, join(p, 'soft'));
      const hard = lo && limitValue(c, lo.hard, join(p, 'hard'));
      if (soft !== undefined && hard !== undefined) {
        if (asNumber(soft) > asNumber(hard)) c.fail(join(p, 'soft'), `must not exceed hard (${hard}), got ${soft}`);
        else limit = { soft, hard };
      }
    } else {
      const both = limitValue(c, value, p);
      if (both !== undefined) limit = { soft: both, hard: both };
    }
    if (limit && RLIMIT_NAMES.includes(name as (typeof RLIMIT_NAMES)[number])) out[name] = limit;
    else ok = false;
  }
  return ok ? out : undefined;
}

export function groupsSpec(c: Checker, v: unknown, path: string): number[] | undefined {
  if (!Array.isArray(v)) return c.fail(path, `expected a list of numeric group ids, got ${typeof v}`);
  if (v.length > MAX_GROUPS) return c.fail(path, `at most ${MAX_GROUPS} groups, got ${v.length}`);
  const out: number[] = [];
  v.forEach((g, i) => {
    const n = c.number(g, `${path}[${i}]`, { min: 0, max: MAX_ID, integer: true });
    if (n !== undefined) out.push(n);
  });
  return out.length === v.length ? out : undefined;
}

export function umaskSpec(c: Checker, v: unknown, path: string): string | undefined {
  if (typeof v === 'number') return c.fail(path, `expected an octal string such as "0027" (quoted: YAML reads 0027 as a number), got ${v}`);
  const s = c.string(v, path, /^0?[0-7]{3}$/, 'an octal umask such as "0027"');
  return s === undefined ? undefined : s.padStart(4, '0');
}

/** "0-3,6": cpu indices and ranges, as cpuset.cpus takes them. */
export function cpusetSpec(c: Checker, v: unknown, path: string): string | undefined {
  const s = c.string(v, path, /^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a list of cpus such as "0-1,3"');
  if (s === undefined) return undefined;
  for (const part of s.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    if (hi < lo) return c.fail(path, `range ${part} runs backwards`);
    if (hi > MAX_CPU_INDEX) return c.fail(path, `cpu ${hi} is beyond ${MAX_CPU_INDEX}`);
  }
  return s;
}

/** The cpus of a cpuset string, for checking against the host's online cpus. */
export function cpusOf(cpuset: string): number[] {
  const out = new Set<number>();
  for (const part of cpuset.split(',').filter(Boolean)) {
    const [lo, hi = lo] = part.split('-').map(Number);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** One line of a uid_map or gid_map: container ids [containerID, containerID+size) are host ids [hostID, ...). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UserNamespace {
  uidMap: IdMapping[];
  gidMap: IdMapping[];
}

const MAX_MAPPINGS = 64;
const ID_LIMIT = 2 ** 32 - 1; // (uid_t)-1 is never an id

function overlap(ranges: Array<[number, number]>): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  return sorted.some((r, i) => i > 0 && r[0] < sorted[i - 1][0] + sorted[i - 1][1]);
}

/** A uid or gid map: whole ranges in bounds, none overlapping on either side, container id 0 mapped. */
export function idMapSpec(c: Checker, v: unknown, path: string, keys: { container: string; host: string; size: string } = { container: 'containerID', host: 'hostID', size: 'size' }): IdMapping[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return c.fail(path, `expected a non-empty list of {${keys.container}, ${keys.host}, ${keys.size}}`);
  if (v.length > MAX_MAPPINGS) return c.fail(path, `at most ${MAX_MAPPINGS} mappings, got ${v.length}`);
  const out: IdMapping[] = [];
  v.forEach((m, i) => {
    const p = `${path}[${i}]`;
    const o = c.object(m, p, [keys.container, keys.host, keys.size]);
    if (!o) return;
    const containerID = c.number(o[keys.container], join(p, keys.container), { min: 0, max: ID_LIMIT - 1, integer: true });
    const hostID = c.number(o[keys.host], join(p, keys.host), { min: 0, max: ID_LIMIT - 1, integer: true });
    const size = c.number(o[keys.size], join(p, keys.size), { min: 1, max: ID_LIMIT, integer: true });
    if (containerID === undefined || hostID === undefined || size === undefined) return;
    if (containerID + size > ID_LIMIT || hostID + size > ID_LIMIT) return void c.fail(join(p, keys.size), `the range runs past id ${ID_LIMIT - 1}`);
    out.push({ containerID, hostID, size });
  });
  if (out.length !== v.length) return undefined;
  if (overlap(out.map((m) => [m.containerID, m.size]))) return c.fail(path, 'container id ranges overlap');
  if (overlap(out.map((m) => [m.hostID, m.size]))) return c.fail(path, 'host id ranges overlap');
  if (!mapped(out, 0)) return c.fail(path, 'container id 0 must be mapped (vigil-init runs as the container\'s root)');
  return out;
}

export function mapped(map: readonly IdMapping[], id: number): boolean {
  return map.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

/** `userns: {uidMap: [...], gidMap: [...]}` (vigil's spec; an OCI bundle's linux.uidMappings give the same). */
export function usernsSpec(c: Checker, v: unknown, path: string): UserNamespace | undefined {
  const o = c.object(v, path, ['uidMap', 'gidMap']);
  if (!o) return undefined;
  const uidMap = idMapSpec(c, o.uidMap, join(path, 'uidMap'));
  const gidMap = idMapSpec(c, o.gidMap, join(path, 'gidMap'));
  return uidMap && gidMap ? { uidMap, gidMap } : undefined;
}

/** The map as the kernel's uid_map/gid_map take it. */
export function idMapText(map: readonly IdMapping[]): string {
  return map.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}
