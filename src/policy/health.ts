/**
 * Health of one process from its exec checks, pure: a check result and the
 * clock in, the new health and what to do out.
 *
 *   starting ──ok──> healthy ──`retries` failures in a row──> unhealthy
 *      │ failures within startPeriod do not count            │ ok
 *      └──`retries` failures after startPeriod──> unhealthy <─┘ ──ok──> healthy
 *
 * The action (restart, restart-container, alert) fires once, on the change to
 * unhealthy; a new process (another pid) starts again from `starting`.
 */
import type { HealthSpec } from '../launcher/spec.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface Health {
  status: HealthStatus;
  /** The process these results are about: a new pid starts from scratch. */
  pid: number | null;
  /** Failed checks in a row that counted (outside the start period). */
  failures: number;
  /** Wall-clock ms of the last finished check, or null. */
  lastCheckMs: number | null;
  /** What the last check said (its exit, or why it failed), for inspect. */
  lastResult: string | null;
}

export interface CheckResult {
  ok: boolean;
  /** "exit 0", "exit 1", "timed out after 1000 ms", "could not run: ...". */
  detail: string;
}

export interface HealthStep {
  health: Health;
  /** Set when the status changed: the sentence the journal records. */
  change: string | null;
  /** Set once, on the change to unhealthy. */
  action: HealthSpec['onFailure'] | null;
}

export function initialHealth(pid: number | null): Health {
  return { status: 'starting', pid, failures: 0, lastCheckMs: null, lastResult: null };
}

export function onCheckResult(spec: HealthSpec, before: Health, result: CheckResult, startedAtMs: number, nowMs: number): HealthStep {
  const at = { lastCheckMs: nowMs, lastResult: result.detail };
  if (result.ok) {
    const health: Health = { ...before, ...at, status: 'healthy', failures: 0 };
    return { health, change: before.status === 'healthy' ? null : `healthy (${result.detail})`, action: null };
  }
  // A process still in its start period may fail its checks without penalty
  // until it first succeeds (a success ends the start period, as in Docker).
  if (before.status === 'starting' && nowMs - startedAtMs < spec.startPeriod) {
    return { health: { ...before, ...at }, change: null, action: null };
  }
  const failures = before.failures + 1;
  if (failures < spec.retries || before.status === 'unhealthy') {
    return { health: { ...before, ...at, failures }, change: null, action: null };
  }
  return {
    health: { ...before, ...at, failures, status: 'unhealthy' },
    change: `unhealthy: ${failures} failed check(s) in a row, the last ${result.detail}; ${describeAction(spec.onFailure)}`,
    action: spec.onFailure,
  };
}

/**
 * The step a finished check makes for process `pid`, from the health its state
 * records (results about an earlier pid are not carried over) and its start.
 */
export function checkStep(spec: HealthSpec, recorded: Health | null | undefined, pid: number, startedAt: string | null, result: CheckResult, nowMs: number): HealthStep {
  const before = recorded?.pid === pid ? recorded : initialHealth(pid);
  return onCheckResult(spec, before, result, startedAt ? Date.parse(startedAt) : nowMs, nowMs);
}

/** When the next check is due: an interval after the last one, or after the start. */
export function nextCheckMs(spec: HealthSpec, health: Health, startedAtMs: number): number {
  return (health.lastCheckMs ?? startedAtMs) + spec.interval;
}

function describeAction(action: HealthSpec['onFailure']): string {
  switch (action) {
    case 'restart':
      return 'killing it so that its restart policy restarts it';
    case 'restart-container':
      return 'restarting the container';
    case 'alert':
      return 'alert only, left running';
  }
}
