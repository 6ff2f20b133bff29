/**
 * Degraded mode's source of exits: the kernel's netlink process connector
 * (PROC_EVENT_EXIT), for kernels where the BPF tracer cannot load (no BTF, no
 * ring buffer). It gives pid, thread id, raw exit code and a timestamp, but no
 * start time, cgroup, signal sender or OOM flag, and nothing is kept while no
 * one listens. So an exit is turned into an ExitEvent only for a process the
 * caller knows (its cgroup and start time, from the state) and only once that
 * identity is really gone, never by pid alone; what is missed (exits while no
 * monitor runs, socket overruns) is left to the monitor's reconciliation.
 */
import { readFileSync } from 'node:fs';
import type { ExitEvent, MonoNs, TaskIdentity } from '../events/decode.js';
import { loadNative } from './native.js';
import type { EventConsumer, EventsHandler } from './tracer.js';

/** One PROC_EVENT_EXIT as the addon reports it (per thread). */
export interface ProcExit {
  /** tgid */
  pid: number;
  tid: number;
  /** Raw wait status, as task->exit_code. */
  exitCode: number;
  ppid: number;
  /** ktime_get_ns(): the monotonic clock, as BPF timestamps. */
  tsNs: bigint;
}

/** A process the caller knows, by pid: its container's cgroup id and its identity. */
export interface KnownProcess {
  cgroupId: bigint;
  startBoottimeNs: bigint;
  comm: string;
  /** A container's vigil-init: its children are business processes. */
  init: boolean;
}

/** Looks for the state to name a process that died at once (ms after its exit). */
const RETRY_MS = [20, 100, 500];

/**
 * Pure: the exit event for a connector record, or null when it is not the
 * end of a known process: another thread, an unknown pid, a known process
 * that started after this exit (the pid was reused), or one with that
 * identity still alive (the leader ended before its threads).
 * `bootOffsetNs` is CLOCK_BOOTTIME - CLOCK_MONOTONIC (start times are on
 * the first, connector timestamps on the second).
 */
export function procExitToEvent(rec: ProcExit, known: (pid: number) => KnownProcess | null, alive: (pid: number, startBoottimeNs: bigint) => boolean, bootOffsetNs: bigint): ExitEvent | null {
  if (rec.tid !== rec.pid) return null;
  const k = known(rec.pid);
  // /proc start times have 10 ms resolution: allow that much.
  if (!k || k.startBoottimeNs > rec.tsNs + bootOffsetNs + 10_000_000n || alive(rec.pid, k.startBoottimeNs)) return null;
  const task: TaskIdentity = { pid: rec.pid, tid: rec.tid, startBoottimeNs: k.startBoottimeNs, comm: k.comm };
  const sig = rec.exitCode & 0x7f;
  return {
    kind: 'exit',
    tsNs: rec.tsNs as MonoNs,
    cgroupId: k.cgroupId,
    taskCgroupId: k.cgroupId,
    version: 0,
    task,
    ppid: rec.ppid,
    exitCode: rec.exitCode,
    status: sig === 0 ? (rec.exitCode >> 8) & 0xff : null,
    signal: sig === 0 ? null : sig,
    coreDumped: (rec.exitCode & 0x80) !== 0,
    oomVictim: false,
    flags: 0,
  };
}

interface NativeProcConnector {
  close(): void;
}

type ProcConnectorConstructor = new (callback: (records: Array<ProcExit | { overrun: true }>) => void) => NativeProcConnector;

/**
 * Listen to the process connector on the main loop. onEvents gets the exits
 * of known processes; onOverrun is called when the socket lost messages.
 */
export function openProcConnector(
  known: (pid: number) => KnownProcess | null,
  alive: (pid: number, startBoottimeNs: bigint) => boolean,
  onEvents: EventsHandler,
  onOverrun: () => void,
): EventConsumer {
  const native = loadNative();
  const Ctor = (native as unknown as { ProcConnector: ProcConnectorConstructor }).ProcConnector;
  const bootOffsetNs = BigInt(Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e9)) - native.monotonicNs();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  // A process can die before whoever started it recorded its pid: look
  // again a few times, as the monitor does for BPF exits it cannot place.
  const retry = (r: ProcExit, attempt: number): void => {
    if (attempt >= RETRY_MS.length || closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const e = procExitToEvent(r, known, alive, bootOffsetNs);
      if (e) onEvents([e], 0);
      else retry(r, attempt + 1);
    }, RETRY_MS[attempt]);
    timers.add(timer);
  };
  const pc = new Ctor((records) => {
    const events: ExitEvent[] = [];
    let overrun = false;
    for (const r of records) {
      if ('overrun' in r) overrun = true;
      else if (r.tid === r.pid) {
        const e = procExitToEvent(r, known, alive, bootOffsetNs);
        if (e) events.push(e);
        else if (!known(r.pid) && known(r.ppid)?.init) retry(r, 0); // a child of a container's init
      }
    }
    if (events.length) onEvents(events, 0);
    if (overrun) onOverrun();
  });
  return {
    poll: () => 0, // nothing waits: the connector keeps nothing while no one listens
    close: () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      pc.close();
    },
    get closed() {
      return closed;
    },
  };
}
