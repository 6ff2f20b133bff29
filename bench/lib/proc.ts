/** Processes for the benchmark: timed commands, PSS, finding a daemon's helpers. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Cmd {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export function show(c: Cmd): string {
  return [c.file, ...c.args].join(' ');
}

/** Run to completion; throw with its stderr unless it exits 0. */
export function must(c: Cmd, timeoutMs = 60_000): string {
  const r = spawnSync(c.file, c.args, { env: c.env ?? process.env, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`${show(c)} exited ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout;
}

/** Milliseconds a command takes from spawn to exit. */
export function timedSync(c: Cmd): number {
  const t0 = process.hrtime.bigint();
  must(c);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Start a command in the background; `exited` resolves with its status and
 * stderr. Its stdio are /dev/null and a file, never pipes: runc and crun hand
 * their own stdio to a detached container, which would hold a pipe open.
 */
export function launch(c: Cmd): { exited: Promise<{ status: number | null; stderr: string }> } {
  const errFile = path.join(os.tmpdir(), `vigil-bench-stderr-${process.pid}-${serial++}`);
  const errFd = fs.openSync(errFile, 'w+');
  const child = spawn(c.file, c.args, { env: c.env ?? process.env, stdio: ['ignore', 'ignore', errFd] });
  fs.closeSync(errFd);
  const exited = new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const done = (status: number | null, extra = '') => {
      let stderr = extra;
      try {
        stderr += fs.readFileSync(errFile, 'utf8');
        fs.rmSync(errFile);
      } catch {
        // already read
      }
      resolve({ status, stderr });
    };
    child.once('error', (err) => done(-1, err.message));
    child.once('exit', (status, signal) => done(status ?? (signal ? -1 : null)));
  });
  return { exited };
}
let serial = 0;

/** Proportional set size of a process in MiB (0 if it is gone). */
export function pssMiB(pid: number): number {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Resident set size of a process in MiB (0 if it is gone). */
export function rssMiB(pid: number): number {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

export function sumPss(pids: number[]): number {
  return pids.reduce((s, p) => s + pssMiB(p), 0);
}

/** Live processes whose comm is `comm` and whose command line contains `needle`. */
export function findProcesses(comm: string, needle: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      if (!fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) continue;
      found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export function readPidFile(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
