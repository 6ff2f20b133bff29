/**
 * The monitor's journal: every event and decision, appended as checksummed
 * MessagePack frames (frame.ts) to `<root>/journal/current.vjl`; when that
 * segment would pass its size bound it becomes `previous.vjl` (replacing the
 * older one) and a new current segment begins. Only the monitor writes (it
 * holds the monitor lock); anyone may read.
 *
 * Opening for writing recovers: a torn or corrupt tail of the current segment
 * (a monitor killed mid-write) is cut off, and numbering continues after the
 * last good `seq` of either segment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from '../util/errors.js';
import { signalName } from '../util/signals.js';
import { decodeFrames, encodeFrame, FrameTooLargeError, MAX_RECORD_BYTES } from './frame.js';

export const JOURNAL_KINDS = ['exit', 'signal', 'oom', 'restart', 'give-up', 'health', 'operator', 'start', 'stop', 'lost', 'monitor', 'error'] as const;
export type JournalKind = (typeof JOURNAL_KINDS)[number];

export interface JournalEntry {
  kind: JournalKind;
  container: string | null;
  process: string | null;
  pid: number | null;
  reason: string;
  [extra: string]: unknown;
}

export interface JournalRecord extends JournalEntry {
  seq: number;
  time: string;
}

export const CURRENT_SEGMENT = 'current.vjl';
export const PREVIOUS_SEGMENT = 'previous.vjl';
export const DEFAULT_SEGMENT_BYTES = 4 * 1024 * 1024;
/** A record reaches the disk within this long of being appended. */
const SYNC_DELAY_MS = 200;
/** Reasons longer than this are cut when a record would not fit in a frame. */
const LONG_REASON = 4096;

export function journalDir(root: string): string {
  return path.join(root, 'journal');
}

/**
 * A record's `signal` is a name ("SIGKILL"), as SPEC shows it in `inspect`,
 * on every kind of record: monitors before this rule stored the number on
 * `signal` records. The one place both are made alike: what is appended and
 * what is read back (older journals included).
 */
function withSignalName(record: JournalRecord): JournalRecord {
  if (typeof record['signal'] === 'number') record['signal'] = signalName(record['signal']);
  return record;
}

export function isJournalRecord(v: unknown): v is JournalRecord {
  const r = v as JournalRecord;
  return typeof r === 'object' && r !== null && Number.isSafeInteger(r.seq) && r.seq > 0 && typeof r.time === 'string' && typeof r.kind === 'string';
}

/** What opening found: the last good seq and what was cut off the tail. */
export interface Recovery {
  lastSeq: number;
  cutBytes: number;
  cutWhy: string | null;
}

/** JSON's view of a value: bigints as decimal strings, undefined fields dropped. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) as T;
}

function readFileOrEmpty(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw HostError.from('read journal', file, err);
  }
}

function lastSeqOf(values: unknown[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (isJournalRecord(values[i])) return (values[i] as JournalRecord).seq;
  return 0;
}

export class JournalWriter {
  private fd: number;
  private size: number;
  private seq: number;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Descriptors with background syncs in flight (how many), and those to close after them. */
  private readonly syncing = new Map<number, number>();
  private readonly closing = new Set<number>();

  private constructor(readonly dir: string, private readonly segmentBytes: number, fd: number, size: number, seq: number, readonly recovery: Recovery) {
    this.fd = fd;
    this.size = size;
    this.seq = seq;
  }

  /** Open (creating) the journal in `dir`, cutting a torn tail off the current segment. */
  static open(dir: string, segmentBytes = DEFAULT_SEGMENT_BYTES): JournalWriter {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw HostError.from('mkdir', dir, err);
    }
    const currentPath = path.join(dir, CURRENT_SEGMENT);
    const previous = decodeFrames(readFileOrEmpty(path.join(dir, PREVIOUS_SEGMENT)), 0, MAX_RECORD_BYTES);
    const current = readFileOrEmpty(currentPath);
    const good = decodeFrames(current, 0, MAX_RECORD_BYTES);
    let fd: number;
    try {
      fd = fs.openSync(currentPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
      if (good.end < current.length) {
        fs.ftruncateSync(fd, good.end);
        fs.fdatasyncSync(fd);
      }
    } catch (err) {
      throw HostError.from('open journal', currentPath, err);
    }
    const recovery: Recovery = {
      lastSeq: Math.max(lastSeqOf(previous.values), lastSeqOf(good.values)),
      cutBytes: current.length - good.end,
      cutWhy: good.stop ? (good.stop.kind === 'corrupt' ? good.stop.why : 'a frame cut short') : null,
    };
    return new JournalWriter(dir, segmentBytes, fd, good.end, recovery.lastSeq, recovery);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Number, stamp and store one record; returns it as stored. */
  append(entry: JournalEntry): JournalRecord {
    const record = withSignalName(plain({ seq: this.seq + 1, time: new Date().toISOString(), ...entry }) as JournalRecord);
    let frame: Buffer;
    try {
      frame = encodeFrame(record, MAX_RECORD_BYTES);
    } catch (err) {
      if (!(err instanceof FrameTooLargeError)) throw err;
      // Keep what identifies the record; the reason is cut, and says so.
      const { seq, time, kind, container, process, pid } = record;
      Object.assign(record, { reason: `${record.reason.slice(0, LONG_REASON)}... (cut: the record exceeded ${MAX_RECORD_BYTES} bytes)` });
      for (const k of Object.keys(record)) if (!['seq', 'time', 'kind', 'container', 'process', 'pid', 'reason'].includes(k)) delete record[k];
      Object.assign(record, { seq, time, kind, container, process, pid });
      frame = encodeFrame(record, MAX_RECORD_BYTES);
    }
    if (this.size > 0 && this.size + frame.length > this.segmentBytes) this.rotate();
    const file = path.join(this.dir, CURRENT_SEGMENT);
    try {
      // One write per frame: a reader sees either none of it or, at worst, a
      // torn tail it knows to wait for.
      let written = 0;
      while (written < frame.length) written += fs.writeSync(this.fd, frame, written);
    } catch (err) {
      throw HostError.from('append to journal', file, err);
    }
    this.size += frame.length;
    this.seq = record.seq;
    this.syncTimer ??= setTimeout(() => this.syncInBackground(), SYNC_DELAY_MS).unref();
    return record;
  }

  /**
   * The periodic sync runs on the thread pool: on a busy disk fdatasync can
   * take hundreds of ms, and the monitor's loop (detection, restarts) must not
   * wait for it. A descriptor being synced is closed only once that is done.
   */
  private syncInBackground(): void {
    this.syncTimer = null;
    const fd = this.fd;
    this.syncing.set(fd, (this.syncing.get(fd) ?? 0) + 1);
    fs.fdatasync(fd, () => {
      // an error shows at the next append, which throws
      const left = this.syncing.get(fd)! - 1;
      if (left > 0) return void this.syncing.set(fd, left);
      this.syncing.delete(fd);
      if (this.closing.delete(fd)) fs.closeSync(fd);
    });
  }

  /** Close a descriptor now, or when its background sync ends. */
  private closeFd(fd: number): void {
    if (this.syncing.has(fd)) this.closing.add(fd);
    else fs.closeSync(fd);
  }

  private sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    try {
      fs.fdatasyncSync(this.fd);
    } catch {
      // a full or failing disk shows at the next append, which throws
    }
  }

  /** current -> previous (the older previous is dropped), then a fresh current. */
  private rotate(): void {
    this.sync();
    const current = path.join(this.dir, CURRENT_SEGMENT);
    try {
      fs.renameSync(current, path.join(this.dir, PREVIOUS_SEGMENT));
      this.closeFd(this.fd);
      this.fd = fs.openSync(current, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_TRUNC, 0o600);
    } catch (err) {
      throw HostError.from('rotate journal', current, err);
    }
    this.size = 0;
  }

  close(): void {
    this.sync();
    this.closeFd(this.fd);
    this.fd = -1;
  }
}

/**
 * Reads records with seq > `afterSeq`, in order, without gaps or repeats,
 * across rotations and across a new monitor cutting a torn tail: call poll()
 * as often as wanted. A tail that is not a whole frame yet is left for the
 * next poll (the writer may be mid-write).
 */
export class JournalReader {
  private fd: number | null = null;
  private ino = 0;
  private offset = 0;
  private last: number;
  /** Corrupt frames met before the end of a segment (not a torn tail). */
  readonly problems: string[] = [];

  constructor(readonly dir: string, afterSeq = 0) {
    this.last = afterSeq;
  }

  get lastSeq(): number {
    return this.last;
  }

  poll(): JournalRecord[] {
    const out: JournalRecord[] = [];
    const currentPath = path.join(this.dir, CURRENT_SEGMENT);
    if (this.fd === null) {
      // Open current before reading previous: a rotation in between then
      // only repeats records (dropped by seq), never skips them.
      if (!this.openCurrent(currentPath)) return out;
      this.take(decodeFrames(readFileOrEmpty(path.join(this.dir, PREVIOUS_SEGMENT)), 0, MAX_RECORD_BYTES), out, PREVIOUS_SEGMENT, true);
    }
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(currentPath);
    } catch {
      st = null;
    }
    const rotated = st !== null && st.ino !== this.ino;
    this.readOpen(out, !rotated);
    if (rotated) {
      fs.closeSync(this.fd!);
      this.fd = null;
      if (this.openCurrent(currentPath)) {
        // More than one rotation since the last poll: the segment between is previous now.
        this.take(decodeFrames(readFileOrEmpty(path.join(this.dir, PREVIOUS_SEGMENT)), 0, MAX_RECORD_BYTES), out, PREVIOUS_SEGMENT, true);
        this.readOpen(out, true);
      }
    } else if (st !== null && st.size < this.offset) {
      // A new monitor cut a torn tail we had not read past: read again from the start.
      this.offset = 0;
      this.readOpen(out, true);
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private openCurrent(file: string): boolean {
    try {
      this.fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw HostError.from('open journal', file, err);
    }
    this.ino = fs.fstatSync(this.fd).ino;
    this.offset = 0;
    return true;
  }

  private readOpen(out: JournalRecord[], isTail: boolean): void {
    const size = fs.fstatSync(this.fd!).size;
    if (size <= this.offset) return;
    const buf = Buffer.alloc(size - this.offset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(this.fd!, buf, got, buf.length - got, this.offset + got);
      if (n === 0) break;
      got += n;
    }
    const result = decodeFrames(buf.subarray(0, got), 0, MAX_RECORD_BYTES);
    this.take(result, out, CURRENT_SEGMENT, isTail);
    this.offset += result.end;
  }

  private take(result: ReturnType<typeof decodeFrames>, out: JournalRecord[], segment: string, isTail: boolean): void {
    for (const v of result.values) {
      if (isJournalRecord(v) && v.seq > this.last) {
        out.push(withSignalName(v));
        this.last = v.seq;
      }
    }
    if (result.stop?.kind === 'corrupt' && !isTail) this.problems.push(`${segment}: ${result.stop.why}`);
  }
}

/** Every record with seq > afterSeq, now. */
export function readJournal(dir: string, afterSeq = 0): { records: JournalRecord[]; problems: string[] } {
  const reader = new JournalReader(dir, afterSeq);
  try {
    return { records: reader.poll(), problems: reader.problems };
  } finally {
    reader.close();
  }
}
