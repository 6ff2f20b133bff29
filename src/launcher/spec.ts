/**
 * The container spec: parsing and validation, pure. An unknown field, a wrong
 * type or an impossible value is refused with the path of the field, and all
 * problems are reported at once. Nothing here touches the host.
 */
import { createRequire } from 'node:module';
import { policyContradictions } from '../policy/consistency.js';
import { ownedTargetProblem } from './mount-targets.js';
import { SpecError, type SpecIssue } from '../util/errors.js';
import { ms, parseDuration, parseSize, type Millis } from '../util/units.js';
import type { OciLayout } from './oci-bundle.js';
import type { LogPolicy } from '../state/log-rotation.js';
import { cpusetSpec, groupsSpec, mapped, rlimitsSpec, securitySpec, umaskSpec, usernsSpec, type Rlimit, type SecuritySpec, type UserNamespace } from './spec-isolation.js';
import { checkDependencies, healthSpec, watchdogSpec, type HealthSpec, type WatchdogSpec } from './spec-supervision.js';

export type { HealthAction, HealthSpec, WatchdogSpec } from './spec-supervision.js';
import { DEFAULT_ESCALATION, escalationSpec, hooksSpec, type EscalationSpec, type HookSpec } from './spec-ops.js';

export const RESTART_POLICIES = ['never', 'on-failure', 'always', 'unless-stopped'] as const;
export type RestartCondition = (typeof RESTART_POLICIES)[number];
/** After give-up: restart the whole container, stop it, or leave the process given up and alert. */
export const GIVE_UP_ACTIONS = ['restart-container', 'stop', 'alert'] as const;
export type GiveUpAction = (typeof GIVE_UP_ACTIONS)[number];

export interface Backoff {
  initial: Millis;
  factor: number;
  max: Millis;
  jitter: number; // 0..1, the fraction by which a delay may vary either way
  resetAfter: Millis; // a process that ran this long starts again from `initial`
  /** Extension: the least time between two starts of the same process, whatever the back-off says. */
  minSpacing: Millis;
}

/** Extension: what an OOM kill or a kernel fault leads to, apart from the restart condition. */
export const FAULT_ACTIONS = ['policy', 'restart', 'leave', 'restart-container'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

export interface RestartPolicy {
  policy: RestartCondition;
  backoff: Backoff;
  giveUp: { deaths: number; within: Millis; then: GiveUpAction } | null;
  successCodes: number[];
  preventCodes: number[];
  /** Extensions (docs/decisions.md, "Operations"): codes that force a restart; OOM and fault rules. */
  forceCodes: number[];
  onOom: FaultAction;
  onFault: FaultAction;
}

export interface MountSpec {
  source: string;
  target: string;
  readonly: boolean;
}

export interface ProcessSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  cwd: string | null;
  user: string | null;
  restart: RestartPolicy;
  /** Extensions (see spec-isolation.ts): null/empty when not given. */
  security: SecuritySpec | null;
  rlimits: Record<string, Rlimit>;
  groups: number[];
  umask: string | null;
  /**
   * Supervision (see spec-supervision.ts). Optional in the type because state
   * written by older builds lacks them: read them with `?? default`.
   */
  critical?: boolean;
  dependsOn?: string[];
  health?: HealthSpec | null;
  watchdog?: WatchdogSpec | null;
}

export interface ContainerSpec {
  name: string;
  /** "host" (image-less) or an absolute directory path. */
  rootfs: string;
  hostname: string;
  network: 'none' | 'host';
  limits: {
    memory: number | null; pids: number | null; cpus: number | null; oomGroup: boolean; cpuWeight: number | null; cpuset: string | null;
    /** The quota period in µs (default 100000); set only from an OCI bundle's cpu.period. */
    cpuPeriod?: number | null;
  };
  /** Extensions: every capability, no masked paths, writable /sys. */
  privileged: boolean;
  security: SecuritySpec;
  mounts: MountSpec[];
  restart: RestartPolicy;
  processes: ProcessSpec[];
  /** A user namespace with these maps (extension); absent or null: none. */
  userns?: UserNamespace | null;
  /** Log rotation of every process's log (absent in state of older builds: the default). */
  logs?: LogPolicy;
  /** Set when the container comes from an OCI bundle: its own filesystem layout and namespaces (oci-bundle.ts). */
  oci?: OciLayout | null;
  /** Extensions (spec-ops.ts): container restarts allowed before it is stopped; alarm hooks. */
  escalation: EscalationSpec;
  hooks: HookSpec[];
}

export const DEFAULT_BACKOFF: Backoff = {
  initial: ms(100),
  factor: 2,
  max: ms(30_000),
  jitter: 0,
  resetAfter: ms(60_000),
  minSpacing: ms(50),
};

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
/** Durations above a day are a typo, not a policy (and timers cannot hold 25 days). */
export const MAX_DURATION = 24 * 3_600_000;
export const MAX_ID = 4_294_967_294; // uid_t and gid_t, less the reserved (uid_t)-1
const MAX_PIDS = 4_194_304; // the kernel's pid_max limit
const MAX_CPUS = 4096;
const MAX_MEMORY = 2 ** 50; // 1 PiB
export const PROCESS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const USER_PATTERN = /^\d+(:\d+)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * What one start can carry, so that a spec the helper or execve(2) would
 * refuse late (E2BIG, after the container was made) is refused here, by field:
 * the helper's lists hold 255 entries (vigil adds PATH, HOSTNAME, HOME,
 * VIGIL_CONTAINER and VIGIL_PROCESS to the env), a mount list 256, its whole
 * configuration 1 MiB; the kernel takes strings of up to MAX_ARG_STRLEN
 * (131072 bytes with the NUL) and paths of up to PATH_MAX.
 */
const MAX_ARGS = 255;
const MAX_ENV = 250;
const MAX_MOUNTS = 256;
const MAX_STRING_BYTES = 131_071;
const MAX_EXEC_BYTES = 512 * 1024;
const MAX_PATH_BYTES = 4095;

type Obj = Record<string, unknown>;

/** Walks untrusted input, collecting issues with their paths. */
export class Checker {
  readonly issues: SpecIssue[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  object(v: unknown, path: string, allowed: readonly string[]): Obj | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.fail(path, `expected a mapping, got ${describe(v)}`);
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) this.fail(join(path, key), `unknown field (known: ${allowed.join(', ')})`);
    }
    return v as Obj;
  }

  string(v: unknown, path: string, pattern?: RegExp, what?: string): string | undefined {
    if (typeof v !== 'string') return this.fail(path, `expected a string, got ${describe(v)}`);
    if (v.includes('\0')) return this.fail(path, 'must not contain a NUL byte');
    if (pattern && !pattern.test(v)) return this.fail(path, `${JSON.stringify(v)} is not ${what ?? `of the form ${pattern.source}`}`);
    return v;
  }

  absolutePath(v: unknown, path: string): string | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    if (!s.startsWith('/')) return this.fail(path, `expected an absolute path, got ${JSON.stringify(s)}`);
    if (Buffer.byteLength(s) > MAX_PATH_BYTES) return this.fail(path, `at most ${MAX_PATH_BYTES} bytes, got ${Buffer.byteLength(s)}`);
    if (s.split('/').includes('..')) return this.fail(path, `".." is not allowed in a path, got ${JSON.stringify(s)}`);
    return s;
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (typeof v !== 'boolean') return this.fail(path, `expected true or false, got ${describe(v)}`);
    return v;
  }

  number(v: unknown, path: string, { min, max, integer }: { min: number; max?: number; integer?: boolean }): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(path, `expected a number, got ${describe(v)}`);
    if (integer && !Number.isInteger(v)) return this.fail(path, `expected a whole number, got ${v}`);
    if (v < min) return this.fail(path, `must be at least ${min}, got ${v}`);
    if (max !== undefined && v > max) return this.fail(path, `must be at most ${max}, got ${v}`);
    return v;
  }

  duration(v: unknown, path: string): Millis | undefined {
    const d = typeof v === 'string' ? parseDuration(v) : null;
    if (d === null) return this.fail(path, `expected a duration such as "500ms", "5s" or "1m", got ${describe(v)}`);
    if (d > MAX_DURATION) return this.fail(path, `must be at most 24h, got ${JSON.stringify(v)}`);
    return d;
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !values.includes(v as T)) {
      return this.fail(path, `expected one of ${values.join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  /** A list of distinct names matching `pattern`. */
  names(v: unknown, path: string, pattern: RegExp): string[] | undefined {
    if (!Array.isArray(v)) return this.fail(path, `expected a list of process names, got ${describe(v)}`);
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = this.string(item, `${path}[${i}]`, pattern, 'a process name');
      if (s === undefined) return;
      if (out.includes(s)) this.fail(`${path}[${i}]`, `"${s}" is listed twice`);
      else out.push(s);
    });
    return out.length === v.length ? out : undefined;
  }

  codes(v: unknown, path: string): number[] | undefined {
    if (!Array.isArray(v)) return this.fail(path, `expected a list of exit codes, got ${describe(v)}`);
    const out: number[] = [];
    v.forEach((c, i) => {
      const n = this.number(c, `${path}[${i}]`, { min: 0, integer: true });
      if (n !== undefined && n > 255) this.fail(`${path}[${i}]`, `an exit code is 0..255, got ${n}`);
      else if (n !== undefined) out.push(n);
    });
    return out;
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  // JSON has no NaN or Infinity (YAML's .nan, .inf, 1e400): it would print them as null.
  return `${typeof v} ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`;
}

function restartPolicy(c: Checker, v: unknown, path: string, inherited: RestartPolicy): RestartPolicy | undefined {
  if (typeof v === 'string') {
    const policy = c.oneOf(v, path, RESTART_POLICIES);
    return policy && { ...inherited, policy };
  }
  const o = c.object(v, path, ['policy', 'backoff', 'giveUp', 'successCodes', 'preventCodes', 'forceCodes', 'onOom', 'onFault']);
  if (!o) return undefined;
  const policy = o.policy === undefined ? inherited.policy : c.oneOf(o.policy, join(path, 'policy'), RESTART_POLICIES);
  let backoff: Backoff | undefined = inherited.backoff;
  if (o.backoff !== undefined) {
    const bp = join(path, 'backoff');
    const b = c.object(o.backoff, bp, ['initial', 'factor', 'max', 'jitter', 'resetAfter', 'minSpacing']);
    if (b) {
      const initial = b.initial === undefined ? DEFAULT_BACKOFF.initial : c.duration(b.initial, join(bp, 'initial'));
      const factor = b.factor === undefined ? DEFAULT_BACKOFF.factor : c.number(b.factor, join(bp, 'factor'), { min: 1, max: 100 });
      const max = b.max === undefined ? DEFAULT_BACKOFF.max : c.duration(b.max, join(bp, 'max'));
      const jitter = b.jitter === undefined ? DEFAULT_BACKOFF.jitter : c.number(b.jitter, join(bp, 'jitter'), { min: 0 });
      const resetAfter = b.resetAfter === undefined ? DEFAULT_BACKOFF.resetAfter : c.duration(b.resetAfter, join(bp, 'resetAfter'));
      const minSpacing = b.minSpacing === undefined ? DEFAULT_BACKOFF.minSpacing : c.duration(b.minSpacing, join(bp, 'minSpacing'));
      if (jitter !== undefined && jitter > 1) c.fail(join(bp, 'jitter'), `must be between 0 and 1, got ${jitter}`);
      if (initial !== undefined && max !== undefined && max < initial) {
        c.fail(join(bp, 'max'), `must not be below backoff.initial (${initial} ms), got ${max} ms`);
      }
      backoff = initial !== undefined && factor !== undefined && max !== undefined && jitter !== undefined && resetAfter !== undefined && minSpacing !== undefined
        ? { initial, factor, max, jitter, resetAfter, minSpacing }
        : undefined;
    }
  }
  let giveUp: RestartPolicy['giveUp'] | undefined = inherited.giveUp;
  if (o.giveUp !== undefined) {
    const gp = join(path, 'giveUp');
    const g = c.object(o.giveUp, gp, ['deaths', 'within', 'then']);
    if (g) {
      const deaths = c.number(g.deaths, join(gp, 'deaths'), { min: 1, integer: true });
      const within = c.duration(g.within, join(gp, 'within'));
      const then = g.then === undefined ? 'alert' : c.oneOf(g.then, join(gp, 'then'), GIVE_UP_ACTIONS);
      if (deaths !== undefined && deaths > 10_000) c.fail(join(gp, 'deaths'), `must be at most 10000, got ${deaths}`);
      giveUp = deaths !== undefined && within !== undefined && then !== undefined ? { deaths, within, then } : undefined;
    }
  }
  const successCodes = o.successCodes === undefined ? inherited.successCodes : c.codes(o.successCodes, join(path, 'successCodes'));
  const preventCodes = o.preventCodes === undefined ? inherited.preventCodes : c.codes(o.preventCodes, join(path, 'preventCodes'));
  const forceCodes = o.forceCodes === undefined ? inherited.forceCodes : c.codes(o.forceCodes, join(path, 'forceCodes'));
  const onOom = o.onOom === undefined ? inherited.onOom : c.oneOf(o.onOom, join(path, 'onOom'), FAULT_ACTIONS);
  const onFault = o.onFault === undefined ? inherited.onFault : c.oneOf(o.onFault, join(path, 'onFault'), FAULT_ACTIONS);
  if (policy === undefined || backoff === undefined || giveUp === undefined || !successCodes || !preventCodes || !forceCodes || !onOom || !onFault) return undefined;
  const rules = { policy, backoff, giveUp, successCodes, preventCodes, forceCodes, onOom, onFault };
  for (const { field, message } of policyContradictions(rules)) c.fail(join(path, field), message);
  return rules;
}

export const DEFAULT_RESTART: RestartPolicy = {
  policy: 'on-failure',
  backoff: DEFAULT_BACKOFF,
  giveUp: null,
  successCodes: [0],
  preventCodes: [],
  forceCodes: [],
  onOom: 'policy',
  onFault: 'policy',
};

function processSpec(c: Checker, v: unknown, path: string, inherited: RestartPolicy): ProcessSpec | undefined {
  const o = c.object(v, path, ['name', 'command', 'env', 'cwd', 'user', 'restart', 'security', 'rlimits', 'groups', 'umask', 'critical', 'dependsOn', 'health', 'watchdog']);
  if (!o) return undefined;
  const name = c.string(o.name, join(path, 'name'), PROCESS_NAME_PATTERN, 'a process name (letters, digits, "_", ".", "-"; at most 63)');
  let command: string[] | undefined;
  if (!Array.isArray(o.command) || o.command.length === 0) {
    c.fail(join(path, 'command'), `expected a non-empty argv list such as ["/usr/bin/node", "server.js"], got ${describe(o.command)}`);
  } else {
    command = [];
    if (o.command.length > MAX_ARGS) c.fail(join(path, 'command'), `at most ${MAX_ARGS} arguments, got ${o.command.length}`);
    o.command.forEach((arg, i) => {
      const s = c.string(arg, `${join(path, 'command')}[${i}]`);
      if (s !== undefined && Buffer.byteLength(s) > MAX_STRING_BYTES) c.fail(`${join(path, 'command')}[${i}]`, `at most ${MAX_STRING_BYTES} bytes, got ${Buffer.byteLength(s)}`);
      else if (s !== undefined) command!.push(s);
    });
    if (command.length !== o.command.length) command = undefined;
  }
  const env: Record<string, string> = {};
  if (o.env !== undefined) {
    const e = c.object(o.env, join(path, 'env'), Object.keys(o.env ?? {}));
    if (e && Object.keys(e).length > MAX_ENV) c.fail(join(path, 'env'), `at most ${MAX_ENV} variables, got ${Object.keys(e).length}`);
    for (const [k, val] of Object.entries(e ?? {})) {
      if (!ENV_NAME.test(k)) c.fail(join(join(path, 'env'), k), 'is not a valid environment variable name');
      const s = typeof val === 'number' || typeof val === 'boolean' ? String(val) : c.string(val, join(join(path, 'env'), k));
      const bytes = s === undefined ? 0 : Buffer.byteLength(`${k}=${s}`);
      if (bytes > MAX_STRING_BYTES) c.fail(join(join(path, 'env'), k), `"${k}=value" is at most ${MAX_STRING_BYTES} bytes, got ${bytes}`);
      else if (s !== undefined) env[k] = s;
    }
  }
  const execBytes = [...(command ?? []), ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
  if (execBytes > MAX_EXEC_BYTES) c.fail(path, `the command and env together are at most ${MAX_EXEC_BYTES} bytes, got ${execBytes}`);
  const cwd = o.cwd === undefined ? null : c.absolutePath(o.cwd, join(path, 'cwd'));
  const user = o.user === undefined ? null : c.string(o.user, join(path, 'user'), USER_PATTERN, 'a numeric "uid" or "uid:gid"');
  if (user && user.split(':').some((id) => Number(id) > MAX_ID)) c.fail(join(path, 'user'), `ids are at most ${MAX_ID}, got ${JSON.stringify(user)}`);
  const restart = o.restart === undefined ? inherited : restartPolicy(c, o.restart, join(path, 'restart'), inherited);
  const security = o.security === undefined ? null : securitySpec(c, o.security, join(path, 'security'));
  const rlimits = o.rlimits === undefined ? {} : rlimitsSpec(c, o.rlimits, join(path, 'rlimits'));
  const groups = o.groups === undefined ? [] : groupsSpec(c, o.groups, join(path, 'groups'));
  const umask = o.umask === undefined ? null : umaskSpec(c, o.umask, join(path, 'umask'));
  const critical = o.critical === undefined ? false : c.boolean(o.critical, join(path, 'critical'));
  const dependsOn = o.dependsOn === undefined ? [] : c.names(o.dependsOn, join(path, 'dependsOn'), PROCESS_NAME_PATTERN);
  const health = o.health === undefined || o.health === null ? null : healthSpec(c, o.health, join(path, 'health'), restart);
  const watchdog = o.watchdog === undefined ? null : watchdogSpec(c, o.watchdog, join(path, 'watchdog'));
  if (critical === undefined || dependsOn === undefined || health === undefined || watchdog === undefined) return undefined;
  if (name === undefined || command === undefined || cwd === undefined || user === undefined || restart === undefined) return undefined;
  if (security === undefined || rlimits === undefined || groups === undefined || umask === undefined) return undefined;
  return { name, command, env, cwd, user, restart, security, rlimits, groups, umask, critical, dependsOn, health, watchdog };
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 3;

/** `logs: {maxSize: 10M, keep: 3}`: rotate each process's log at maxSize, keep that many old ones. */
function logPolicy(c: Checker, v: unknown, path: string): LogPolicy | undefined {
  const o = c.object(v, path, ['maxSize', 'keep']);
  if (!o) return undefined;
  let maxBytes: number | undefined = DEFAULT_LOG_MAX_BYTES;
  if (o.maxSize !== undefined) {
    maxBytes = typeof o.maxSize === 'string' ? parseSize(o.maxSize) ?? undefined : undefined;
    if (maxBytes === undefined) c.fail(join(path, 'maxSize'), `expected a size such as "10M", got ${describe(o.maxSize)}`);
    else if (maxBytes < 1024) maxBytes = c.fail(join(path, 'maxSize'), `must be at least 1K, got ${describe(o.maxSize)}`);
    else if (maxBytes > 2 ** 40) maxBytes = c.fail(join(path, 'maxSize'), `must be at most 1T, got ${describe(o.maxSize)}`);
  }
  const keep = o.keep === undefined ? DEFAULT_LOG_KEEP : c.number(o.keep, join(path, 'keep'), { min: 0, max: 100, integer: true });
  return maxBytes === undefined || keep === undefined ? undefined : { maxBytes, keep };
}

/** Validate an already-parsed spec object. Throws SpecError listing every problem. */
export function validateSpec(input: unknown, file: string | null = null): ContainerSpec {
  const c = new Checker();
  const o = c.object(input, '', ['name', 'rootfs', 'hostname', 'network', 'limits', 'mounts', 'restart', 'processes', 'privileged', 'security', 'logs', 'userns', 'escalation', 'hooks']);
  if (!o) throw new SpecError(file, c.issues);

  const name = c.string(o.name, 'name', NAME_PATTERN, 'a container name ([a-z0-9][a-z0-9_.-]{0,62})');
  // Whether a directory rootfs exists is the launcher's check (host-checks.ts): this module touches nothing.
  const rootfs = o.rootfs === undefined || o.rootfs === 'host' ? 'host' : c.absolutePath(o.rootfs, 'rootfs');
  if (rootfs === '/') c.fail('rootfs', 'the host\'s own root is "host" (read-only, image-less); "/" would hand it over writable');
  const privileged = o.privileged === undefined ? false : c.boolean(o.privileged, 'privileged');
  const security = o.security === undefined ? { capabilities: { add: [], drop: [] }, noNewPrivileges: null } : securitySpec(c, o.security, 'security');
  if (privileged && security && (security.capabilities.add.length || security.capabilities.drop.length)) {
    c.fail('security.capabilities', 'privileged: true already grants every capability; give one or the other');
  }
  const hostname = o.hostname === undefined ? name : c.string(o.hostname, 'hostname', /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'a host name');
  const network = o.network === undefined ? 'none' : c.oneOf(o.network, 'network', ['none', 'host'] as const);

  let limits: ContainerSpec['limits'] | undefined = { memory: null, pids: null, cpus: null, oomGroup: false, cpuWeight: null, cpuset: null };
  if (o.limits !== undefined) {
    const l = c.object(o.limits, 'limits', ['memory', 'pids', 'cpus', 'oomGroup', 'cpuWeight', 'cpuset']);
    if (l) {
      let memory: number | null | undefined = null;
      if (l.memory !== undefined && l.memory !== 'max') {
        memory = typeof l.memory === 'number' && Number.isSafeInteger(l.memory) ? l.memory : typeof l.memory === 'string' ? parseSize(l.memory) : null;
        if (memory === null) memory = c.fail('limits.memory', `expected a size such as "256M" or "max", got ${describe(l.memory)}`);
        else if (memory < 4 * 1024 * 1024) memory = c.fail('limits.memory', `must be at least 4M, got ${describe(l.memory)}`);
        else if (memory > MAX_MEMORY) memory = c.fail('limits.memory', `must be at most 1P, got ${describe(l.memory)}`);
      }
      const pids = l.pids === undefined || l.pids === 'max' ? null : c.number(l.pids, 'limits.pids', { min: 1, max: MAX_PIDS, integer: true });
      const cpus = l.cpus === undefined || l.cpus === 'max' ? null : c.number(l.cpus, 'limits.cpus', { min: 0.01, max: MAX_CPUS });
      const oomGroup = l.oomGroup === undefined ? false : c.boolean(l.oomGroup, 'limits.oomGroup');
      // cpu.weight's range (v2); on v1 it becomes cpu.shares.
      const cpuWeight = l.cpuWeight === undefined ? null : c.number(l.cpuWeight, 'limits.cpuWeight', { min: 1, max: 10_000, integer: true });
      const cpuset = l.cpuset === undefined ? null : cpusetSpec(c, l.cpuset, 'limits.cpuset');
      limits = memory !== undefined && pids !== undefined && cpus !== undefined && oomGroup !== undefined && cpuWeight !== undefined && cpuset !== undefined
        ? { memory, pids, cpus, oomGroup, cpuWeight, cpuset }
        : undefined;
    }
  }

  const mounts: MountSpec[] = [];
  if (o.mounts !== undefined) {
    if (!Array.isArray(o.mounts)) c.fail('mounts', `expected a list, got ${describe(o.mounts)}`);
    else if (o.mounts.length > MAX_MOUNTS) c.fail('mounts', `at most ${MAX_MOUNTS}, got ${o.mounts.length}`);
    else o.mounts.forEach((m, i) => {
      const p = `mounts[${i}]`;
      const mo = c.object(m, p, ['source', 'target', 'readonly']);
      if (!mo) return;
      const source = c.absolutePath(mo.source, `${p}.source`);
      const target = c.absolutePath(mo.target, `${p}.target`);
      const readonly = mo.readonly === undefined ? false : c.boolean(mo.readonly, `${p}.readonly`);
      const owned = target === undefined ? null : ownedTargetProblem(target);
      if (owned) c.fail(`${p}.target`, owned);
      if (source && target && readonly !== undefined) mounts.push({ source, target, readonly });
    });
  }

  const userns = o.userns === undefined ? null : usernsSpec(c, o.userns, 'userns');
  if (userns && network === 'host') c.fail('userns', 'a user namespace needs network: none (its /sys can be mounted only in a network namespace of its own)');
  if (userns && privileged) c.fail('userns', 'privileged: true and a user namespace contradict each other; give one or the other');
  const logs = o.logs === undefined ? { maxBytes: DEFAULT_LOG_MAX_BYTES, keep: DEFAULT_LOG_KEEP } : logPolicy(c, o.logs, 'logs');
  const restart = o.restart === undefined ? DEFAULT_RESTART : restartPolicy(c, o.restart, 'restart', DEFAULT_RESTART);
  const processes: ProcessSpec[] = [];
  if (!Array.isArray(o.processes) || o.processes.length === 0) {
    c.fail('processes', `expected a list of at least one process, got ${describe(o.processes)}`);
  } else if (restart) {
    const seen = new Map<string, number>();
    o.processes.forEach((p, i) => {
      const proc = processSpec(c, p, `processes[${i}]`, restart);
      if (!proc) return;
      const first = seen.get(proc.name);
      if (first !== undefined) c.fail(`processes[${i}].name`, `"${proc.name}" is already the name of processes[${first}]`);
      seen.set(proc.name, i);
      processes.push(proc);
    });
    if (processes.length === o.processes.length) checkDependencies(c, processes);
  }
  if (userns) checkUsersMapped(c, userns, processes.map((p, i) => [`processes[${i}]`, p]));
  const escalation = o.escalation === undefined ? DEFAULT_ESCALATION : escalationSpec(c, o.escalation, 'escalation');
  const hooks = o.hooks === undefined ? [] : hooksSpec(c, o.hooks, 'hooks');
  if (c.issues.length || !name || !hostname || !network || !limits || !restart || !rootfs || privileged === undefined || !security || !logs || userns === undefined) throw new SpecError(file, c.issues);
  if (!escalation || !hooks) throw new SpecError(file, c.issues);
  return { name, rootfs, hostname, network, limits, mounts, restart, processes, privileged, security, logs, userns, escalation, hooks };
}

/** In a user namespace, a process's user and groups must be mapped ids, or it could not become them. */
export function checkUsersMapped(c: Checker, userns: UserNamespace, processes: Array<[string, ProcessSpec]>): void {
  for (const [path, p] of processes) {
    const [uid, gid = uid] = (p.user ?? '0:0').split(':').map(Number);
    if (!mapped(userns.uidMap, uid)) c.fail(`${path}.user`, `uid ${uid} is not mapped in the user namespace (userns.uidMap)`);
    if (!mapped(userns.gidMap, gid)) c.fail(`${path}.user`, `gid ${gid} is not mapped in the user namespace (userns.gidMap)`);
    for (const g of p.groups) if (!mapped(userns.gidMap, g)) c.fail(`${path}.groups`, `gid ${g} is not mapped in the user namespace (userns.gidMap)`);
  }
}

/** Parse YAML or JSON text (JSON is YAML) and validate it. */
export function parseSpec(text: string, file: string | null = null): ContainerSpec {
  let doc: unknown;
  try {
    // yaml is loaded only when a spec file is read: it is the largest part of the CLI's load time.
    const YAML = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const parsed = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    // A warning (an unresolved tag such as !!js/function) would otherwise leave
    // the value a plain string and print a Node warning: refuse it instead.
    const problem = parsed.errors[0] ?? parsed.warnings[0];
    if (problem) throw problem;
    doc = parsed.toJS();
  } catch (err) {
    // The first line, without the colon that introduced the library's excerpt.
    const first = (err as Error).message.split('\n')[0].replace(/:$/, '').replace(/; please use YAML\.parseAllDocuments\(\)/, ' (a spec is one document)');
    throw new SpecError(file, [{ path: '', message: `not valid YAML or JSON: ${first}` }]);
  }
  return validateSpec(doc, file);
}
