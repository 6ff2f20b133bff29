/**
 * TypeScript mirror of bpf/events.h: every constant, and the byte offset and
 * size of every field of every record. test/layout/events.test.ts compiles
 * events.h and checks this table against offsetof/sizeof, and checks that the
 * fields of each struct tile it exactly (so a field missing here is caught).
 * All values are little-endian as written by the host kernel.
 */

export const VIGIL_EVENT_VERSION = 2;
export const VIGIL_COMM_LEN = 16;
export const VIGIL_PATH_LEN = 256;
export const VIGIL_DROPS_SLOTS = 8;

/** enum vigil_event_kind. Also the index into the drops and limited counters. */
export const EventKind = {
  Exit: 1,
  Signal: 2,
  Oom: 3,
  Fork: 4,
  Exec: 5,
} as const;
export type EventKindValue = (typeof EventKind)[keyof typeof EventKind];

/** vigil_exit_event.flags */
export const ExitFlag = { OomVictim: 1, CoreDumped: 2 } as const;
/** vigil_signal_event.flags */
export const SignalFlag = { Group: 1 } as const;
/** vigil_oom_event.flags */
export const OomFlag = { Memcg: 1, NoMemcg: 2 } as const;
/** vigil_oom_event.hook: which kernel hook saw the OOM kill. */
export const OomHook = { None: 0, Tracepoint: 1, Fentry: 2 } as const;

/** Signals reported when the loader is not told otherwise (bit N = signal N). */
export const DEFAULT_SIGNALS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 15, 24, 25, 31, 19, 20] as const;
export const DEFAULT_SIGNAL_MASK: bigint = DEFAULT_SIGNALS.reduce((m, s) => m | (1n << BigInt(s)), 0n);

/** The C names of the constants above, for the layout test. */
export const C_CONSTANTS: Readonly<Record<string, number>> = {
  VIGIL_EVENT_VERSION,
  VIGIL_COMM_LEN,
  VIGIL_PATH_LEN,
  VIGIL_DROPS_SLOTS,
  VIGIL_EV_EXIT: EventKind.Exit,
  VIGIL_EV_SIGNAL: EventKind.Signal,
  VIGIL_EV_OOM: EventKind.Oom,
  VIGIL_EV_FORK: EventKind.Fork,
  VIGIL_EV_EXEC: EventKind.Exec,
  VIGIL_EXIT_OOM_VICTIM: ExitFlag.OomVictim,
  VIGIL_EXIT_CORE_DUMPED: ExitFlag.CoreDumped,
  VIGIL_SIG_GROUP: SignalFlag.Group,
  VIGIL_OOM_MEMCG: OomFlag.Memcg,
  VIGIL_OOM_NO_MEMCG: OomFlag.NoMemcg,
  VIGIL_OOM_HOOK_NONE: OomHook.None,
  VIGIL_OOM_HOOK_TRACEPOINT: OomHook.Tracepoint,
  VIGIL_OOM_HOOK_FENTRY: OomHook.Fentry,
};

export interface Field {
  readonly offset: number;
  readonly size: number;
}

export interface StructLayout<F extends string> {
  /** The C struct name, without `struct`. */
  readonly name: string;
  readonly size: number;
  readonly fields: Readonly<Record<F, Field>>;
}

const f = (offset: number, size: number): Field => ({ offset, size });

export const HEADER = {
  name: 'vigil_event_header',
  size: 32,
  fields: {
    ts_ns: f(0, 8),
    cgroup_id: f(8, 8),
    task_cgroup_id: f(16, 8),
    kind: f(24, 2),
    version: f(26, 2),
    size: f(28, 4),
  },
} as const satisfies StructLayout<string>;

export const TASK = {
  name: 'vigil_task',
  size: 32,
  fields: {
    pid: f(0, 4),
    tid: f(4, 4),
    start_boottime_ns: f(8, 8),
    comm: f(16, VIGIL_COMM_LEN),
  },
} as const satisfies StructLayout<string>;

export const EXIT_EVENT = {
  name: 'vigil_exit_event',
  size: 80,
  fields: {
    header: f(0, HEADER.size),
    task: f(32, TASK.size),
    ppid: f(64, 4),
    exit_code: f(68, 4),
    flags: f(72, 4),
    _pad: f(76, 4),
  },
} as const satisfies StructLayout<string>;

export const SIGNAL_EVENT = {
  name: 'vigil_signal_event',
  size: 128,
  fields: {
    header: f(0, HEADER.size),
    target: f(32, TASK.size),
    sender: f(64, TASK.size),
    sender_cgroup_id: f(96, 8),
    sender_watched_cgroup_id: f(104, 8),
    sig: f(112, 4),
    si_code: f(116, 4),
    result: f(120, 4),
    flags: f(124, 4),
  },
} as const satisfies StructLayout<string>;

export const OOM_EVENT = {
  name: 'vigil_oom_event',
  size: 120,
  fields: {
    header: f(0, HEADER.size),
    victim: f(32, TASK.size),
    uid: f(64, 4),
    hook: f(68, 4),
    total_vm_kb: f(72, 8),
    anon_rss_kb: f(80, 8),
    file_rss_kb: f(88, 8),
    shmem_rss_kb: f(96, 8),
    pgtables_kb: f(104, 8),
    oom_score_adj: f(112, 4),
    flags: f(116, 4),
  },
} as const satisfies StructLayout<string>;

export const FORK_EVENT = {
  name: 'vigil_fork_event',
  size: 96,
  fields: {
    header: f(0, HEADER.size),
    child: f(32, TASK.size),
    parent: f(64, TASK.size),
  },
} as const satisfies StructLayout<string>;

export const EXEC_EVENT = {
  name: 'vigil_exec_event',
  size: 320,
  fields: {
    header: f(0, HEADER.size),
    task: f(32, TASK.size),
    filename: f(64, VIGIL_PATH_LEN),
  },
} as const satisfies StructLayout<string>;

/** Every struct of events.h, for the layout test. */
export const STRUCTS: readonly StructLayout<string>[] = [HEADER, TASK, EXIT_EVENT, SIGNAL_EVENT, OOM_EVENT, FORK_EVENT, EXEC_EVENT];
