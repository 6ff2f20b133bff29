/**
 * For TUI tests: a fake monitor link (records, snapshots and status pushed
 * by hand; requests recorded), a manual clock for the batcher, and snapshot
 * and record builders that look like what the monitor sends.
 */
import { EventEmitter } from 'node:events';
import type { Snapshot } from '../../src/control/protocol.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import type { Timers } from '../../tui/batcher.js';
import type { Link, LinkEvents } from '../../tui/link.js';
import type { Action, Target } from '../../tui/state.js';

export const NOW = Date.parse('2026-12-04T12:00:00.000Z');

export class FakeLink extends EventEmitter<LinkEvents> implements Link {
  readonly requests: Array<{ action: Action; target: Target }> = [];
  started = false;
  closed = false;
  answer: (action: Action, target: Target) => Promise<unknown> = async () => ({ seq: 99 });

  start(): void {
    this.started = true;
  }

  close(): void {
    this.closed = true;
  }

  request(action: Action, target: Target): Promise<unknown> {
    this.requests.push({ action, target });
    return this.answer(action, target);
  }
}

/** setTimeout by hand: advance(ms) runs what falls due, in order. */
export class ManualTimers implements Timers {
  now = 0;
  private queue: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.queue.push({ at: this.now + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.queue.length;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
}

export function monitorInfo(over: Partial<Snapshot['monitor']> = {}): Snapshot['monitor'] {
  return {
    pid: 4000,
    version: '0.1.0',
    protocol: 1,
    root: '/run/vigil',
    startedAt: new Date(NOW - 125_000).toISOString(),
    uptimeMs: 125_000,
    tracerDrops: '0',
    lastSeq: 0,
    lastEventAt: null,
    host: { hostname: 'grid-7', kernel: '6.1.0-13-amd64', cgroupLayout: 'hybrid' },
    tracer: { pinDir: '/sys/fs/bpf/vigil', attached: true, pinned: true, events: 0 },
    ...over,
  };
}

const POLICY = { policy: 'always', backoff: { initial: 100, factor: 2, max: 30_000, jitter: 0.1, resetAfter: 60_000 }, giveUp: { deaths: 5, within: 60_000, then: 'alert' }, successCodes: [0], preventCodes: [78] };

export function proc(name: string, over: Record<string, unknown> = {}): Snapshot['containers'][number]['processes'][number] {
  return {
    name,
    pid: 4250,
    state: 'running',
    restarts: 0,
    startedAt: new Date(NOW - 60_000).toISOString(),
    lastExit: null,
    command: ['/usr/bin/' + name],
    policy: POLICY,
    deaths: [],
    logFile: `/run/vigil/containers/x/logs/${name}.log`,
    ...over,
  };
}

export function container(name: string, processes: Snapshot['containers'][number]['processes'], over: Record<string, unknown> = {}): Snapshot['containers'][number] {
  return {
    name,
    state: 'running',
    pid: 4242,
    cgroup: `/vigil/${name}`,
    cgroupId: '1234',
    cgroupDirs: [`/sys/fs/cgroup/unified/vigil/${name}`],
    createdAt: new Date(NOW - 3_600_000).toISOString(),
    startedAt: new Date(NOW - 3_600_000).toISOString(),
    limits: { memory: 256 * 1024 * 1024, pids: 512, cpus: 1.5, oomGroup: false },
    processes,
    ...over,
  };
}

export function snapshot(containers: Snapshot['containers'], over: Partial<Snapshot['monitor']> = {}): Snapshot {
  return { monitor: monitorInfo(over), containers };
}

export function record(seq: number, over: Partial<JournalRecord> = {}): JournalRecord {
  return {
    seq,
    time: new Date(NOW - 1000 + seq).toISOString(),
    kind: 'exit',
    container: 'dispatch',
    process: 'frontend',
    pid: 4250,
    reason: `record ${seq}`,
    ...over,
  };
}

/** A frame without colour and style codes, as a person reads it. */
export function plain(frame: string | undefined): string {
  return (frame ?? '').replace(/\x1b\[[0-9;]*m/g, '');
}

export const tick = () => new Promise((r) => setImmediate(r));
