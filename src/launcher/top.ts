/**
 * `vigil top`: the processes in a container, found through its cgroup (so a
 * double-forked daemon shows too), each marked as vigil-init, a named
 * business process, a descendant of one, or something else (an exec).
 * `topRows` is pure; reading /proc is at the edge.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerState } from '../state/store.js';
import { cgroupDirs } from './cgroups.js';
import { parseStat } from './proc.js';

export interface ProcInfo {
  pid: number;
  /** The pid inside the container's pid namespace (last NSpid field). */
  containerPid: number | null;
  ppid: number;
  uid: number;
  state: string;
  /** Clock ticks since boot. */
  startTime: number;
  command: string;
}

export interface TopRow {
  pid: number;
  containerPid: number | null;
  ppid: number;
  user: string;
  state: string;
  started: string;
  /** "vigil-init", the process's name, "child of NAME", or "-". */
  role: string;
  command: string;
}

/** USER_HZ: the unit of /proc/PID/stat starttime on every Linux architecture vigil builds for. */
const CLOCK_TICKS = 100;

export function topRows(state: ContainerState, procs: ProcInfo[], bootTimeMs: number, userName: (uid: number) => string): TopRow[] {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const named = new Map<number, string>();
  if (state.init) named.set(state.init.pid, 'vigil-init');
  for (const p of state.processes) {
    const live = p.pid !== null ? byPid.get(p.pid) : undefined;
    if (live && live.startTime === p.startTime) named.set(p.pid!, p.name);
  }
  const initIdentity = state.init && byPid.get(state.init.pid)?.startTime === state.init.startTime;
  const roleOf = (p: ProcInfo): string => {
    if (p.pid === state.init?.pid) return initIdentity ? 'vigil-init' : '-';
    if (named.has(p.pid)) return named.get(p.pid)!;
    // Walk up to the nearest named ancestor below init.
    const seen = new Set<number>();
    for (let q = byPid.get(p.ppid); q && !seen.has(q.pid); q = byPid.get(q.ppid)) {
      seen.add(q.pid);
      const name = named.get(q.pid);
      if (name && name !== 'vigil-init') return `child of ${name}`;
    }
    return '-';
  };
  return procs
    .slice()
    .sort((a, b) => a.startTime - b.startTime || a.pid - b.pid)
    .map((p) => ({
      pid: p.pid,
      containerPid: p.containerPid,
      ppid: p.ppid,
      user: userName(p.uid),
      state: p.state,
      started: new Date(bootTimeMs + (p.startTime * 1000) / CLOCK_TICKS).toISOString(),
      role: roleOf(p),
      command: p.command,
    }));
}

export function readProc(pid: number): ProcInfo | null {
  try {
    const stat = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (!stat) return null;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1].trim().split(/\s+/).pop();
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    return { pid, containerPid: nspid ? Number(nspid) : null, ppid: stat.ppid, uid, state: stat.state, startTime: stat.startTime, command: argv.length ? argv.join(' ') : `[${comm}]` };
  } catch {
    return null; // gone while we looked
  }
}

/** Every process in the container's cgroups (the v2 one holds them all; v1 ones are read too, for safety). */
export function containerProcs(state: ContainerState): ProcInfo[] {
  if (!state.cgroup) return [];
  const pids = new Set<number>();
  for (const dir of cgroupDirs(state.cgroup)) {
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids].map(readProc).filter((p): p is ProcInfo => p !== null);
}

/**
 * When the machine booted, as a wall-clock time in ms: now less the uptime
 * (the boot-time clock that /proc start times count, to 10 ms). /proc/stat's
 * btime is whole seconds, which put start times up to a second early.
 */
export function bootTimeMs(): number {
  const uptimeS = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() - uptimeS * 1000;
}

/** uid -> name from the host's /etc/passwd (the container shares the host's ids), else the number. */
export function hostUserNames(passwd = readOr('/etc/passwd')): (uid: number) => string {
  const names = new Map<number, string>();
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return (uid) => names.get(uid) ?? String(uid);
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
