/**
 * Turning kernel events into facts about business processes, pure: which
 * container and process an exit belongs to (by cgroup id, then pid + start
 * time, never pid alone), and why it died (OOM, a fault, a signal and its
 * sender, or an exit code).
 */
import type { ExitEvent, SignalEvent, TaskIdentity } from '../events/decode.js';
import type { Death } from '../policy/restart.js';
import type { ContainerState, LastExit, ProcessState, SignalSender } from '../state/store.js';
import { FAULT_SIGNALS, signalName } from '../util/signals.js';

/** /proc/PID/stat counts start time in USER_HZ (100) ticks; BPF in ns since boot. */
export const NS_PER_TICK = 10_000_000n;

export function startTicks(startBoottimeNs: bigint): number {
  return Number(startBoottimeNs / NS_PER_TICK);
}

/** One process: the same pid and the same start time (a pid alone is reused). */
export function sameTask(a: TaskIdentity, b: TaskIdentity): boolean {
  return a.pid === b.pid && a.startBoottimeNs === b.startBoottimeNs;
}

export function findProcess(state: ContainerState, pid: number, startBoottimeNs: bigint): ProcessState | null {
  const ticks = startTicks(startBoottimeNs);
  return state.processes.find((p) => p.pid === pid && p.startTime === ticks) ?? null;
}

/**
 * Where a death is placed in the state: by pid and start time, as the kernel
 * gave it (`ns`) or as the state recorded it (`ticks`: a death found by
 * reconciliation or a failed start). Never by pid alone: another process of
 * the same container may hold that pid again by now.
 */
export function processOfDeath(state: ContainerState, pid: number, start: { ns: bigint } | { ticks: number | null }): ProcessState | null {
  if ('ns' in start) return findProcess(state, pid, start.ns);
  return state.processes.find((p) => p.pid === pid && p.startTime === start.ticks) ?? null;
}

export function isInit(state: ContainerState, pid: number, startBoottimeNs: bigint): boolean {
  return state.init !== null && state.init.pid === pid && state.init.startTime === startTicks(startBoottimeNs);
}

/** Who sent a signal: null when the kernel raised it (si_code > 0: a fault, SI_KERNEL). */
export function senderOf(sig: SignalEvent, containerOfCgroup: (id: bigint) => string | null): SignalSender | null {
  if (sig.siCode > 0) return null;
  // The sender's watched cgroup names its container even from a sub-cgroup; 0 is the host.
  return { pid: sig.sender.pid, comm: sig.sender.comm, container: sig.senderWatchedCgroupId ? containerOfCgroup(sig.senderWatchedCgroupId) : null };
}

export function describeSender(s: SignalSender): string {
  return `pid ${s.pid} (${s.comm}${s.container ? `, container ${s.container}` : ', host'})`;
}

export interface Attribution {
  death: Death;
  lastExit: LastExit;
}

/**
 * Why a process died. `signal` is the last fatal signal the tracer saw aimed
 * at it, if any; `oomMarked` whether an OOM event named it.
 */
export function attributeExit(exit: ExitEvent, signal: SignalEvent | null, oomMarked: boolean, sender: SignalSender | null, at: Date): Attribution {
  const base = { coreDumped: exit.coreDumped, at: at.toISOString() };
  if (exit.oomVictim || (oomMarked && exit.signal === 9)) {
    return { death: { kind: 'oom-killed' }, lastExit: { ...base, code: null, signal: 'SIGKILL', reason: 'oom-killed', sender: null } };
  }
  if (exit.signal !== null) {
    // The signal must have been aimed at this very process: a pid is reused,
    // and a signal seen for an earlier holder of it (one the monitor could
    // not place) is not this one's cause.
    const matching = signal && signal.signal === exit.signal && sameTask(signal.target, exit.task) ? signal : null;
    // si_code > 0 (a fault code, or SI_KERNEL) means the kernel raised it.
    const fromKernel = matching !== null && matching.siCode > 0;
    const fault = FAULT_SIGNALS.has(exit.signal) && (matching === null || fromKernel);
    const who = matching ? sender : null;
    return {
      death: { kind: 'signaled', signal: exit.signal, fault, coreDumped: exit.coreDumped, sender: who ? describeSender(who) : fromKernel && !fault ? 'the kernel' : null },
      lastExit: { ...base, code: null, signal: signalName(exit.signal), reason: 'signaled', sender: who },
    };
  }
  const code = exit.status ?? 0;
  return { death: { kind: 'exited', code }, lastExit: { ...base, code, signal: null, reason: 'exited', sender: null } };
}
