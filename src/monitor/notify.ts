/**
 * The systemd notify protocol for processes with `watchdog`, daemonless:
 *
 * - One datagram socket per state root, `<root>/notify/notify.sock`, bound
 *   by the running monitor (a new monitor replaces the stale socket at the
 *   same path). The directory is bind-mounted read-only into each container
 *   that has a watchdog process, at /run/vigil/notify, so a rebind is seen
 *   inside without touching the container; processes get
 *   NOTIFY_SOCKET=/run/vigil/notify/notify.sock and WATCHDOG_USEC.
 * - Senders are known by SO_PASSCRED (the kernel's pid, unforgeable without
 *   CAP_SYS_ADMIN), matched to a process by pid and start time. Only a
 *   process's main pid counts (systemd's NotifyAccess=main).
 * - While no monitor runs, messages are refused by the kernel (the sender
 *   sees ECONNREFUSED and, like sd_notify, goes on); nothing is judged then.
 *   A monitor judges silence only from when it could hear (policy/watchdog.ts).
 * - A process silent past its interval is hung: SIGABRT (a core, as systemd
 *   does), SIGKILL if still there ABORT_GRACE_MS later; its death then goes to
 *   its restart policy like any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, readStat, signalIdentified } from '../launcher/proc.js';
import { parseNotify, watchdogExpired, watchdogOverdueMs } from '../policy/watchdog.js';
import type { ContainerState, ProcessState, Store } from '../state/store.js';
import { notifyBind, notifyReceive, type NotifyMessage } from '../tracer/native.js';
import { NotFoundError } from '../util/errors.js';
import type { Reporter } from './report.js';
import { notifyDir, NOTIFY_SOCKET_NAME } from '../launcher/notify-socket.js';

const POLL_MS = 100;
const MAX_PER_POLL = 512;
/** A message from a pid the state does not name yet (its starter has not written it) is retried this long. */
const PENDING_MS = 2000;
/** After SIGABRT, how long a hung process has to dump and die before SIGKILL. */
const ABORT_GRACE_MS = 5000;
/** The last ping is written to the state at most this often (it is in memory between). */
const PERSIST_PING_MS = 2000;

interface Watched {
  container: string;
  process: string;
  pid: number;
  startTime: number | null;
  intervalMs: number;
  seenSinceMs: number;
  lastPingMs: number | null;
  persistedPingMs: number;
  stopping: boolean;
  killing: boolean;
}

export class NotifyListener {
  private fd: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Watchdog processes by host pid. */
  private readonly watched = new Map<number, Watched>();
  private pending: Array<{ msg: NotifyMessage; atMs: number }> = [];
  private readonly startedAtMs = Date.now();

  constructor(private readonly store: Store, private readonly reporter: Reporter, private readonly guard: (what: string, fn: () => void) => void) {}

  start(): void {
    const dir = notifyDir(this.store.root);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    this.fd = notifyBind(path.join(dir, NOTIFY_SOCKET_NAME));
    this.timer = setInterval(() => this.guard('notify', () => this.poll()), POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    // The socket file stays: senders get ECONNREFUSED until the next monitor binds it again.
  }

  /** Learn which processes have a watchdog now (call on every reconcile). */
  sync(containers: ContainerState[]): void {
    const live = new Set<number>();
    for (const c of containers) {
      if (c.state !== 'running') continue;
      for (const p of c.processes) {
        const spec = c.spec.processes.find((q) => q.name === p.name)?.watchdog;
        if (!spec || p.state !== 'running' || p.pid === null) continue;
        live.add(p.pid);
        const w = this.watched.get(p.pid);
        if (w && w.startTime === p.startTime) continue;
        const known = p.notify?.pid === p.pid ? p.notify : null;
        this.watched.set(p.pid, {
          container: c.name, process: p.name, pid: p.pid, startTime: p.startTime, intervalMs: spec.interval,
          seenSinceMs: Date.now(), lastPingMs: known?.lastPingAt ? Date.parse(known.lastPingAt) : null, persistedPingMs: 0,
          stopping: known?.stopping ?? false, killing: false,
        });
      }
    }
    for (const pid of this.watched.keys()) if (!live.has(pid)) this.watched.delete(pid);
  }

  private poll(): void {
    if (this.fd === null) return;
    const now = Date.now();
    const fresh = notifyReceive(this.fd, MAX_PER_POLL).map((msg) => ({ msg, atMs: now }));
    const waiting = [...this.pending, ...fresh];
    this.pending = [];
    let refreshed = false;
    for (const item of waiting) {
      let w = this.watchedBy(item.msg.pid);
      if (!w && !refreshed) {
        this.sync(this.store.list());
        refreshed = true;
        w = this.watchedBy(item.msg.pid);
      }
      if (w) this.onMessage(w, item.msg.text, item.atMs);
      else if (now - item.atMs < PENDING_MS) this.pending.push(item);
    }
    for (const w of this.watched.values()) this.judge(w, now);
  }

  private watchedBy(pid: number): Watched | null {
    const w = this.watched.get(pid);
    return w && readStat(pid)?.startTime === w.startTime ? w : null;
  }

  private onMessage(w: Watched, text: string, atMs: number): void {
    const fields = parseNotify(text);
    const ready = fields.get('READY') === '1';
    const ping = ready || fields.get('WATCHDOG') === '1';
    const status = fields.get('STATUS') ?? null;
    const stopping = fields.get('STOPPING') === '1';
    if (ping) w.lastPingMs = atMs;
    if (stopping) w.stopping = true;
    if (fields.get('WATCHDOG') === 'trigger' && this.stillWatched(w)) {
      this.hung(w, 'it asked for it (WATCHDOG=trigger)');
      return;
    }
    const changed = this.persist(w, (n) => {
      const was = { ...n };
      if (ready) n.ready = true;
      if (status !== null) n.status = status;
      if (stopping) n.stopping = true;
      if (ping && atMs - w.persistedPingMs >= PERSIST_PING_MS) {
        n.lastPingAt = new Date(atMs).toISOString();
        w.persistedPingMs = atMs;
      }
      return { ready: ready && !was.ready, status: status !== null && status !== was.status, stopping: stopping && !was.stopping };
    });
    if (!changed) return;
    const said = [changed.ready ? 'READY=1: ready' : '', changed.status ? `STATUS=${status}` : '', changed.stopping ? 'STOPPING=1: stopping, watchdog paused' : ''].filter(Boolean);
    if (said.length) this.reporter.emit({ kind: 'health', container: w.container, process: w.process, pid: w.pid, status: changed.ready ? 'ready' : undefined, reason: said.join('; ') });
  }

  /** Change the process's notify record under the lock (only while it still is this pid). */
  private persist<T>(w: Watched, change: (n: NonNullable<ProcessState['notify']>) => T): T | null {
    let out: T | null = null;
    try {
      this.store.update(w.container, (s) => {
        const p = s.processes.find((q) => q.name === w.process);
        if (!p || p.pid !== w.pid) return;
        const n = p.notify?.pid === w.pid ? p.notify : { pid: w.pid, ready: false, lastPingAt: null, status: null, stopping: false };
        out = change(n);
        p.notify = n;
      });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    return out;
  }

  private judge(w: Watched, nowMs: number): void {
    if (w.stopping || w.killing) return;
    const input = { intervalMs: w.intervalMs, lastPingMs: w.lastPingMs, seenSinceMs: w.seenSinceMs, monitorStartMs: this.startedAtMs, nowMs };
    if (!watchdogExpired(input)) return;
    // Judged on the monitor's list, refreshed every reconcile: make sure the
    // process is still this pid, running, and not being stopped by the operator.
    if (!this.stillWatched(w)) {
      this.watched.delete(w.pid);
      return;
    }
    const silentMs = w.intervalMs + watchdogOverdueMs(input);
    this.hung(w, `no WATCHDOG=1 for ${Math.round(silentMs)} ms (interval ${w.intervalMs} ms${w.lastPingMs === null ? ', none heard yet' : ''})`);
  }

  private stillWatched(w: Watched): boolean {
    if (!isAlive(w.pid, w.startTime)) return false;
    const s = this.store.tryRead(w.container);
    const p = s?.processes.find((q) => q.name === w.process);
    return s?.state === 'running' && p?.pid === w.pid && p.state === 'running' && !p.operatorStop && !s.operatorStop;
  }

  /** A hung process: SIGABRT now, SIGKILL if it is still there after the grace. */
  private hung(w: Watched, why: string): void {
    if (w.killing) return;
    w.killing = true;
    this.reporter.emit({ kind: 'health', container: w.container, process: w.process, pid: w.pid, status: 'hung', alert: true, reason: `watchdog: ${why}: hung, sending SIGABRT so that its restart policy restarts it` });
    if (!signalIdentified(w.pid, w.startTime, 'SIGABRT')) return;
    setTimeout(() => this.guard('watchdog kill', () => {
      if (signalIdentified(w.pid, w.startTime, 'SIGKILL')) {
        this.reporter.emit({ kind: 'health', container: w.container, process: w.process, pid: w.pid, status: 'hung', reason: `watchdog: still there ${ABORT_GRACE_MS} ms after SIGABRT, sent SIGKILL` });
      }
    }), ABORT_GRACE_MS).unref();
  }
}
