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

/** The environment variable that carries a monitor's restart intent to the copy it starts. */
export const START_TOKEN_VAR = 'VIGIL_START_TOKEN';

/**
 * The copy of `processName` a helper started for the intent `token` (null:
 * state from an older build, where any child of init named so is taken).
 */
export function findStartedProcess(v2CgroupDir: string, initPid: number, processName: string, known: Set<number>, token: string | null): Candidate | null {
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
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    const vars = environ.split('\0');
    if (!vars.includes(`VIGIL_PROCESS=${processName}`)) continue;
    if (token !== null && !vars.includes(`${START_TOKEN_VAR}=${token}`)) continue;
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
