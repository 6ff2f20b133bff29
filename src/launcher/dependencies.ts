/**
 * dependsOn at run time: a process is held back (state "starting", with
 * `waiting`) until what it depends on is ready, then started; a process
 * restarted (by its policy or an operator) has its dependents stopped and
 * started again after it, in order. The order itself is pure
 * (policy/dependencies.ts); this module waits and acts.
 *
 * Ready means: running, and if the dependency has a health check, healthy (as
 * the monitor last judged, or by running the check here), and if it has a
 * notify watchdog, READY=1 heard by the monitor (without a monitor nobody
 * can hear it, so running is enough). A dependency not ready within
 * DEPENDENCY_READY_TIMEOUT_MS does not hold its dependents forever: they start
 * anyway, and the note says so.
 *
 * Whoever holds a process back (a CLI, or the monitor) is recorded by its
 * identity; a monitor takes over a hold whose holder is gone.
 */
import { dependentsOf, startOrder } from '../policy/dependencies.js';
import type { ContainerState, ProcessState, Store } from '../state/store.js';
import { NotFoundError, VigilError } from '../util/errors.js';
import { monitorRunning, recordStart, startProcess } from './container.js';
import { runHealthCheck } from './health-exec.js';
import { checkStep, type CheckResult } from '../policy/health.js';
import type { HealthSpec } from './spec-supervision.js';
import { isAlive, readStat, signalIdentified } from './proc.js';
import type { ContainerSpec, ProcessSpec } from './spec.js';

/** The longest a dependent waits for its dependencies to be ready. */
export const DEPENDENCY_READY_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
/** A dependency's own health check is run here at most this often while waiting. */
const OWN_CHECK_EVERY_MS = 500;

export interface Holder {
  pid: number;
  startTime: number;
}

export function currentHolder(): Holder {
  return { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0 };
}

export function holderAlive(h: Holder): boolean {
  return isAlive(h.pid, h.startTime);
}

/** Whether a process's readiness is more than "running" (so its dependents must wait for it). */
export function hasReadiness(p: ProcessSpec): boolean {
  return Boolean(p.health || p.watchdog);
}

/**
 * The processes a container start holds back: those depending, directly or
 * through a held one, on a process whose readiness is more than running.
 */
export function heldAtStart(spec: ContainerSpec): Set<string> {
  const held = new Set<string>();
  for (const name of startOrder(spec.processes)) {
    const p = spec.processes.find((q) => q.name === name)!;
    const deps = (p.dependsOn ?? []).map((d) => spec.processes.find((q) => q.name === d)!);
    if (deps.some((d) => hasReadiness(d) || held.has(d.name))) held.add(name);
  }
  return held;
}

/** Mark a process held back by `holder` until `deps` are ready. Call under the state lock. */
export function hold(p: ProcessState, deps: string[], holder: Holder, cause: string): void {
  p.state = 'starting';
  p.waiting = { for: deps, by: holder, cause, since: new Date().toISOString() };
}

export interface StartNote {
  process: string;
  pid: number | null;
  /** "started as pid 42 after db was ready", or why it was not started. */
  note: string;
  started: boolean;
}

/**
 * Start, in dependency order, every process of `name` held back by `holder`,
 * each once what it depends on is ready. `asRestart` counts the starts as
 * restarts (a restart along with a dependency).
 */
export async function startHeld(store: Store, name: string, holder: Holder, asRestart: boolean, onStart: (n: StartNote) => void = () => {}): Promise<void> {
  const first = store.tryRead(name);
  if (!first) return;
  for (const processName of startOrder(first.spec.processes)) {
    const mine = (s: ContainerState | null) => {
      const p = s?.processes.find((q) => q.name === processName);
      return s?.state === 'running' && p?.state === 'starting' && p.waiting?.by.pid === holder.pid && p.waiting.by.startTime === holder.startTime ? p : null;
    };
    const p = mine(store.tryRead(name));
    if (!p) continue;
    const late = await waitReady(store, name, p.waiting!.for, Date.now() + DEPENDENCY_READY_TIMEOUT_MS);
    const current = store.tryRead(name);
    if (!mine(current)) continue; // stopped (or taken over) while it waited
    const after = late.length ? `although ${late.join(', ')} ${late.length > 1 ? 'were' : 'was'} not ready within ${DEPENDENCY_READY_TIMEOUT_MS} ms` : p.waiting!.for.length ? `after ${p.waiting!.for.join(', ')} ${p.waiting!.for.length > 1 ? 'were' : 'was'} ready` : '';
    let result;
    try {
      result = await startProcess(store, current!, processName);
    } catch (err) {
      const why = err instanceof VigilError ? err.message : String(err);
      // A start that failed is left backing off: a monitor retries it under its policy.
      update(store, name, (s) => {
        const q = mine(s);
        if (q) {
          q.state = 'backing-off';
          q.waiting = null;
        }
      });
      onStart({ process: processName, pid: null, started: false, note: `could not be started: ${why}` });
      continue;
    }
    let recorded = false;
    update(store, name, (s) => {
      const q = mine(s);
      if (!q) return;
      recordStart(q, result, asRestart);
      q.waiting = null;
      if (!asRestart) {
        q.attempt = 0;
        q.lastExit = null;
        q.deaths = [];
      }
      recorded = true;
    });
    if (!recorded) {
      // Stopped while starting: the new process must not outlive that decision.
      signalIdentified(result.pid, result.startTime, 'SIGKILL');
      continue;
    }
    onStart({ process: processName, pid: result.pid, started: true, note: `started as pid ${result.pid}${after ? ` ${after}` : ''}` });
  }
}

/**
 * Restart, after `of` (already restarted), everything that depends on it:
 * held back and stopped (dependents first), then started in order once
 * ready. Processes the operator stopped, or that ended for good, are left.
 */
export async function restartDependents(store: Store, name: string, of: string, cause: string, stopTimeoutMs: number, holder: Holder, onStart?: (n: StartNote) => void): Promise<string[]> {
  const s0 = store.tryRead(name);
  if (!s0) return [];
  const names = dependentsOf(s0.spec.processes, of);
  if (!names.length) return [];
  const stopping: Array<{ pid: number | null; startTime: number | null }> = [];
  const held: string[] = [];
  update(store, name, (s) => {
    if (s.state !== 'running') return;
    for (const n of names) {
      const p = s.processes.find((q) => q.name === n);
      if (!p || p.operatorStop || !['running', 'starting', 'backing-off'].includes(p.state)) continue;
      if (p.state === 'running') stopping.unshift({ pid: p.pid, startTime: p.startTime });
      hold(p, s.spec.processes.find((q) => q.name === n)?.dependsOn ?? [], holder, cause);
      held.push(n);
    }
  });
  for (const p of stopping) await stopGently(p.pid, p.startTime, stopTimeoutMs);
  await startHeld(store, name, holder, true, onStart);
  return held;
}

/** SIGTERM, then SIGKILL after the timeout; resolves when the process is gone. */
async function stopGently(pid: number | null, startTime: number | null, timeoutMs: number): Promise<void> {
  if (!signalIdentified(pid, startTime, 'SIGTERM')) return;
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid, startTime) && Date.now() < deadline) await sleep(10);
  if (signalIdentified(pid, startTime, 'SIGKILL')) {
    const end = Date.now() + 5000;
    while (isAlive(pid, startTime) && Date.now() < end) await sleep(10);
  }
}

/** Wait until every dependency is ready, or the deadline; the names still not ready. */
async function waitReady(store: Store, name: string, deps: string[], deadline: number): Promise<string[]> {
  const lastOwnCheck = new Map<string, number>();
  const ready = new Set<string>();
  for (;;) {
    const s = store.tryRead(name);
    if (!s || s.state !== 'running') return [];
    for (const d of deps) {
      if (!ready.has(d) && (await isReady(store, s, d, lastOwnCheck))) ready.add(d);
    }
    const missing = deps.filter((d) => !ready.has(d));
    if (!missing.length || Date.now() >= deadline) return missing;
    await sleep(POLL_MS);
  }
}

async function isReady(store: Store, s: ContainerState, dep: string, lastOwnCheck: Map<string, number>): Promise<boolean> {
  const p = s.processes.find((q) => q.name === dep);
  const spec = s.spec.processes.find((q) => q.name === dep);
  if (!p || !spec || p.state !== 'running' || !isAlive(p.pid, p.startTime)) return false;
  if (spec.health) {
    if (p.health?.pid === p.pid && p.health.status === 'healthy') return watchdogReady(store, p, spec);
    const last = lastOwnCheck.get(dep) ?? 0;
    if (Date.now() - last < Math.min(spec.health.interval, OWN_CHECK_EVERY_MS)) return false;
    lastOwnCheck.set(dep, Date.now());
    const result = await runHealthCheck(store, s, dep);
    recordOwnCheck(store, s.name, dep, p.pid!, spec.health, result);
    if (!result.ok) return false;
  }
  return watchdogReady(store, p, spec);
}

/**
 * What a check run here said goes into the state as a monitor's would (the
 * same judge, policy/health.ts), so inspect shows the health the start
 * waited for, and a monitor goes on from it rather than from "starting".
 */
function recordOwnCheck(store: Store, name: string, dep: string, pid: number, spec: HealthSpec, result: CheckResult): void {
  update(store, name, (st) => {
    const q = st.processes.find((x) => x.name === dep);
    if (!q || q.pid !== pid || q.state !== 'running') return;
    q.health = checkStep(spec, q.health, pid, q.startedAt, result, Date.now()).health;
  });
}

function watchdogReady(store: Store, p: ProcessState, spec: ProcessSpec): boolean {
  if (!spec.watchdog) return true;
  if (p.notify?.pid === p.pid && p.notify.ready) return true;
  // Only a monitor hears READY=1; without one, running is all that can be known.
  return !monitorRunning(store);
}

function update(store: Store, name: string, change: (s: ContainerState) => void): void {
  try {
    store.update(name, change);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

function sleep(msToWait: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msToWait));
}
