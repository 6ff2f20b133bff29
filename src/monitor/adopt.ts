/**
 * Finding a business process that a monitor started but did not live to
 * record: the helper gives every business process VIGIL_PROCESS=<name> in its
 * environment, and the kernel hands it to the container's init.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readStat } from '../launcher/proc.js';

export interface Candidate {
  pid: number;
  startTime: number;
}

export function findStartedProcess(v2CgroupDir: string, initPid: number, processName: string, known: Set<number>): Candidate | null {
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
    if (!environ.split('\0').includes(`VIGIL_PROCESS=${processName}`)) continue;
    if (!best || stat.startTime < best.startTime) best = { pid, startTime: stat.startTime };
  }
  return best;
}
