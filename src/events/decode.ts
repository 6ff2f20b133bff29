/**
 * Pure decoder for the records of the `events` ring buffer (bpf/events.h).
 * Table-driven: one row per kind names its struct layout and builds the typed
 * event from field reads. Never throws on bad input: it returns a DecodeError,
 * which the caller counts.
 */
import {
  EXEC_EVENT,
  EXIT_EVENT,
  EventKind,
  FORK_EVENT,
  ExitFlag,
  HEADER,
  OOM_EVENT,
  OomFlag,
  OomHook,
  SIGNAL_EVENT,
  SignalFlag,
  TASK,
  VIGIL_EVENT_VERSION,
  type Field,
} from './layout.js';

import type { MonoNs } from '../util/units.js';

export type { MonoNs };

/** Process identity as the kernel saw it. Match processes by pid + startBoottimeNs. */
export interface TaskIdentity {
  /** tgid */
  readonly pid: number;
  readonly tid: number;
  /** Group leader's start time, ns since boot; /proc/PID/stat starttime = this / 10_000_000n. */
  readonly startBoottimeNs: bigint;
  readonly comm: string;
}

interface EventBase {
  readonly tsNs: MonoNs;
  /**
   * The watched cgroup the subject belongs to: its own cgroup v2 id, or that
   * of its nearest watched ancestor when it lives in a sub-cgroup of a
   * container. This is what identifies the container.
   */
  readonly cgroupId: bigint;
  /** The subject's own cgroup v2 id (inode of its cgroup2 directory). */
  readonly taskCgroupId: bigint;
  readonly version: number;
}

export interface ExitEvent extends EventBase {
  readonly kind: 'exit';
  readonly task: TaskIdentity;
  readonly ppid: number;
  /** Raw wait status: status << 8 | 0x80 if core dumped | signal. */
  readonly exitCode: number;
  /** Exit status if the process exited by itself, else null. */
  readonly status: number | null;
  /** The signal that killed it, else null. */
  readonly signal: number | null;
  readonly coreDumped: boolean;
  readonly oomVictim: boolean;
  readonly flags: number;
}

export interface SignalEvent extends EventBase {
  readonly kind: 'signal';
  readonly target: TaskIdentity;
  readonly sender: TaskIdentity;
  /** The sender's own cgroup v2 id. */
  readonly senderCgroupId: bigint;
  /** The sender's watched cgroup (its container), 0n when it is not in one. */
  readonly senderWatchedCgroupId: bigint;
  readonly signal: number;
  /** SI_USER 0, SI_KERNEL 0x80, SI_QUEUE -1, SI_TKILL -6, ... */
  readonly siCode: number;
  /** TRACE_SIGNAL_*: 0 delivered, 1 ignored, 2 already pending, 3 overflow, 4 lose info. */
  readonly result: number;
  /** Sent to the thread group rather than one thread. */
  readonly group: boolean;
  readonly flags: number;
}

export interface OomEvent extends EventBase {
  readonly kind: 'oom';
  readonly victim: TaskIdentity;
  readonly uid: number;
  /** Which kernel hook saw it (the tracepoint, or fentry on kernels whose tracepoint lacks the task). */
  readonly hook: 'tracepoint' | 'fentry' | 'unknown';
  /**
   * 'memcg' when the victim's memory cgroup (or an ancestor) was at its
   * limit, 'global' otherwise, 'unknown' on a kernel without memory cgroups.
   */
  readonly scope: 'memcg' | 'global' | 'unknown';
  /** The victim's sizes when it was chosen, KiB, as the kernel's OOM report gives them. */
  readonly sizes: { totalVmKb: bigint; anonRssKb: bigint; fileRssKb: bigint; shmemRssKb: bigint; pgtablesKb: bigint };
  readonly oomScoreAdj: number;
  readonly flags: number;
}

/** A new process (not a thread) in a watched cgroup. */
export interface ForkEvent extends EventBase {
  readonly kind: 'fork';
  readonly child: TaskIdentity;
  /** The child's real parent (its thread-group identity). */
  readonly parent: TaskIdentity;
}

/** A successful execve in a watched cgroup. */
export interface ExecEvent extends EventBase {
  readonly kind: 'exec';
  /** comm is the new program's. */
  readonly task: TaskIdentity;
  /** The path given to execve (as the kernel got it; may be relative), cut at 255 bytes. */
  readonly filename: string;
}

export type DecodedEvent = ExitEvent | SignalEvent | OomEvent | ForkEvent | ExecEvent;

export type DecodeErrorReason = 'truncated' | 'size-mismatch' | 'unknown-kind' | 'unknown-version';

/** A record that cannot be decoded. Returned, not thrown. */
export class DecodeError extends Error {
  readonly code = 'ERR_EVENT_DECODE';
  constructor(
    readonly reason: DecodeErrorReason,
    /** Bytes received. */
    readonly length: number,
    readonly kind?: number,
    readonly version?: number,
  ) {
    super(
      `decode event: ${reason} (length ${length}` +
        (kind === undefined ? '' : `, kind ${kind}`) +
        (version === undefined ? '' : `, version ${version}`) +
        ')',
    );
    this.name = 'DecodeError';
  }
}

const u16 = (b: Buffer, base: number, f: Field): number => b.readUInt16LE(base + f.offset);
const u32 = (b: Buffer, base: number, f: Field): number => b.readUInt32LE(base + f.offset);
const s32 = (b: Buffer, base: number, f: Field): number => b.readInt32LE(base + f.offset);
const u64 = (b: Buffer, base: number, f: Field): bigint => b.readBigUInt64LE(base + f.offset);

/** A NUL-terminated char array (comm is not guaranteed UTF-8; invalid bytes become U+FFFD). */
function cString(b: Buffer, base: number, f: Field): string {
  const start = base + f.offset;
  const nul = b.indexOf(0, start);
  const end = nul === -1 || nul > start + f.size ? start + f.size : nul;
  return b.toString('utf8', start, end);
}

function task(b: Buffer, base: number): TaskIdentity {
  const t = TASK.fields;
  return {
    pid: u32(b, base, t.pid),
    tid: u32(b, base, t.tid),
    startBoottimeNs: u64(b, base, t.start_boottime_ns),
    comm: cString(b, base, t.comm),
  };
}

interface Row {
  readonly size: number;
  readonly build: (b: Buffer, base: EventBase) => DecodedEvent;
}

/** One row per kind: the record size and how to build the event. */
const TABLE: ReadonlyMap<number, Row> = new Map<number, Row>([
  [
    EventKind.Exit,
    {
      size: EXIT_EVENT.size,
      build: (b, base): ExitEvent => {
        const F = EXIT_EVENT.fields;
        const exitCode = s32(b, 0, F.exit_code);
        const flags = u32(b, 0, F.flags);
        const sig = exitCode & 0x7f;
        return {
          kind: 'exit',
          ...base,
          task: task(b, F.task.offset),
          ppid: u32(b, 0, F.ppid),
          exitCode,
          status: sig === 0 ? (exitCode >> 8) & 0xff : null,
          signal: sig === 0 ? null : sig,
          coreDumped: (flags & ExitFlag.CoreDumped) !== 0,
          oomVictim: (flags & ExitFlag.OomVictim) !== 0,
          flags,
        };
      },
    },
  ],
  [
    EventKind.Signal,
    {
      size: SIGNAL_EVENT.size,
      build: (b, base): SignalEvent => {
        const F = SIGNAL_EVENT.fields;
        const flags = u32(b, 0, F.flags);
        return {
          kind: 'signal',
          ...base,
          target: task(b, F.target.offset),
          sender: task(b, F.sender.offset),
          senderCgroupId: u64(b, 0, F.sender_cgroup_id),
          senderWatchedCgroupId: u64(b, 0, F.sender_watched_cgroup_id),
          signal: s32(b, 0, F.sig),
          siCode: s32(b, 0, F.si_code),
          result: s32(b, 0, F.result),
          group: (flags & SignalFlag.Group) !== 0,
          flags,
        };
      },
    },
  ],
  [
    EventKind.Oom,
    {
      size: OOM_EVENT.size,
      build: (b, base): OomEvent => {
        const F = OOM_EVENT.fields;
        const hook = u32(b, 0, F.hook);
        const flags = u32(b, 0, F.flags);
        return {
          kind: 'oom', ...base, victim: task(b, F.victim.offset), uid: u32(b, 0, F.uid),
          hook: hook === OomHook.Tracepoint ? 'tracepoint' : hook === OomHook.Fentry ? 'fentry' : 'unknown',
          scope: flags & OomFlag.NoMemcg ? 'unknown' : flags & OomFlag.Memcg ? 'memcg' : 'global',
          sizes: {
            totalVmKb: u64(b, 0, F.total_vm_kb),
            anonRssKb: u64(b, 0, F.anon_rss_kb),
            fileRssKb: u64(b, 0, F.file_rss_kb),
            shmemRssKb: u64(b, 0, F.shmem_rss_kb),
            pgtablesKb: u64(b, 0, F.pgtables_kb),
          },
          oomScoreAdj: s32(b, 0, F.oom_score_adj),
          flags,
        };
      },
    },
  ],
  [
    EventKind.Fork,
    {
      size: FORK_EVENT.size,
      build: (b, base): ForkEvent => {
        const F = FORK_EVENT.fields;
        return { kind: 'fork', ...base, child: task(b, F.child.offset), parent: task(b, F.parent.offset) };
      },
    },
  ],
  [
    EventKind.Exec,
    {
      size: EXEC_EVENT.size,
      build: (b, base): ExecEvent => {
        const F = EXEC_EVENT.fields;
        return { kind: 'exec', ...base, task: task(b, F.task.offset), filename: cString(b, 0, F.filename) };
      },
    },
  ],
]);

/** Decode one ring-buffer record. */
export function decodeEvent(record: Buffer): DecodedEvent | DecodeError {
  const H = HEADER.fields;
  if (record.byteLength < HEADER.size) return new DecodeError('truncated', record.byteLength);
  const kind = u16(record, 0, H.kind);
  const version = u16(record, 0, H.version);
  const size = u32(record, 0, H.size);
  const row = TABLE.get(kind);
  if (!row) return new DecodeError('unknown-kind', record.byteLength, kind, version);
  if (version !== VIGIL_EVENT_VERSION) return new DecodeError('unknown-version', record.byteLength, kind, version);
  if (record.byteLength < row.size) return new DecodeError('truncated', record.byteLength, kind, version);
  if (size !== row.size || record.byteLength !== row.size) {
    return new DecodeError('size-mismatch', record.byteLength, kind, version);
  }
  const base: EventBase = {
    tsNs: u64(record, 0, H.ts_ns) as MonoNs,
    cgroupId: u64(record, 0, H.cgroup_id),
    taskCgroupId: u64(record, 0, H.task_cgroup_id),
    version,
  };
  return row.build(record, base);
}

