/**
 * The supervision fields of a process spec, pure: `health` (exec checks),
 * `watchdog` (systemd notify protocol), and the checks across processes that
 * `dependsOn` needs (known names, no self-dependency, no cycle).
 */
import { findCycle } from '../policy/dependencies.js';
import { ms, type Millis } from '../util/units.js';
import { join, type Checker, type ProcessSpec, type RestartPolicy } from './spec.js';

export const HEALTH_ACTIONS = ['restart', 'restart-container', 'alert'] as const;
export type HealthAction = (typeof HEALTH_ACTIONS)[number];

export interface HealthSpec {
  /** argv run inside the container, as the process's user, in its cwd; exit 0 = healthy. */
  exec: string[];
  interval: Millis;
  /** A check still running after this is killed (SIGKILL) and counts as failed. */
  timeout: Millis;
  /** Failed checks in a row that make the process unhealthy. */
  retries: number;
  /** Failures this soon after the start do not count (until a first success). */
  startPeriod: Millis;
  onFailure: HealthAction;
}

export interface WatchdogSpec {
  /** WATCHDOG_USEC: the longest silence allowed between WATCHDOG=1 messages. */
  interval: Millis;
}

export const HEALTH_DEFAULTS = { interval: ms(10_000), timeout: ms(5_000), retries: 3, startPeriod: ms(0), onFailure: 'restart' as HealthAction };
/** `watchdog: true` means this interval (systemd has no default; 10 s is a common WatchdogSec). */
export const DEFAULT_WATCHDOG_INTERVAL = ms(10_000);
/** Below these, checks and pings would be noise the monitor cannot judge fairly. */
const MIN_HEALTH_INTERVAL = 100;
const MIN_HEALTH_TIMEOUT = 10;
const MIN_WATCHDOG_INTERVAL = 200;

export function healthSpec(c: Checker, v: unknown, path: string, restart: RestartPolicy | undefined): HealthSpec | undefined {
  const o = c.object(v, path, ['exec', 'interval', 'timeout', 'retries', 'startPeriod', 'onFailure']);
  if (!o) return undefined;
  let exec: string[] | undefined;
  if (!Array.isArray(o.exec) || o.exec.length === 0) {
    c.fail(join(path, 'exec'), `expected a non-empty argv list such as ["/usr/local/bin/check"], got ${describeShort(o.exec)}`);
  } else {
    const args = o.exec.map((a, i) => c.string(a, `${join(path, 'exec')}[${i}]`));
    exec = args.every((a): a is string => a !== undefined) ? args : undefined;
  }
  const interval = o.interval === undefined ? HEALTH_DEFAULTS.interval : c.duration(o.interval, join(path, 'interval'));
  const timeout = o.timeout === undefined ? HEALTH_DEFAULTS.timeout : c.duration(o.timeout, join(path, 'timeout'));
  const retries = o.retries === undefined ? HEALTH_DEFAULTS.retries : c.number(o.retries, join(path, 'retries'), { min: 1, max: 100, integer: true });
  const startPeriod = o.startPeriod === undefined ? HEALTH_DEFAULTS.startPeriod : c.duration(o.startPeriod, join(path, 'startPeriod'));
  const onFailure = o.onFailure === undefined ? HEALTH_DEFAULTS.onFailure : c.oneOf(o.onFailure, join(path, 'onFailure'), HEALTH_ACTIONS);
  if (interval !== undefined && interval < MIN_HEALTH_INTERVAL) c.fail(join(path, 'interval'), `must be at least ${MIN_HEALTH_INTERVAL}ms, got ${interval} ms`);
  if (timeout !== undefined && timeout < MIN_HEALTH_TIMEOUT) c.fail(join(path, 'timeout'), `must be at least ${MIN_HEALTH_TIMEOUT}ms, got ${timeout} ms`);
  if (interval !== undefined && timeout !== undefined && timeout >= interval) {
    c.fail(join(path, 'timeout'), `must be shorter than health.interval (${interval} ms), got ${timeout} ms: a check would still run when the next is due`);
  }
  if (onFailure === 'restart' && restart?.policy === 'never') {
    c.fail(join(path, 'onFailure'), 'is "restart" but this process\'s restart policy is "never", which would leave it dead: choose restart-container or alert, or a restart policy');
  }
  if (!exec || interval === undefined || timeout === undefined || retries === undefined || startPeriod === undefined || onFailure === undefined) return undefined;
  return { exec, interval, timeout, retries, startPeriod, onFailure };
}

/** `watchdog: true | false | {interval: 5s}` (the mapping is vigil's extension). */
export function watchdogSpec(c: Checker, v: unknown, path: string): WatchdogSpec | null | undefined {
  if (v === false || v === null) return null;
  if (v === true) return { interval: DEFAULT_WATCHDOG_INTERVAL };
  if (typeof v !== 'object' || Array.isArray(v)) return c.fail(path, `expected true, false or {interval: DURATION}, got ${describeShort(v)}`);
  const o = c.object(v, path, ['interval']);
  if (!o) return undefined;
  const interval = o.interval === undefined ? DEFAULT_WATCHDOG_INTERVAL : c.duration(o.interval, join(path, 'interval'));
  if (interval !== undefined && interval < MIN_WATCHDOG_INTERVAL) return c.fail(join(path, 'interval'), `must be at least ${MIN_WATCHDOG_INTERVAL}ms, got ${interval} ms`);
  return interval === undefined ? undefined : { interval };
}

/** Every dependsOn names another process of this container, and no chain leads back. */
export function checkDependencies(c: Checker, processes: ProcessSpec[]): void {
  const names = new Set(processes.map((p) => p.name));
  let clean = true;
  processes.forEach((p, i) => {
    (p.dependsOn ?? []).forEach((dep, j) => {
      const at = `processes[${i}].dependsOn[${j}]`;
      if (dep === p.name) {
        c.fail(at, `"${dep}" cannot depend on itself`);
        clean = false;
      } else if (!names.has(dep)) {
        c.fail(at, `unknown process "${dep}" (the container has: ${[...names].join(', ')})`);
        clean = false;
      }
    });
  });
  if (!clean) return;
  const cycle = findCycle(processes);
  if (!cycle) return;
  const i = processes.findIndex((p) => p.name === cycle[0]);
  const j = (processes[i].dependsOn ?? []).indexOf(cycle[1]);
  c.fail(`processes[${i}].dependsOn[${j}]`, `dependency cycle ${cycle.join(' -> ')}`);
}

function describeShort(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? 'a list' : 'an empty list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
