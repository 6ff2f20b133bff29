/**
 * The monitor's exec health checks: wiring only. Each running process with a
 * `health` spec gets its checks run on schedule (launcher/health-exec.ts), the
 * pure state machine (policy/health.ts) judges, the verdict is written to the
 * process's state (inspect, snapshot) and journaled (`kind: health`) when it
 * changes, and the action is taken once:
 *   restart            the process is killed (SIGKILL): its death is then an
 *                      automatic restart under its own restart policy and back-off;
 *   restart-container  through the monitor's container restart;
 *   alert              the record carries `alert: true`; the process is left alone.
 * Checks belong to a pid: a restarted process starts again from `starting`.
 */
import { runHealthCheck } from '../launcher/health-exec.js';
import { signalIdentified } from '../launcher/proc.js';
import { checkStep, initialHealth, nextCheckMs, type HealthStep } from '../policy/health.js';
import type { ContainerState, Store } from '../state/store.js';
import { NotFoundError } from '../util/errors.js';
import type { Reporter } from './report.js';

/** setTimeout's limit; spec durations are capped far below it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface HealthActions {
  restartContainer(name: string, why: string): void;
  /** Run fn; report and swallow what it throws (the monitor must go on). */
  guard(what: string, fn: () => void): void;
}

export class HealthChecks {
  /** Scheduled or running checks, by "container/process/pid". */
  private readonly scheduled = new Map<string, NodeJS.Timeout | 'running'>();
  private stopped = false;

  constructor(private readonly store: Store, private readonly reporter: Reporter, private readonly actions: HealthActions) {}

  /** Start checking what newly runs, forget what no longer does. Cheap: call it on every reconcile. */
  sync(containers: ContainerState[]): void {
    const wanted = new Set<string>();
    for (const c of containers) {
      if (c.state !== 'running') continue;
      for (const p of c.processes) {
        const spec = c.spec.processes.find((q) => q.name === p.name);
        if (!spec?.health || p.state !== 'running' || p.pid === null) continue;
        const key = `${c.name}/${p.name}/${p.pid}`;
        wanted.add(key);
        if (!this.scheduled.has(key)) this.schedule(c.name, p.name, p.pid, c);
      }
    }
    // Only what belongs to the containers given is forgotten (sync may be given one).
    const given = new Set(containers.map((c) => c.name));
    for (const [key, timer] of this.scheduled) {
      if (wanted.has(key) || !given.has(key.slice(0, key.indexOf('/')))) continue;
      if (timer !== 'running') clearTimeout(timer);
      this.scheduled.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.scheduled.values()) if (t !== 'running') clearTimeout(t);
    this.scheduled.clear();
  }

  private schedule(name: string, processName: string, pid: number, c: ContainerState): void {
    const spec = c.spec.processes.find((q) => q.name === processName)?.health;
    const p = c.processes.find((q) => q.name === processName);
    if (!spec || !p || this.stopped) return;
    const health = p.health?.pid === pid ? p.health : initialHealth(pid);
    const startedAtMs = p.startedAt ? Date.parse(p.startedAt) : Date.now();
    const delay = Math.max(0, Math.min(MAX_TIMER_MS, nextCheckMs(spec, health, startedAtMs) - Date.now()));
    const key = `${name}/${processName}/${pid}`;
    this.scheduled.set(key, setTimeout(() => {
      this.scheduled.set(key, 'running');
      void this.check(name, processName, pid).finally(() => {
        if (this.scheduled.get(key) !== 'running') return; // forgotten meanwhile
        this.scheduled.delete(key);
        const now = this.store.tryRead(name);
        if (now) this.sync([now]);
      });
    }, delay));
  }

  private async check(name: string, processName: string, pid: number): Promise<void> {
    const before = this.store.tryRead(name);
    const proc = before?.processes.find((p) => p.name === processName);
    if (!before || before.state !== 'running' || proc?.pid !== pid || proc.state !== 'running') return;
    const result = await runHealthCheck(this.store, before, processName);
    if (this.stopped) return;
    let step: HealthStep | null = null;
    let startTime: number | null = null;
    try {
      this.store.update(name, (s) => {
        const p = s.processes.find((q) => q.name === processName);
        const spec = s.spec.processes.find((q) => q.name === processName)?.health;
        // The process died or was replaced while the check ran: its verdict is moot.
        if (!p || !spec || p.pid !== pid || p.state !== 'running' || s.state !== 'running' || p.operatorStop || s.operatorStop) return;
        step = checkStep(spec, p.health, pid, p.startedAt, result, Date.now());
        p.health = step.health;
        startTime = p.startTime;
      });
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    const s = step as HealthStep | null;
    if (!s?.change) return;
    const unhealthy = s.health.status === 'unhealthy';
    this.reporter.emit({
      kind: 'health', container: name, process: processName, pid, status: s.health.status, action: s.action, alert: unhealthy,
      reason: s.change,
    });
    if (s.action === 'restart') {
      if (!signalIdentified(pid, startTime, 'SIGKILL')) {
        this.reporter.emit({ kind: 'health', container: name, process: processName, pid, status: s.health.status, reason: 'unhealthy, but gone before it could be killed' });
      }
    } else if (s.action === 'restart-container') {
      this.actions.guard('health: restart the container', () => this.actions.restartContainer(name, `${processName} is unhealthy`));
    }
  }
}
