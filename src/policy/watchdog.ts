/**
 * The notify watchdog's judgement, pure. A process with `watchdog` must send
 * WATCHDOG=1 (or READY=1) at least once per interval. The clock starts at the
 * latest of: its last message, the moment this monitor first saw the process
 * (its start, or its adoption), and the monitor's own start. So a monitor that
 * was away, or just restarted, never blames a process for the silence it could
 * not hear: each gets one full interval of grace.
 */
export interface WatchdogInput {
  intervalMs: number;
  /** Wall-clock ms of the last READY=1 or WATCHDOG=1 from this process, or null. */
  lastPingMs: number | null;
  /** Wall-clock ms when this monitor first saw this process (pid) running. */
  seenSinceMs: number;
  monitorStartMs: number;
  nowMs: number;
}

/** How many ms the process has been silent past its interval; > 0 means hung. */
export function watchdogOverdueMs(input: WatchdogInput): number {
  const from = Math.max(input.lastPingMs ?? -Infinity, input.seenSinceMs, input.monitorStartMs);
  return input.nowMs - (from + input.intervalMs);
}

export function watchdogExpired(input: WatchdogInput): boolean {
  return watchdogOverdueMs(input) > 0;
}

/** A notify message ("READY=1\nSTATUS=up\n") as its assignments; malformed lines are dropped. */
export function parseNotify(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
