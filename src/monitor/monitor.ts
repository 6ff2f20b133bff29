/**
 * The headless monitor: wiring only. Tracer events in, the pure policy
 * decides, the launcher acts, the reporter tells. The monitor owns no process
 * (it is nobody's parent), so it can stop, crash or be upgraded while
 * containers run: a new one drains the pinned ring buffer and reconciles.
 */
import fs from 'node:fs';
import { BPF_OBJECT_PATH } from '../paths.js';
import type { ExitEvent, OomEvent, SignalEvent, DecodedEvent } from '../events/decode.js';
import { recordStart, startProcess } from '../launcher/container.js';
import { isAlive } from '../launcher/proc.js';
import { decide, describeDeath, type Death } from '../policy/restart.js';
import type { ContainerState, ProcessState, Store } from '../state/store.js';
import { bpffsMount, drops, ensureTracer, openConsumer, watch, type EventConsumer } from '../tracer/tracer.js';
import { flock } from '../tracer/native.js';
import { StateError, VigilError } from '../util/errors.js';
import { monoNow, nsToMs, type MonoNs } from '../util/units.js';
import { attributeExit, describeSender, findProcess, isInit, senderOf, startTicks } from './attribute.js';
import { Reporter } from './report.js';

const RECONCILE_INTERVAL_MS = 2000;
const RECENT_LIMIT = 4096;

export interface MonitorOptions {
  json: boolean;
  write?: (line: string) => void;
}

export class Monitor {
  private consumer: EventConsumer | null = null;
  private lockFd: number | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  /** Pending restarts by "container/process". */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private droppedSeen = 0n;
  private readonly starting = new Set<string>();
  /** Last fatal signal aimed at each pid, to name the sender of a kill. */
  private readonly lastSignal = new Map<number, SignalEvent>();
  private readonly oomVictims = new Set<number>();
  /**
   * Exits in a watched container of pids the state does not name yet: a
   * process can die before whoever started it has recorded its pid.
   * Keyed "pid/startTicks"; claimed once the state names that process.
   */
  private readonly unclaimedExits = new Map<string, ExitEvent>();
  private readonly cgroupNames = new Map<string, string>();
  /** Processes found dead once without an event; a second look makes them lost. */
  private readonly suspects = new Set<string>();
  readonly reporter: Reporter;
  readonly counters = { events: 0, decodeErrors: 0, restarts: 0, lost: 0 };

  constructor(private readonly store: Store, options: MonitorOptions) {
    this.reporter = new Reporter(options.json, options.write);
  }

  start(): void {
    fs.mkdirSync(this.store.root, { recursive: true });
    const fd = fs.openSync(this.store.monitorLockFile, 'w');
    if (!flock(fd, true, false)) {
      fs.closeSync(fd);
      throw new StateError(`another monitor is running for ${this.store.root}`);
    }
    this.lockFd = fd;
    bpffsMount();
    const { loaded } = ensureTracer(BPF_OBJECT_PATH, this.store.pinDir);
    for (const c of this.store.list()) {
      if (c.cgroup && c.state !== 'stopped') watch(this.store.pinDir, BigInt(c.cgroup.id));
    }
    this.consumer = openConsumer(this.store.pinDir, (events, errors) => this.onEvents(events, errors));
    this.reporter.emit({
      kind: 'monitor', container: null, process: null, pid: null,
      reason: `watching ${this.store.list().filter((c) => c.state === 'running').length} running container(s); tracer ${loaded ? 'loaded' : 'already pinned'} at ${this.store.pinDir}`,
    });
    // What waited in the pinned ring buffer while no monitor ran comes first.
    this.consumer.poll();
    this.reconcile();
    this.reconcileTimer = setInterval(() => this.reconcile(), RECONCILE_INTERVAL_MS);
  }

  /** Stop watching; every container keeps running and the tracer stays pinned. */
  stop(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.consumer?.close();
    this.consumer = null;
    if (this.lockFd !== null) fs.closeSync(this.lockFd);
    this.lockFd = null;
  }

  private containerOfCgroup(id: bigint): ContainerState | null {
    const key = id.toString();
    let name = this.cgroupNames.get(key);
    if (!name) {
      for (const c of this.store.list()) {
        if (c.cgroup) this.cgroupNames.set(c.cgroup.id, c.name);
        if (c.lastCgroupId) this.cgroupNames.set(c.lastCgroupId, c.name);
      }
      name = this.cgroupNames.get(key);
    }
    const state = name ? this.store.tryRead(name) : null;
    return state && (state.cgroup?.id === key || state.lastCgroupId === key) ? state : null;
  }

  private onEvents(events: DecodedEvent[], decodeErrors: number): void {
    this.counters.events += events.length;
    if (decodeErrors) {
      this.counters.decodeErrors += decodeErrors;
      this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: `${decodeErrors} tracer record(s) could not be decoded` });
    }
    for (const e of events) {
      try {
        if (e.kind === 'signal') this.onSignal(e);
        else if (e.kind === 'oom') this.onOom(e);
        else this.onExit(e);
      } catch (err) {
        this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: `handling a ${e.kind} event: ${(err as Error).message}` });
      }
    }
  }

  private remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > RECENT_LIMIT) map.delete(map.keys().next().value as K);
  }

  private onSignal(e: SignalEvent): void {
    this.remember(this.lastSignal, e.target.pid, e);
    const c = this.containerOfCgroup(e.cgroupId);
    const proc = c && findProcess(c, e.target.pid, e.target.startBoottimeNs);
    const sender = senderOf(e, (id) => this.containerOfCgroup(id)?.name ?? null);
    this.reporter.emit({
      kind: 'signal', container: c?.name ?? null, process: proc?.name ?? null, pid: e.target.pid,
      signal: e.signal, siCode: e.siCode, sender,
      reason: `${e.target.comm} got signal ${e.signal} from ${sender ? describeSender(sender) : 'the kernel'}`,
    });
  }

  private onOom(e: OomEvent): void {
    this.oomVictims.add(e.victim.pid);
    if (this.oomVictims.size > RECENT_LIMIT) this.oomVictims.delete(this.oomVictims.values().next().value as number);
    const c = this.containerOfCgroup(e.cgroupId);
    const proc = c && findProcess(c, e.victim.pid, e.victim.startBoottimeNs);
    this.reporter.emit({
      kind: 'oom', container: c?.name ?? null, process: proc?.name ?? null, pid: e.victim.pid,
      reason: `the kernel's OOM killer chose ${e.victim.comm}`,
    });
  }

  private onExit(e: ExitEvent): void {
    const c = this.containerOfCgroup(e.cgroupId);
    if (!c) return;
    if (isInit(c, e.task.pid, e.task.startBoottimeNs)) return this.onInitExit(c, e);
    if (!findProcess(c, e.task.pid, e.task.startBoottimeNs)) {
      this.reportIdentityMismatch(c, e.task.pid, e.task.startBoottimeNs);
      // Not (yet) a known business process: keep it, and look again shortly,
      // since whoever started it writes its pid to the state right after exec.
      const key = `${e.task.pid}/${startTicks(e.task.startBoottimeNs)}`;
      this.remember(this.unclaimedExits, key, e);
      this.retryClaim(c.name, e.task.pid, startTicks(e.task.startBoottimeNs), 0);
      return;
    }
    const signal = this.lastSignal.get(e.task.pid) ?? null;
    const sender = signal ? senderOf(signal, (id) => this.containerOfCgroup(id)?.name ?? null) : null;
    const attribution = attributeExit(e, signal, this.oomVictims.has(e.task.pid), sender, new Date());
    this.lastSignal.delete(e.task.pid);
    this.oomVictims.delete(e.task.pid);
    this.handleDeath(c.name, e.task.pid, e.task.startBoottimeNs, attribution.death, attribution.lastExit, e.tsNs);
  }

  /** A pid the state names with another start time: pid reuse, or a bug worth seeing. */
  private reportIdentityMismatch(c: ContainerState, pid: number, startNs: bigint): void {
    const p = c.processes.find((q) => q.pid === pid);
    if (!p) return;
    this.reporter.emit({
      kind: 'error', container: c.name, process: p.name, pid,
      reason: `pid ${pid} started at tick ${startTicks(startNs)} by the kernel's account, but the state has tick ${p.startTime}: not treated as ${p.name}`,
    });
  }

  private retryClaim(name: string, pid: number, startTime: number, attempt: number): void {
    const delays = [20, 100, 500];
    if (attempt >= delays.length) return;
    const key = `claim/${pid}/${startTime}`;
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      if (!this.unclaimedExits.has(`${pid}/${startTime}`)) return;
      const c = this.store.tryRead(name);
      if (c?.processes.some((p) => p.pid === pid && p.startTime === startTime)) this.claimExit(pid, startTime);
      else this.retryClaim(name, pid, startTime, attempt + 1);
    }, delays[attempt]));
  }

  /** Handle an exit that arrived before the state named its process. */
  private claimExit(pid: number | null, startTime: number | null): boolean {
    const key = `${pid}/${startTime}`;
    const e = this.unclaimedExits.get(key);
    if (!e) return false;
    this.unclaimedExits.delete(key);
    this.onExit(e);
    return true;
  }

  private onInitExit(c: ContainerState, e: ExitEvent): void {
    const reason = c.operatorStop ? 'vigil-init ended: operator stop' : `vigil-init died (${e.signal ? `signal ${e.signal}` : `exit ${e.status}`}): the container is down; restarting a container is not automatic in this build`;
    this.reporter.emit({ kind: c.operatorStop ? 'stop' : 'exit', container: c.name, process: null, pid: e.task.pid, reason });
  }

  /**
   * Record a death and decide under the state lock, then act. `exitNs` is the
   * kernel's timestamp of the exit (null when reconciliation found it).
   */
  private handleDeath(name: string, pid: number, startNs: bigint | null, death: Death, lastExit: ProcessState['lastExit'], exitNs: MonoNs | null): void {
    let decisionRecord: ReturnType<typeof decide>['decision'] | null = null;
    let processName = '';
    let decidedNs = monoNow();
    const state = this.store.update(name, (s) => {
      const p = startNs === null ? s.processes.find((q) => q.pid === pid) : findProcess(s, pid, startNs);
      if (!p) return;
      const operator = p.operatorStop || s.operatorStop;
      if (p.state !== 'running' && p.state !== 'starting') {
        // The operator's stop may have recorded the process before this event
        // came: still say so, with the kernel's account of how it ended.
        if (!operator || p.state !== 'stopped') return;
        processName = p.name;
        p.lastExit = { ...lastExit!, reason: 'operator' };
        decisionRecord = { action: 'leave', state: 'stopped', reason: `${describeDeath(death)}: operator stop, not restarted` };
        decidedNs = monoNow();
        return;
      }
      processName = p.name;
      const spec = s.spec.processes.find((q) => q.name === p.name)!;
      const nowMs = Date.now();
      const { decision, history } = decide({
        policy: spec.restart,
        death,
        history: { attempt: p.attempt, startedAtMs: p.startedAt ? Date.parse(p.startedAt) : null, deathsMs: p.deaths.map((d) => Date.parse(d)) },
        operatorStop: p.operatorStop || s.operatorStop,
        nowMs,
      });
      decisionRecord = decision;
      decidedNs = monoNow();
      p.lastExit = p.operatorStop || s.operatorStop ? { ...lastExit!, reason: 'operator' } : lastExit;
      p.deaths = history.deathsMs.map((t) => new Date(t).toISOString());
      p.attempt = history.attempt;
      p.state = decision.action === 'restart' ? 'backing-off' : decision.action === 'give-up' ? 'given-up' : decision.state;
    });
    const decision = decisionRecord as ReturnType<typeof decide>['decision'] | null;
    if (!decision) return;
    const detectionMs = exitNs === null ? null : nsToMs(decidedNs - exitNs);
    const proc = state.processes.find((p) => p.name === processName)!;
    this.reporter.emit({
      kind: death.kind === 'lost' ? 'lost' : 'exit',
      container: name, process: processName, pid,
      code: proc.lastExit?.code ?? null, signal: proc.lastExit?.signal ?? null, exitReason: proc.lastExit?.reason, sender: proc.lastExit?.sender ?? null,
      action: decision.action, delayMs: decision.action === 'restart' ? decision.delay : null,
      detectionMs: detectionMs === null ? null : round(detectionMs),
      reason: `${decision.reason}${detectionMs === null ? '' : ` [detected ${detectionMs.toFixed(2)} ms after the kernel]`}`,
    });
    if (decision.action === 'give-up') {
      this.reporter.emit({ kind: 'give-up', container: name, process: processName, pid, reason: decision.reason, alert: true });
    }
    if (decision.action === 'restart') {
      const key = `${name}/${processName}`;
      clearTimeout(this.timers.get(key));
      this.timers.set(key, setTimeout(() => {
        this.timers.delete(key);
        void this.restart(name, processName, exitNs);
      }, decision.delay));
    }
  }

  private async restart(name: string, processName: string, exitNs: MonoNs | null): Promise<void> {
    const key = `${name}/${processName}`;
    if (this.starting.has(key)) return;
    this.starting.add(key);
    try {
      await this.restartNow(name, processName, exitNs);
    } finally {
      this.starting.delete(key);
    }
  }

  private async restartNow(name: string, processName: string, exitNs: MonoNs | null): Promise<void> {
    const current = this.store.tryRead(name);
    const p = current?.processes.find((q) => q.name === processName);
    // The operator may have stopped it, or the container, while we waited.
    if (!current || current.state !== 'running' || !p || p.state !== 'backing-off' || p.operatorStop) return;
    try {
      const result = await startProcess(this.store, current, processName);
      let started = false;
      this.store.update(name, (s) => {
        const q = s.processes.find((x) => x.name === processName);
        if (s.state !== 'running' || !q || q.state !== 'backing-off' || q.operatorStop) return;
        recordStart(q, result, true);
        started = true;
      });
      if (!started) {
        // Stopped while starting: the new process must not outlive that decision.
        try {
          process.kill(result.pid, 'SIGKILL');
        } catch { /* already gone */ }
        return;
      }
      this.counters.restarts++;
      const recoveryMs = exitNs === null ? null : nsToMs(result.runningNs - exitNs);
      this.reporter.emit({
        kind: 'restart', container: name, process: processName, pid: result.pid,
        recoveryMs: recoveryMs === null ? null : round(recoveryMs),
        reason: `restarted as pid ${result.pid}${recoveryMs === null ? '' : ` (running ${recoveryMs.toFixed(1)} ms after the kernel saw the exit)`}`,
      });
      this.claimExit(result.pid, result.startTime);
    } catch (err) {
      const why = err instanceof VigilError ? err.message : String(err);
      this.store.update(name, (s) => {
        const q = s.processes.find((x) => x.name === processName);
        if (q && q.state === 'backing-off') q.state = 'given-up';
      });
      this.reporter.emit({ kind: 'give-up', container: name, process: processName, pid: null, reason: `restart failed: ${why}`, alert: true });
    }
  }

  /**
   * Catch what the event stream did not deliver: a process marked running
   * whose (pid, start time) is gone twice in a row is handled as lost, and
   * counted. The count should stay 0. Processes left backing off by an
   * earlier monitor are restarted.
   */
  reconcile(): void {
    this.consumer?.poll();
    for (const c of this.store.list()) {
      if (c.state !== 'running') continue;
      for (const p of c.processes) {
        const key = `${c.name}/${p.name}/${p.pid}`;
        if (p.state === 'backing-off' && !this.timers.has(`${c.name}/${p.name}`)) {
          void this.restart(c.name, p.name, null);
        }
        if ((p.state === 'running' || p.state === 'starting') && !isAlive(p.pid, p.startTime)) {
          if (this.claimExit(p.pid, p.startTime)) continue;
          if (!this.suspects.has(key)) {
            this.suspects.add(key);
            continue;
          }
          this.suspects.delete(key);
          this.counters.lost++;
          const at = new Date().toISOString();
          this.handleDeath(c.name, p.pid!, null, { kind: 'lost' }, { code: null, signal: null, reason: 'lost', sender: null, coreDumped: false, at }, null);
        } else {
          this.suspects.delete(key);
        }
      }
    }
    const dropped = drops(this.store.pinDir).reduce((a, b) => a + b, 0n);
    if (dropped > this.droppedSeen) {
      this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: `the tracer dropped ${dropped - this.droppedSeen} more event(s) (ring buffer full; ${dropped} in all)` });
      this.droppedSeen = dropped;
    }
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

