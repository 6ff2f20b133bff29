/**
 * A private tracer for one integration test file: its own pin directory, a
 * watched cgroup v2 directory beneath this process's own cgroup (hybrid:
 * under /sys/fs/cgroup/unified), a consumer collecting decoded events, and
 * helpers to run processes in cgroups and wait for their events. close()
 * kills what it started (by pid), removes the cgroups and unpins the tracer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DecodedEvent, ExecEvent, ExitEvent, ForkEvent, OomEvent, SignalEvent } from '../../src/events/decode.js';
import { detectLayout } from '../../src/launcher/cgroups.js';
import { BPF_OBJECT_PATH } from '../../src/paths.js';
import { bpffsMount, ensureTracer, openConsumer, removeTracer, watch, type EventConsumer, type TracerEnsureOptions, type TracerEnsureResult } from '../../src/tracer/tracer.js';

export const OBJ = BPF_OBJECT_PATH;
export const PYTHON = '/usr/bin/python3';

/** Our own cgroup v2 directory (hybrid: under /sys/fs/cgroup/unified; v1 only: under vigil's /run/vigil/cgroup2). */
export function ownV2Dir(): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  const mount = detectLayout().v2Mount; // v1-only host: vigil's own v2 tree (mounted here if need be)
  return path.join(mount, line ? line.slice(3) : '/');
}

/** Our own v1 memory cgroup directory, or undefined where memory is not on v1. */
export function ownMemcgDir(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:memory:/.test(l));
  return line ? path.join('/sys/fs/cgroup/memory', line.slice(line.indexOf(':memory:') + 8)) : undefined;
}

export const cgroupIdOf = (dir: string): bigint => statSync(dir, { bigint: true }).ino;

export interface Run {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (i >= 50) throw err;
      await sleep(100);
    }
  }
}

export class TracerHarness {
  readonly pinDir: string;
  /** The watched cgroup (a container's, as far as the tracer knows). */
  readonly cg: string;
  cgroupId = 0n;
  readonly seen: DecodedEvent[] = [];
  decodeErrors = 0;
  consumer: EventConsumer | undefined;
  ensured: TracerEnsureResult | undefined;
  private readonly children = new Set<ChildProcess>();
  /** Cgroup directories made here, removed deepest first. */
  private readonly dirs: string[] = [];

  constructor(readonly label: string) {
    this.pinDir = `/sys/fs/bpf/vigil-test-${label}-${process.pid}`;
    this.cg = path.join(ownV2Dir(), `vigil-test-${label}-${process.pid}`);
  }

  /** Load a private tracer, make and watch the cgroup, start collecting. */
  open(options?: TracerEnsureOptions): this {
    bpffsMount();
    removeTracer(this.pinDir); // a leftover of an interrupted run with the same pid
    this.ensured = ensureTracer(OBJ, this.pinDir, options);
    this.cgroupId = this.mkdir(this.cg);
    watch(this.pinDir, this.cgroupId);
    this.consumer = openConsumer(this.pinDir, (events, errors) => {
      this.seen.push(...events);
      this.decodeErrors += errors;
    });
    return this;
  }

  /** mkdir a cgroup (removed by close); returns its id. */
  mkdir(dir: string): bigint {
    mkdirSync(dir);
    this.dirs.push(dir);
    return cgroupIdOf(dir);
  }

  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: env ?? process.env });
    this.children.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        this.children.delete(child);
        resolve({ code, signal });
      });
    });
    if (child.pid === undefined) throw new Error(`spawn ${cmd} failed`);
    return { child, pid: child.pid, exited };
  }

  /** sh that moves itself into `dir` (default: the watched cgroup), then runs `then`. */
  runIn(then: string, dir = this.cg): Run {
    return this.run('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && ${then}`]);
  }

  async waitFor<T>(what: string, pick: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pick();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.seen.slice(-20), bigintJson)}`);
      await sleep(20);
    }
  }

  exitsOf = (pid: number): ExitEvent[] => this.seen.filter((e): e is ExitEvent => e.kind === 'exit' && e.task.pid === pid);
  signalsTo = (pid: number): SignalEvent[] => this.seen.filter((e): e is SignalEvent => e.kind === 'signal' && e.target.pid === pid);
  oomsOf = (pid: number): OomEvent[] => this.seen.filter((e): e is OomEvent => e.kind === 'oom' && e.victim.pid === pid);
  forksOf = (pid: number): ForkEvent[] => this.seen.filter((e): e is ForkEvent => e.kind === 'fork' && e.child.pid === pid);
  execsOf = (pid: number): ExecEvent[] => this.seen.filter((e): e is ExecEvent => e.kind === 'exec' && e.task.pid === pid);

  async close(): Promise<void> {
    this.consumer?.close();
    for (const c of this.children) if (c.pid) process.kill(c.pid, 'SIGKILL');
    await sleep(100);
    for (const d of [...this.dirs].reverse()) await rmdirRetry(d);
    removeTracer(this.pinDir);
  }
}

/** /proc/PID/stat field 22, in clock ticks since boot. */
export function startTicks(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!);
}
