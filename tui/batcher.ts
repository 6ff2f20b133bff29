/**
 * Records come as fast as the monitor sends them; the screen takes them at
 * most once per FLUSH_MS. The first record after a flush starts the timer, so
 * a quiet feed shows a record within FLUSH_MS and a storm costs one render
 * per FLUSH_MS. What waits is bounded too: only the newest `limit` records
 * are kept between flushes (the feed would keep no more of them anyway).
 */
import type { JournalRecord } from '../src/journal/journal.js';

export const FLUSH_MS = 100;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Batcher {
  private pending: JournalRecord[] = [];
  private timer: unknown = null;
  /** Records let go before a flush because more than `limit` waited. */
  trimmed = 0;

  constructor(
    private readonly flush: (records: JournalRecord[]) => void,
    private readonly limit: number,
    private readonly timers: Timers = realTimers,
    private readonly everyMs = FLUSH_MS,
  ) {}

  push(r: JournalRecord): void {
    this.pending.push(r);
    if (this.pending.length > 2 * this.limit) {
      this.trimmed += this.pending.length - this.limit;
      this.pending = this.pending.slice(-this.limit);
    }
    if (this.timer === null) this.timer = this.timers.setTimeout(() => this.fire(), this.everyMs);
  }

  get waiting(): number {
    return this.pending.length;
  }

  close(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }

  private fire(): void {
    this.timer = null;
    const batch = this.pending.length > this.limit ? this.pending.slice(-this.limit) : this.pending;
    this.trimmed += this.pending.length - batch.length;
    this.pending = [];
    if (batch.length) this.flush(batch);
  }
}
