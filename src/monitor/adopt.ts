/**
 * Finding a business process that a monitor started but did not live to
 * record: the helper gives every business process VIGIL_PROCESS=<name> in its
 * environment, and the kernel hands it to the container's init. Until the
 * helper is done there is nothing to find yet, so a monitor tags its helpers
 * (HELPER_TAG in the helper's own environment, which no business process
 * inherits) and the next one waits while a tagged helper is still in flight.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readStat } from '../launcher/proc.js';

export interface Candidate {
  pid: number;
  startTime: number;
}

/**
 * Now, in /proc start-time ticks (USER_HZ, 100 a second) since boot: both
 * /proc/uptime and a task's start time count boot time.
 */
export function ticksSinceBoot(): number {
  return Math.floor(Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
}

/**
 * The copy of `processName` a helper started for a restart intent taken at
 * `since` (ticks since boot). VIGIL_PROCESS alone does not name one copy: a
 * copy's children inherit it, and those that outlive it are re-parented to
 * vigil-init. An orphan of the copy that died began before that copy died,
 * so before the intent; the copy the helper starts began at it or later.
 * `since` null: state from an older build, where any child of init so named
 * is taken.
 */
export function findStartedProcess(v2CgroupDir: string, initPid: number, processName: string, known: Set<number>, since: number | null): Candidate | null {
  let pids: number[];
  try {
    pids = fs.readFileSync(path.join(v2CgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return null;
  }
  let best: Candidate | null = null;
  for (const pid of pids) {
    if (pid === initPid || known.has(pid)) continue;
    const stat = readStat(pid);
    if (!stat || stat.ppid !== initPid) continue;
    if (since !== null && stat.startTime < since) continue;
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!environ.split('\0').includes(`VIGIL_PROCESS=${processName}`)) continue;
    if (!best || stat.startTime < best.startTime) best = { pid, startTime: stat.startTime };
  }
  return best;
}

/** The environment variable a monitor sets on the helpers it runs for restarts. */
export const HELPER_TAG = 'VIGIL_HELPER_FOR';

export function helperTag(root: string, container: string, processName: string): Record<string, string> {
  return { [HELPER_TAG]: JSON.stringify([root, container, processName]) };
}

/** Is a helper tagged for this process (or its child before exec) still alive? */
export function helperInFlight(root: string, container: string, processName: string): boolean {
  const wanted = `${HELPER_TAG}=${helperTag(root, container, processName)[HELPER_TAG]}`;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8') !== 'vigil-helper\n') continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(wanted)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}
