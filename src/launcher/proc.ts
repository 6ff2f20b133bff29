/** Process identity on the host: (pid, start time), never pid alone. */
import fs from 'node:fs';

export interface ProcStat {
  state: string;
  ppid: number;
  /** Field 22: start time in clock ticks since boot. */
  startTime: number;
}

export function parseStat(text: string): ProcStat | null {
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field N is fields[N - 3].
  const startTime = Number(fields[22 - 3]);
  if (!Number.isFinite(startTime)) return null;
  return { state: fields[0], ppid: Number(fields[1]), startTime };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** True while the process with this identity exists and is not a zombie. */
export function isAlive(pid: number | null, startTime: number | null): boolean {
  if (!pid || startTime === null) return false;
  const st = readStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** Signal a process only if it still is the one we started. */
export function signalIdentified(pid: number | null, startTime: number | null, signal: NodeJS.Signals | number): boolean {
  if (!isAlive(pid, startTime)) return false;
  try {
    process.kill(pid!, signal);
    return true;
  } catch {
    return false;
  }
}

export function sleepSync(msToSleep: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msToSleep);
}

/** Wait until the process is gone; returns false on timeout. */
export function waitGoneSync(pid: number | null, startTime: number | null, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    sleepSync(10);
  }
  return true;
}
