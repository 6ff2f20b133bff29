/**
 * The monitor runs ahead of the load it watches: on a busy host a runnable
 * monitor that waits for a CPU is detection and recovery latency (measured:
 * p99 in the hundreds of ms on a 2-core machine at load 16). It raises its own
 * priority (nice MONITOR_NICE) once at start; what it starts (restarted
 * processes through vigil-helper, `vigil` child commands) is given back the
 * nice the monitor had, so business processes never inherit the raise.
 */
import os from 'node:os';

export const MONITOR_NICE = -10;

let original: number | null = null;

/** Raise this process to MONITOR_NICE (never lowers it). Returns the nice now, or null if refused. */
export function raiseMonitorPriority(): number | null {
  original ??= os.getPriority(0);
  if (original <= MONITOR_NICE) return original;
  try {
    os.setPriority(0, MONITOR_NICE);
    return MONITOR_NICE;
  } catch {
    return null; // without CAP_SYS_NICE the monitor runs as started
  }
}

/** The nice the monitor had before it raised itself (null if it never did). */
export function originalNice(): number | null {
  return original;
}

/** Give a child the monitor's original nice (a child still booting: nothing has run yet). */
export function restoreChildPriority(pid: number | undefined): void {
  if (original === null || pid === undefined) return;
  try {
    if (os.getPriority(pid) !== original) os.setPriority(pid, original);
  } catch {
    // gone already
  }
}
