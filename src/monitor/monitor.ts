/**
 * The headless monitor: wiring only. Tracer events in, the pure policy
 * decides, the launcher acts, the reporter tells. The monitor owns no process
 * (it is nobody's parent), so it can stop, crash or be upgraded while
 * containers run: a new one drains the pinned ring buffer and reconciles.
 */
import fs from 'node:fs';
import { BPF_OBJECT_PATH } from '../paths.js';
import type { DecodedEvent, ExitEvent, OomEvent, SignalEvent, TaskIdentity } from '../events/decode.js';
import { describeLayout, detectLayout } from '../launcher/cgroups.js';
import { recordStart, startProcess } from '../launcher/container.js';
import { isAlive, signalIdentified } from '../launcher/proc.js';
import { signalName } from '../util/signals.js';
import { CONTAINER_RESTART_MARK, escalate, talliesFromRecords } from '../policy/escalation.js';
import { DEFAULT_ESCALATION } from '../launcher/spec-ops.js';
import { decide, describeDeath, isOperatorsDeath, longestRestartDelay, type Death, type Decision } from '../policy/restart.js';
import { criticalReason, isCriticalDeath } from '../policy/critical.js';
import type { ContainerState, LastExit, ProcessState, Store } from '../state/store.js';
import { rotateContainerLogs } from '../state/log-rotation.js';
import { bpffsMount, ensureTracer, openConsumer, tracerSupport, watch, type EventConsumer } from '../tracer/tracer.js';
import { lockPatiently } from '../state/monitor-lock.js';
import { HostError, NotFoundError, StateError, VigilError } from '../util/errors.js';
import { monoNow, nsToMs, type MonoNs } from '../util/units.js';
import { findStartedProcess, helperInFlight, helperTag, ticksSinceBoot } from './adopt.js';
import { attributeExit, describeSender, findProcess, isInit, processOfDeath, sameTask, senderOf, startTicks } from './attribute.js';
import { runVigil } from './cli-actions.js';
import { Reporter } from './report.js';
import { Supervision } from './supervision.js';
import { currentHolder, holderAlive, restartDependents } from '../launcher/dependencies.js';
import { describeReload, reloadSpecs } from './reload.js';
import { originalNice, raiseMonitorPriority } from './priority.js';
import { startControl } from './control.js';
import { journalDir, JournalWriter, readJournal } from '../journal/journal.js';
import type { ControlServer } from '../control/server.js';
import { ProcessTree } from './process-tree.js';
import { seedTree, TracerHealth } from './tracer-health.js';
import { openDegradedSource } from './degraded.js';

const RECONCILE_INTERVAL_MS = 2000;
const RECENT_LIMIT = 4096;
/** How long a starting monitor waits for monitor.lock held by a CLI command's journal append. */
const LOCK_PATIENCE_MS = 1000;
/** Looks for the state to name a process that died at once (ms after its exit). */
const CLAIM_DELAYS_MS = [20, 100, 500];
/** setTimeout's limit; spec durations are capped far below it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface MonitorOptions {
  json: boolean;
  write?: (line: string) => void;
}

export class Monitor {
  private consumer: EventConsumer | null = null;
  private control: ControlServer | null = null;
  private lockFd: number | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  /** Pending restarts ("container/process") and claim retries ("claim/pid/start"). */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Restarts whose helper is running now, by "container/process". */
  private readonly starting = new Set<string>();
  /** Each container's processes and binaries, from fork/exec/exit events. */
  readonly tree = new ProcessTree();
  private readonly tracerHealth: TracerHealth;
  /** Last fatal signal aimed at each pid, to name the sender of a kill. */
  private readonly lastSignal = new Map<number, SignalEvent>();
  /** OOM victims not yet seen exiting, by "pid/start time" (a pid alone is reused). */
  private readonly oomVictims = new Set<string>();
  /**
   * Exits the state could not place yet, keyed "pid/startTicks": a process can
   * die before whoever started it wrote its pid (or its container's cgroup).
   */
  private readonly unclaimedExits = new Map<string, ExitEvent>();
  private readonly cgroupNames = new Map<string, string>();
  /** Processes found dead once without an event; a second look makes them lost. */
  private readonly suspects = new Set<string>();
  private readonly containerRestarts = new Map<string, number[]>();
  private escalationSeeded = false;
  readonly reporter: Reporter;
  /** supervision: exec health checks and the notify watchdog (monitor/supervision.ts). */
  private readonly supervision: Supervision;
  readonly counters = { events: 0, decodeErrors: 0, restarts: 0, lost: 0 };
  /** supervision: this monitor's identity, when it holds processes back for their dependencies. */
  private readonly holder = currentHolder();

  constructor(private readonly store: Store, options: MonitorOptions) {
    this.reporter = new Reporter(options.json, options.write);
    this.tracerHealth = new TracerHealth(store.pinDir);
    this.supervision = new Supervision(store, this.reporter, { restartContainer: (n, why) => this.restartContainer(n, why), guard: (what, fn) => this.guard(what, fn) });
  }

  start(): void {
    let fd: number;
    try {
      fs.mkdirSync(this.store.root, { recursive: true });
      fd = fs.openSync(this.store.monitorLockFile, 'w');
    } catch (err) {
      // A root that is a file, or lies under one: a sentence, not a stack trace.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST') throw new HostError('use the state root', this.store.root, code, 'it, or a directory above it, is not a directory');
      throw HostError.from('open the monitor lock', this.store.monitorLockFile, err);
    }
    // A CLI command journaling while no monitor ran (journal/without-monitor.ts)
    // holds the lock for milliseconds: that is not another monitor.
    if (!lockPatiently(fd, LOCK_PATIENCE_MS)) {
      fs.closeSync(fd);
      throw new StateError(`another monitor is running for ${this.store.root}`);
    }
    this.lockFd = fd;
    const journal = JournalWriter.open(journalDir(this.store.root));
    this.reporter.attachJournal(journal);
    const { cutBytes, cutWhy, lastSeq } = journal.recovery;
    if (cutBytes) this.note(`journal: cut ${cutBytes} byte(s) off its tail (${cutWhy}); numbering continues after seq ${lastSeq}`);
    this.control = startControl(this.store, this.reporter, Date.now(), { tracer: () => this.tracerHealth.view(), tree: (id) => this.tree.view(id), events: () => this.counters.events });
    this.supervision.start();
    const nice = raiseMonitorPriority();
    const priority = nice === null ? 'priority not raised (no CAP_SYS_NICE)' : `running at nice ${nice}`;
    // Also mounts vigil's own v2 tree on a host with none (containers' identity lives there).
    let cgroups: string;
    try {
      cgroups = `cgroups ${describeLayout(detectLayout())}`;
    } catch (err) {
      cgroups = `cgroups unusable: ${(err as Error).message}`;
    }
    const support = tracerSupport();
    if (support.mode === 'degraded') {
      this.startDegraded(support.reason, cgroups);
    } else {
      bpffsMount();
      const { loaded, upgraded, generation } = ensureTracer(BPF_OBJECT_PATH, this.store.pinDir);
      for (const c of this.store.list()) if (c.state === 'running') seedTree(this.tree, c);
      for (const c of this.store.list()) {
        if (c.cgroup) watch(this.store.pinDir, BigInt(c.cgroup.id));
      }
      this.consumer = openConsumer(this.store.pinDir, (events, errors) => this.onEvents(events, errors));
      this.note(`watching ${this.store.list().filter((c) => c.state === 'running').length} running container(s); tracer ${upgraded ? `build ${generation} replaced the pinned one` : loaded ? 'loaded' : 'already pinned'} at ${this.store.pinDir}; ${cgroups}; ${priority}`);
    }
    // What waited in the pinned ring buffer while no monitor ran comes first.
    this.consumer?.poll();
    this.reconcile();
    this.reconcileTimer = setInterval(() => this.guard('reconcile', () => this.reconcile()), RECONCILE_INTERVAL_MS);
  }

  /**
   * No BPF tracer here (no BTF or no ring buffer): exits come from the netlink
   * process connector, for processes the state knows; the rest (signal
   * senders, OOM events, exits while no monitor ran) is left to
   * reconciliation, which counts what it catches as lost.
   */
  private startDegraded(reason: string, cgroups: string): void {
    this.tracerHealth.setDegraded(reason);
    for (const c of this.store.list()) if (c.state === 'running') seedTree(this.tree, c);
    this.consumer = openDegradedSource(this.store, (events, errors) => this.onEvents(events, errors), () => this.guard('reconcile', () => this.reconcile()));
    this.note(`degraded mode: ${reason}; exits come from the netlink process connector (no signal senders or OOM events; exits while no monitor runs are found by reconciliation); ${cgroups}`);
  }

  /** Stop watching; every container keeps running and the tracer stays pinned. */
  stop(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.supervision.stop();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.consumer?.close();
    this.consumer = null;
    this.control?.close();
    this.control = null;
    if (this.lockFd !== null) fs.closeSync(this.lockFd);
    this.lockFd = null;
  }

  /**
   * Container restarts earlier monitors did still count (escalation.ts,
   * talliesFromRecords). Read at the first escalation, not at start: reading
   * a full journal takes ~100 ms, which recovery after a hot upgrade must not wait for.
   */
  private seedEscalation(): void {
    if (this.escalationSeeded) return;
    this.escalationSeeded = true;
    const now = Date.now();
    const horizon = Math.max(DEFAULT_ESCALATION.within, ...this.store.list().map((c) => c.spec.escalation?.within ?? 0));
    for (const [name, tally] of talliesFromRecords(readJournal(journalDir(this.store.root)).records, now, horizon)) this.containerRestarts.set(name, tally);
  }

  /**
   * SIGHUP (reload.ts): take over restart policy, escalation and hooks from
   * each container's spec file, forget cached cgroup names, watch every
   * container's cgroup, and reconcile with the state as it is now.
   */
  reload(): void {
    this.cgroupNames.clear();
    const outcome = reloadSpecs(this.store);
    for (const c of this.store.list()) {
      if (c.cgroup) watch(this.store.pinDir, BigInt(c.cgroup.id));
    }
    this.note(describeReload(outcome));
    this.reconcile();
  }

  private note(reason: string): void {
    this.reporter.emit({ kind: 'monitor', container: null, process: null, pid: null, reason });
  }

  /** The monitor must outlive any one failure: report it and go on. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: `${what}: ${err instanceof VigilError ? err.message : (err as Error).stack ?? String(err)}` });
    }
  }

  /** Change a container's state under the lock; null if it was removed meanwhile. */
  private update(name: string, change: (s: ContainerState) => void): ContainerState | null {
    try {
      return this.store.update(name, change);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  private later(key: string, delayMs: number, fn: () => void): void {
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.guard(key, fn);
    }, Math.min(MAX_TIMER_MS, delayMs)));
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
      this.tree.apply(e);
      if (e.kind === 'fork' || e.kind === 'exec') continue; // the tree is all they feed
      this.guard(`handling a ${e.kind} event`, () => {
        if (e.kind === 'signal') this.onSignal(e);
        else if (e.kind === 'oom') this.onOom(e);
        else this.onExit(e);
      });
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
      signal: signalName(e.signal), siCode: e.siCode, sender,
      reason: `${e.target.comm} got ${signalName(e.signal)} from ${sender ? describeSender(sender) : 'the kernel'}`,
    });
  }

  private onOom(e: OomEvent): void {
    this.oomVictims.add(taskKey(e.victim));
    if (this.oomVictims.size > RECENT_LIMIT) this.oomVictims.delete(this.oomVictims.values().next().value as string);
    const c = this.containerOfCgroup(e.cgroupId);
    const proc = c && findProcess(c, e.victim.pid, e.victim.startBoottimeNs);
    this.reporter.emit({
      kind: 'oom', container: c?.name ?? null, process: proc?.name ?? null, pid: e.victim.pid,
      scope: e.scope, anonRssKb: Number(e.sizes.anonRssKb), totalVmKb: Number(e.sizes.totalVmKb),
      reason: `the kernel's OOM killer chose ${e.victim.comm} (${e.scope === 'memcg' ? 'its memory cgroup was at its limit' : e.scope === 'global' ? 'the host ran out of memory' : 'memcg or global unknown'}; anon ${Number(e.sizes.anonRssKb / 1024n)} MiB, total vm ${Number(e.sizes.totalVmKb / 1024n)} MiB)`,
    });
  }

  private onExit(e: ExitEvent): void {
    if (this.handleExit(e)) return;
    // Not placeable yet: keep it and look again shortly, since whoever started
    // the process writes its pid (and its container's cgroup) right after.
    const start = startTicks(e.task.startBoottimeNs);
    this.remember(this.unclaimedExits, `${e.task.pid}/${start}`, e);
    this.retryClaim(e.task.pid, start, 0);
  }

  /** Place an exit and act on it; false when the state does not name its process (yet). */
  private handleExit(e: ExitEvent): boolean {
    const c = this.containerOfCgroup(e.cgroupId);
    if (!c) return false;
    if (isInit(c, e.task.pid, e.task.startBoottimeNs)) {
      this.onInitExit(c, e);
      return true;
    }
    const known = findProcess(c, e.task.pid, e.task.startBoottimeNs) !== null;
    const ticks = startTicks(e.task.startBoottimeNs);
    if (!known && !c.processes.some((p) => p.replaced?.pid === e.task.pid && p.replaced.startTime === ticks)) return false;
    const signal = this.lastSignal.get(e.task.pid) ?? null;
    const sender = signal ? senderOf(signal, (id) => this.containerOfCgroup(id)?.name ?? null) : null;
    const attribution = attributeExit(e, signal, this.oomVictims.has(taskKey(e.task)), sender, new Date());
    if (signal && sameTask(signal.target, e.task)) this.lastSignal.delete(e.task.pid);
    this.oomVictims.delete(taskKey(e.task));
    if (!known) return this.reportReplacedExit(c.name, e.task.pid, ticks, attribution.death, attribution.lastExit);
    this.handleDeath(c.name, e.task.pid, { ns: e.task.startBoottimeNs }, attribution.death, attribution.lastExit, e.tsNs);
    return true;
  }

  /**
   * The exit of a process already replaced by a start recorded before this
   * event was handled (an operator's restart): reported once, never answered.
   */
  private reportReplacedExit(name: string, pid: number, ticks: number, death: Death, lastExit: LastExit): boolean {
    let found: { processName: string; newPid: number | null; byOperator: boolean } | null = null;
    this.update(name, (s) => {
      const p = s.processes.find((q) => q.replaced?.pid === pid && q.replaced.startTime === ticks);
      if (!p) return;
      found = { processName: p.name, newPid: p.pid, byOperator: p.replaced!.byOperator };
      p.replaced = null;
    });
    const f = found as { processName: string; newPid: number | null; byOperator: boolean } | null;
    if (!f) return false;
    this.reporter.emit({
      kind: 'exit', container: name, process: f.processName, pid,
      code: lastExit.code, signal: lastExit.signal, exitReason: f.byOperator ? 'operator' : lastExit.reason, sender: lastExit.sender,
      action: 'leave', delayMs: null, detectionMs: null,
      reason: `${describeDeath(death)}, already replaced by pid ${f.newPid}${f.byOperator ? ' (operator restart)' : ''}: not answered`,
    });
    return true;
  }

  private retryClaim(pid: number, startTime: number, attempt: number): void {
    if (attempt >= CLAIM_DELAYS_MS.length) return;
    this.later(`claim/${pid}/${startTime}`, CLAIM_DELAYS_MS[attempt], () => {
      if (!this.claimExit(pid, startTime) && this.unclaimedExits.has(`${pid}/${startTime}`)) this.retryClaim(pid, startTime, attempt + 1);
    });
  }

  /** Handle a kept exit if the state can place it now. */
  private claimExit(pid: number | null, startTime: number | null): boolean {
    const key = `${pid}/${startTime}`;
    const e = this.unclaimedExits.get(key);
    if (!e || !this.handleExit(e)) return false;
    this.unclaimedExits.delete(key);
    return true;
  }

  /**
   * vigil-init died: every process of the container dies with it. An
   * operator's stop is left alone; otherwise the container is restarted (a
   * few times a minute at most), through `vigil start`.
   */
  private onInitExit(c: ContainerState, e: ExitEvent): void {
    this.onInitDeath(c, e.task.pid, e.signal ? `killed by ${signalName(e.signal)}` : `exit ${e.status}`, false);
  }

  /** `lost`: reconciliation found init gone with no exit event (e.g. the ring buffer was full). */
  private onInitDeath(c: ContainerState, pid: number, how: string, lost: boolean): void {
    const current = this.store.tryRead(c.name);
    if (c.operatorStop || current?.operatorStop) {
      this.reporter.emit({ kind: 'stop', container: c.name, process: null, pid, reason: `vigil-init ended (${how}): operator stop` });
      return;
    }
    const down = this.update(c.name, (s) => {
      if (s.init?.pid !== pid || s.state !== 'running') return;
      s.state = 'stopped';
    });
    if (!down || down.state !== 'stopped' || down.init?.pid !== pid) return;
    this.reporter.emit({ kind: lost ? 'lost' : 'exit', container: c.name, process: null, pid, reason: `vigil-init ${lost ? 'gone without an exit event' : `died (${how})`}: the container is down`, action: 'restart-container' });
    this.restartContainer(c.name, `vigil-init ${lost ? 'gone' : `died (${how})`}`);
  }

  /**
   * vigil-init gone with no exit event (twice in a row, as for a process):
   * its death is handled as if the event had come, and counted as lost.
   */
  private reconcileInit(c: ContainerState): void {
    if (!c.init) return;
    const key = `${c.name}/vigil-init/${c.init.pid}`;
    if (isAlive(c.init.pid, c.init.startTime)) {
      this.suspects.delete(key);
      return;
    }
    if (!this.suspects.has(key)) {
      this.suspects.add(key);
      return;
    }
    this.suspects.delete(key);
    this.counters.lost++;
    this.onInitDeath(c, c.init.pid, 'gone', true);
  }

  /** Escalation (policy/escalation.ts): restart the container, or stop it and alert when that keeps happening. */
  private restartContainer(name: string, why: string): void {
    this.guard('reading the journal for escalation', () => this.seedEscalation());
    const spec = this.store.tryRead(name)?.spec;
    const { decision, tallyMs } = escalate(spec?.escalation ?? DEFAULT_ESCALATION, this.containerRestarts.get(name) ?? [], Date.now(), why);
    this.containerRestarts.set(name, tallyMs);
    if (decision.action === 'stop-and-alert') {
      this.reporter.emit({ kind: 'give-up', container: name, process: null, pid: null, alert: true, action: 'stop', reason: decision.reason });
      void runVigil(this.store.root, ['stop', name, '-t', '10']).then(({ status, stderr }) => {
        this.reporter.emit({ kind: 'stop', container: name, process: null, pid: null, alert: true, reason: status === 0 ? 'container stopped by escalation: not restarted again' : `stopping the container failed: ${stderr}` });
      });
      return;
    }
    void runVigil(this.store.root, ['restart', name, '-t', '10']).then(({ status, stderr }) => {
      const s = this.store.tryRead(name);
      const escalation = CONTAINER_RESTART_MARK; // counted again by the next monitor (talliesFromRecords)
      this.reporter.emit(status === 0
        ? { kind: 'restart', container: name, process: null, pid: s?.init?.pid ?? null, escalation, reason: `container restarted (${decision.reason})` }
        : { kind: 'give-up', container: name, process: null, pid: null, alert: true, escalation, reason: `container restart failed (${decision.reason}): ${stderr}` });
    });
  }

  /**
   * Record a death and decide under the state lock, then act. `exitNs` is the
   * kernel's timestamp of the exit (null when reconciliation found it).
   */
  private handleDeath(name: string, pid: number, start: { ns: bigint } | { ticks: number | null }, death: Death, lastExit: LastExit, exitNs: MonoNs | null): void {
    let decision: Decision | null = null;
    let processName = '';
    let decidedNs = monoNow();
    let replacedMeanwhile = false;
    let critical: string | null = null;
    const state = this.update(name, (s) => {
      const p = processOfDeath(s, pid, start);
      if (!p) {
        // Replaced while we waited for the lock (an operator's restart holds it).
        replacedMeanwhile = 'ns' in start;
        return;
      }
      const nowMs = Date.now();
      const operator = isOperatorsDeath(p.operatorStop || s.operatorStop, p.operatorKill, lastExit, nowMs);
      // supervision: stopped on purpose, to start again with what it depends on (launcher/dependencies.ts)
      if (p.waiting && p.state === 'starting' && !operator) {
        processName = p.name;
        p.lastExit = lastExit;
        decision = { action: 'leave', state: 'stopped', reason: `${describeDeath(death)}: ${p.waiting.cause}, started again once ${p.waiting.for.join(', ')} ready` };
        decidedNs = monoNow();
        return;
      }
      if (p.state !== 'running' && p.state !== 'starting') {
        // An operator's stop may have recorded the process before this event
        // came: still say so, with the kernel's account of how it ended.
        if (!operator || p.state !== 'stopped') return;
        processName = p.name;
        p.lastExit = { ...lastExit, reason: 'operator' };
        decision = { action: 'leave', state: 'stopped', reason: `${describeDeath(death)}, operator stop: not restarted` };
        decidedNs = monoNow();
        return;
      }
      processName = p.name;
      const spec = s.spec.processes.find((q) => q.name === p.name)!;
      const containerDown = s.state === 'stopped' || (s.init !== null && !isAlive(s.init.pid, s.init.startTime));
      const result = decide({
        policy: spec.restart,
        death,
        history: { attempt: p.attempt, startedAtMs: p.startedAt ? Date.parse(p.startedAt) : null, deathsMs: p.deaths.map((d) => Date.parse(d)) },
        operatorStop: operator,
        containerDown,
        nowMs,
      });
      decision = result.decision;
      // supervision: a critical process takes its container with it (policy/critical.ts)
      if (isCriticalDeath(spec, operator, containerDown)) critical = criticalReason(p.name, describeDeath(death));
      decidedNs = monoNow();
      p.lastExit = operator ? { ...lastExit, reason: 'operator' } : lastExit;
      p.deaths = result.history.deathsMs.map((t) => new Date(t).toISOString());
      p.attempt = result.history.attempt;
      p.state = critical ? 'exited' : processStateAfter(decision);
      // Kept with the state: a monitor restarted meanwhile waits out the rest.
      p.backoffUntil = p.state === 'backing-off' && result.decision.action === 'restart' ? ticksSinceBoot() + Math.ceil(result.decision.delay / 10) : null;
    });
    if (replacedMeanwhile) {
      this.reportReplacedExit(name, pid, startTicks((start as { ns: bigint }).ns), death, lastExit);
      return;
    }
    const d = decision as Decision | null;
    if (!d || !state) return;
    const detectionMs = exitNs === null ? null : nsToMs(decidedNs - exitNs);
    const proc = state.processes.find((p) => p.name === processName)!;
    const criticalWhy = critical as string | null;
    if (criticalWhy) return this.onCriticalDeath(name, processName, pid, proc.lastExit, criticalWhy, detectionMs);
    this.reporter.emit({
      kind: death.kind === 'lost' ? 'lost' : 'exit',
      container: name, process: processName, pid,
      code: proc.lastExit?.code ?? null, signal: proc.lastExit?.signal ?? null, exitReason: proc.lastExit?.reason, sender: proc.lastExit?.sender ?? null,
      action: d.action, delayMs: d.action === 'restart' ? d.delay : null,
      detectionMs: detectionMs === null ? null : round(detectionMs),
      reason: `${d.reason}${detectionMs === null ? '' : ` [detected ${detectionMs.toFixed(2)} ms after the kernel]`}`,
    });
    if (d.action === 'restart') this.later(`${name}/${processName}`, d.delay, () => void this.restart(name, processName, exitNs));
    if (d.action === 'give-up') this.giveUp(name, processName, d.then, d.reason);
    if (d.action === 'restart-container') this.restartContainer(name, `${processName}: ${d.reason}`);
  }

  /** supervision: the death of a critical process restarts its container (policy/critical.ts). */
  private onCriticalDeath(name: string, processName: string, pid: number, lastExit: LastExit | null, reason: string, detectionMs: number | null): void {
    this.reporter.emit({
      kind: 'exit', container: name, process: processName, pid,
      code: lastExit?.code ?? null, signal: lastExit?.signal ?? null, exitReason: lastExit?.reason, sender: lastExit?.sender ?? null,
      action: 'restart-container', delayMs: null, detectionMs: detectionMs === null ? null : round(detectionMs),
      reason: `${reason}${detectionMs === null ? '' : ` [detected ${detectionMs.toFixed(2)} ms after the kernel]`}`,
    });
    this.restartContainer(name, `critical process ${processName} died`);
  }

  private giveUp(name: string, processName: string, then: 'restart-container' | 'stop' | 'alert', reason: string): void {
    this.reporter.emit({ kind: 'give-up', container: name, process: processName, pid: null, reason, alert: true, then });
    if (then === 'restart-container') this.restartContainer(name, `${processName} gave up`);
    if (then === 'stop') {
      void runVigil(this.store.root, ['stop', name, '-t', '10']).then(({ status, stderr }) => {
        this.reporter.emit({ kind: 'stop', container: name, process: null, pid: null, alert: true, reason: status === 0 ? `container stopped: ${processName} gave up` : `stopping the container failed: ${stderr}` });
      });
    }
  }

  private async restart(name: string, processName: string, exitNs: MonoNs | null): Promise<void> {
    const key = `${name}/${processName}`;
    if (this.starting.has(key)) return;
    this.starting.add(key);
    try {
      await this.restartNow(name, processName, exitNs);
    } catch (err) {
      this.reporter.emit({ kind: 'error', container: name, process: processName, pid: null, reason: `restart: ${err instanceof VigilError ? err.message : String(err)}` });
    } finally {
      this.starting.delete(key);
    }
  }

  private async restartNow(name: string, processName: string, exitNs: MonoNs | null): Promise<void> {
    // The intent is written first ("starting"): a monitor that dies during the
    // helper leaves a record the next one resolves (adopt or start again).
    let current: ContainerState | null = null;
    this.update(name, (s) => {
      const p = s.processes.find((q) => q.name === processName);
      // The operator may have stopped it, or the container, while we waited.
      if (s.state !== 'running' || !p || p.state !== 'backing-off' || p.operatorStop) return;
      p.state = 'starting';
      p.startingSince = ticksSinceBoot();
      p.backoffUntil = null;
      current = s;
    });
    if (!current) return;
    let result;
    try {
      result = await startProcess(this.store, current, processName, helperTag(this.store.root, name, processName), originalNice());
    } catch (err) {
      this.onStartFailure(name, processName, err instanceof VigilError ? err.message : String(err));
      return;
    }
    let started = false;
    this.update(name, (s) => {
      const q = s.processes.find((x) => x.name === processName);
      if (s.state !== 'running' || !q || q.state !== 'starting' || q.operatorStop) return;
      recordStart(q, result, true);
      started = true;
    });
    if (!started) {
      // Stopped while starting: the new process must not outlive that decision.
      signalIdentified(result.pid, result.startTime, 'SIGKILL');
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
    this.restartDependentsOf(name, processName);
  }

  /** supervision: what depends on a restarted process is restarted after it, in order. */
  private restartDependentsOf(name: string, processName: string): void {
    void restartDependents(this.store, name, processName, `restarted along with ${processName}`, 10_000, this.holder, (n) => {
      if (n.started) this.counters.restarts++;
      this.reporter.emit({ kind: n.started ? 'restart' : 'error', container: name, process: n.process, pid: n.pid, reason: `along with ${processName}: ${n.note}` });
    }).catch((err) => this.reporter.emit({ kind: 'error', container: name, process: processName, pid: null, reason: `restarting the dependents of ${processName}: ${err instanceof VigilError ? err.message : String(err)}` }));
  }

  /**
   * supervision: a process held back for its dependencies by a holder that is
   * gone (a CLI killed while it waited) is started by the monitor instead;
   * true when the hold is released (then the usual "starting" path runs).
   */
  private takeOverHold(c: ContainerState, p: ProcessState): boolean {
    if (holderAlive(p.waiting!.by)) return false;
    let released = false;
    this.update(c.name, (s) => {
      const q = s.processes.find((x) => x.name === p.name);
      if (!q?.waiting || q.state !== 'starting' || holderAlive(q.waiting.by)) return;
      q.waiting = null;
      released = true;
    });
    if (released) this.note(`${c.name}/${p.name}: the command that held it back for its dependencies is gone; starting it now`);
    return released;
  }

  /** A restart that failed is a death like any other: back off and try again, or give up. */
  private onStartFailure(name: string, processName: string, why: string): void {
    const lastExit: LastExit = { code: null, signal: null, reason: 'exited', sender: null, coreDumped: false, at: new Date().toISOString() };
    let identity: { pid: number; ticks: number | null } | null = null;
    this.update(name, (s) => {
      const p = s.processes.find((q) => q.name === processName);
      if (!p || p.state !== 'starting') return;
      p.state = 'running'; // so handleDeath takes it as the death it is
      if (p.pid !== null) identity = { pid: p.pid, ticks: p.startTime };
    });
    const id = identity as { pid: number; ticks: number | null } | null;
    if (id === null) return;
    this.handleDeath(name, id.pid, { ticks: id.ticks }, { kind: 'start-failed', why }, lastExit, null);
  }

  /**
   * Catch what the event stream did not deliver, and finish what an earlier
   * monitor left: a process the state calls running whose (pid, start time)
   * is gone twice in a row with no event is handled as lost, and counted (the
   * count should stay 0); one left backing off is restarted when its back-off ends; one left
   * starting is adopted if its helper got that far, else started again.
   */
  reconcile(): void {
    this.consumer?.poll();
    for (const key of [...this.unclaimedExits.keys()]) {
      const [pid, start] = key.split('/').map(Number);
      this.claimExit(pid, start);
    }
    const containers = this.store.list();
    for (const c of containers) {
      if (c.state !== 'running') continue;
      for (const p of c.processes) this.guard(`reconcile ${c.name}/${p.name}`, () => this.reconcileProcess(c, p));
      this.guard(`reconcile ${c.name}/vigil-init`, () => this.reconcileInit(c));
      // Processes write their logs themselves; the monitor is what rotates them while it runs.
      this.guard(`rotate logs of ${c.name}`, () => rotateContainerLogs((p) => this.store.logFile(c.name, p), c.spec));
    }
    this.guard('supervision', () => this.supervision.sync(containers));
    for (const news of this.tracerHealth.check()) this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: news });
    this.tree.retain(new Set(this.store.list().flatMap((c) => (c.cgroup ? [BigInt(c.cgroup.id)] : []))));
  }

  private reconcileProcess(c: ContainerState, p: ProcessState): void {
    const key = `${c.name}/${p.name}`;
    if (this.starting.has(key) || this.timers.has(key)) return;
    if (p.state === 'backing-off') {
      // Left by an earlier monitor: restart when its back-off is over, not sooner.
      // Never later than the policy allows: ticks restart at boot, so a time
      // kept from before a reboot (a state root on disk) may lie far ahead.
      const spec = c.spec.processes.find((q) => q.name === p.name);
      const longestMs = spec ? longestRestartDelay(spec.restart.backoff) : 0;
      const remainingMs = p.backoffUntil ? Math.min(longestMs, (p.backoffUntil - ticksSinceBoot()) * 10) : 0;
      if (remainingMs > 0) this.later(key, remainingMs, () => void this.restart(c.name, p.name, null));
      else void this.restart(c.name, p.name, null);
      return;
    }
    if (p.state === 'starting' && p.waiting && !this.takeOverHold(c, p)) return;
    if (p.state === 'starting') return this.resolveStarting(c, p);
    if (p.state !== 'running' || isAlive(p.pid, p.startTime)) {
      this.suspects.delete(`${key}/${p.pid}`);
      return;
    }
    if (this.claimExit(p.pid, p.startTime)) return;
    if (!this.suspects.has(`${key}/${p.pid}`)) {
      this.suspects.add(`${key}/${p.pid}`);
      return;
    }
    this.suspects.delete(`${key}/${p.pid}`);
    this.counters.lost++;
    this.handleDeath(c.name, p.pid!, { ticks: p.startTime }, { kind: 'lost' }, { code: null, signal: null, reason: 'lost', sender: null, coreDumped: false, at: new Date().toISOString() }, null);
  }

  private resolveStarting(c: ContainerState, p: ProcessState): void {
    // An earlier monitor's helper still at work: what it starts is adopted at a later pass.
    if (helperInFlight(this.store.root, c.name, p.name)) return;
    const known = new Set(c.processes.map((q) => q.pid).filter((x): x is number => x !== null));
    const found = c.cgroup && c.init ? findStartedProcess(c.cgroup.v2, c.init.pid, p.name, known, p.startingSince ?? null) : null;
    let adopted = false;
    this.update(c.name, (s) => {
      const q = s.processes.find((x) => x.name === p.name);
      if (!q || q.state !== 'starting') return;
      if (found) {
        recordStart(q, { pid: found.pid, startTime: found.startTime, runningNs: monoNow() }, true);
        adopted = true;
      } else {
        q.state = 'backing-off';
        q.startingSince = null;
      }
    });
    if (adopted) {
      this.reporter.emit({ kind: 'restart', container: c.name, process: p.name, pid: found!.pid, reason: `adopted pid ${found!.pid}, which an earlier monitor started but did not record` });
    } else {
      void this.restart(c.name, p.name, null);
    }
  }
}

/** A process's state once a decision about its death is taken. */
function processStateAfter(d: Decision): ProcessState['state'] {
  switch (d.action) {
    case 'restart':
      return 'backing-off';
    case 'give-up':
      return 'given-up';
    case 'restart-container':
      return 'exited'; // the container restart starts it again
    case 'leave':
      return d.state;
  }
}

function taskKey(t: TaskIdentity): string {
  return `${t.pid}/${t.startBoottimeNs}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
