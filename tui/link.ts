/**
 * The TUI's one connection to the monitor, over the control client only.
 * It connects, takes a snapshot every second, subscribes from the last seq it
 * has seen, and when the monitor goes away (or restarts, or says we fell
 * behind) it connects again and resubscribes from that same seq: the
 * monitor's journal backlog fills the hole, and a record is never passed on
 * twice. It reports what it knows as a LinkStatus, never guesses.
 */
import { EventEmitter } from 'node:events';
import { ControlClient, ControlError, MonitorNotRunningError } from '../src/control/client.js';
import type { Snapshot } from '../src/control/protocol.js';
import type { JournalRecord } from '../src/journal/journal.js';
import type { Action, LinkStatus, Target } from './state.js';

export interface LinkEvents {
  record: [JournalRecord];
  snapshot: [Snapshot, number];
  status: [LinkStatus];
}

/** What the App needs of a link (tests give it a fake). */
export interface Link extends EventEmitter<LinkEvents> {
  start(): void;
  close(): void;
  /** Ask the monitor to restart, stop or start a container or one of its processes. */
  request(action: Action, target: Target): Promise<unknown>;
}

export interface LinkOptions {
  connect?: (root: string) => Promise<ControlClient>;
  snapshotEveryMs?: number;
  retryEveryMs?: number;
  /** How much history to ask for on the first subscription. */
  history?: number;
  now?: () => number;
}

export class MonitorLink extends EventEmitter<LinkEvents> implements Link {
  private client: ControlClient | null = null;
  private lastSeq = 0;
  private closed = false;
  private everLive = false;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private snapshotPending = false;
  private readonly connect: (root: string) => Promise<ControlClient>;
  private readonly now: () => number;

  constructor(private readonly root: string, private readonly options: LinkOptions = {}) {
    super();
    this.connect = options.connect ?? ((r) => ControlClient.connect(r, 2000));
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.emit('status', { kind: 'connecting' });
    void this.attempt();
  }

  close(): void {
    this.closed = true;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.client?.close();
    this.client = null;
  }

  async request(action: Action, target: Target): Promise<unknown> {
    if (!this.client || this.client.closed) throw new Error('not connected to a monitor: nothing was asked');
    const c = this.client;
    if (action === 'restart') return c.restart(target.container, target.process);
    if (action === 'start') return c.start(target.container, target.process);
    return c.stop(target.container, target.process);
  }

  private retry(delayMs = this.options.retryEveryMs ?? 1000): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.attempt();
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    if (this.closed || this.client) return;
    let client: ControlClient;
    try {
      client = await this.connect(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') {
        this.emit('status', { kind: 'refused', message: `the monitor's control socket is root only (${(err as Error).message})` });
        return;
      }
      if (err instanceof MonitorNotRunningError) {
        this.emit('status', { kind: 'no-monitor', message: this.everLive ? `the monitor went away: ${err.message}` : err.message, sinceMs: this.now() });
      } else {
        this.emit('status', { kind: 'disconnected', message: (err as Error).message, sinceMs: this.now() });
      }
      this.retry();
      return;
    }
    if (this.closed) {
      client.close();
      return;
    }
    this.client = client;
    let resubscribeAtOnce = false;
    client.on('event', (r) => {
      // A record the monitor could not journal (disk full) repeats the last
      // seq: pass it on, it is in no backlog to come again.
      if (r.unjournaled === true) {
        this.emit('record', r);
        return;
      }
      if (r.seq <= this.lastSeq) return;
      this.lastSeq = r.seq;
      this.emit('record', r);
    });
    // We fell behind: the records skipped are in the journal; a new
    // subscription from our last seq gets them in its backlog.
    client.on('missed', () => {
      resubscribeAtOnce = true;
      client.close();
    });
    client.once('close', (err) => {
      if (this.client === client) this.client = null;
      if (this.snapshotTimer) clearInterval(this.snapshotTimer);
      this.snapshotTimer = null;
      if (this.closed) return;
      if (err instanceof ControlError && err.code === 'ERR_REFUSED') {
        this.emit('status', { kind: 'refused', message: err.message });
        return;
      }
      if (!resubscribeAtOnce) this.emit('status', { kind: 'disconnected', message: `the monitor went away${err ? ` (${err.message})` : ''}; reconnecting`, sinceMs: this.now() });
      this.retry(resubscribeAtOnce ? 0 : undefined);
    });
    try {
      const snapshot = await client.snapshot();
      this.emit('snapshot', snapshot, this.now());
      const monitorSeq = snapshot.monitor.lastSeq;
      // A journal numbering below ours is a new one: take its recent history.
      if (monitorSeq < this.lastSeq) this.lastSeq = 0;
      const since = this.lastSeq > 0 ? this.lastSeq : Math.max(0, monitorSeq - (this.options.history ?? 1000));
      if (this.lastSeq === 0) this.lastSeq = since;
      await client.subscribe(since);
      this.everLive = true;
      this.emit('status', { kind: 'live' });
      this.snapshotTimer = setInterval(() => this.poll(client), this.options.snapshotEveryMs ?? 1000);
    } catch (err) {
      if (!client.closed) {
        this.emit('status', { kind: 'disconnected', message: `the monitor did not answer: ${(err as Error).message}`, sinceMs: this.now() });
        client.close();
      }
    }
  }

  private poll(client: ControlClient): void {
    if (this.snapshotPending || client.closed) return;
    this.snapshotPending = true;
    client.snapshot().then(
      (s) => {
        this.snapshotPending = false;
        if (!this.closed) this.emit('snapshot', s, this.now());
      },
      () => {
        this.snapshotPending = false;
      },
    );
  }
}
