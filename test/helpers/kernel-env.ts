/**
 * A private vigil world for one integration test file: its own state root,
 * its own cgroup parent beneath this process's cgroups, its own tracer pin
 * directory. `cleanup()` removes every container, the pins and the cgroups,
 * and `leftovers()` lists anything that survived, so tests can assert that
 * nothing is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ExecutionContext } from 'ava';
import { readLayout, resolveParent } from '../../src/launcher/cgroups.js';
import { PACKAGE_ROOT, TESTBIN_PATH } from '../../src/paths.js';
import { Store } from '../../src/state/store.js';
import { removeTracer } from '../../src/tracer/tracer.js';

export const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');
/** Where the testbin fixture appears inside test containers. */
export const TESTBIN_IN_CONTAINER = '/run/vigil-test/testbin';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export class KernelEnv {
  readonly root: string;
  readonly cgroupParent: string;
  readonly store: Store;
  private monitors = new Set<ChildProcess>();

  constructor(label: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-test-${label}-`));
    this.cgroupParent = `vigil-test-${label}-${process.pid}`;
    this.store = new Store(this.root);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, VIGIL_ROOT: this.root, VIGIL_CGROUP_PARENT: this.cgroupParent };
  }

  cli(...args: string[]): CliResult {
    const r = spawnSync(process.execPath, [VIGIL, ...args], { env: this.env, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Run the CLI and fail the test with its stderr unless it exits 0. */
  ok(t: ExecutionContext, ...args: string[]): string {
    const r = this.cli(...args);
    if (r.status !== 0) t.fail(`vigil ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  inspect(t: ExecutionContext, name: string): Inspect {
    return JSON.parse(this.ok(t, 'inspect', name)) as Inspect;
  }

  writeSpec(name: string, spec: unknown): string {
    const file = path.join(this.root, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(spec));
    return file;
  }

  /** A spec with the testbin fixture bound into the container. */
  spec(name: string, processes: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name,
      mounts: [{ source: TESTBIN_PATH, target: TESTBIN_IN_CONTAINER, readonly: true }],
      processes,
      ...extra,
    };
  }

  startMonitor(...args: string[]): MonitorProcess {
    const child = spawn(process.execPath, [VIGIL, 'monitor', '--json', ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.monitors.add(child);
    child.on('exit', () => this.monitors.delete(child));
    return new MonitorProcess(child);
  }

  /** Remove every container, the tracer pins and the cgroup parent. */
  cleanup(): void {
    for (const m of this.monitors) m.kill('SIGKILL');
    for (const name of this.store.names()) this.cli('rm', '-f', name);
    removeTracer(this.store.pinDir);
    for (const dir of this.parentDirs()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // absent already
      }
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  parentDirs(): string[] {
    // Only looks (detectLayout would mount vigil's v2 tree on a v1-only host):
    // where no v2 tree is mounted yet, nothing can have been left in one.
    const { v2Mount, ...layout } = readLayout();
    const p = resolveParent({ ...layout, v2Mount: v2Mount ?? '/' }, this.cgroupParent);
    return v2Mount === null ? Object.values(p.v1) : [p.v2, ...Object.values(p.v1)];
  }

  /** Wait (up to 6 s) until a process's log holds `marker`, the process having written everything before it; the log as it is then. */
  async logUntil(name: string, proc: string, marker: string): Promise<string> {
    const file = this.store.logFile(name, proc);
    for (let i = 0; i < 300; i++) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (text.includes(marker)) return text;
      await new Promise((r) => setTimeout(r, 20));
    }
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  /** Cgroups, pins and mounts that a removed container may have left. */
  leftovers(names: string[]): string[] {
    const found: string[] = [];
    for (const dir of this.parentDirs()) for (const n of names) if (fs.existsSync(path.join(dir, n))) found.push(path.join(dir, n));
    for (const n of names) if (fs.existsSync(this.store.containerDir(n))) found.push(this.store.containerDir(n));
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    if (mounts.includes(this.root)) found.push(`a mount under ${this.root}`);
    return found;
  }
}

export interface InspectProcess {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
  startedAt: string | null;
  lastExit: { code: number | null; signal: string | null; reason: string; sender: { pid: number; comm: string; container: string | null } | null; at: string } | null;
}

export interface Inspect {
  name: string;
  state: string;
  pid: number | null;
  cgroup: string | null;
  processes: InspectProcess[];
}

export interface MonitorLine {
  seq: number;
  kind: string;
  container: string | null;
  process: string | null;
  pid: number | null;
  reason: string;
  [k: string]: unknown;
}

/** A `vigil monitor --json` child, its lines collected as they come. */
export class MonitorProcess {
  readonly lines: MonitorLine[] = [];
  private waiters: Array<() => void> = [];
  stderr = '';

  constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as MonitorLine);
      } catch {
        this.stderr += `unparsable line: ${l}\n`;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }

  /** Resolve with the first line (after `from`) matching, or reject after timeoutMs. */
  waitFor(match: (l: MonitorLine) => boolean, timeoutMs = 10_000, from = 0): Promise<MonitorLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.slice(from).find(match);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(`monitor line not seen in ${timeoutMs} ms; saw:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr}`)), timeoutMs);
      if (check()) return;
      const again = () => {
        if (!check()) this.waiters.push(again);
      };
      this.waiters.push(again);
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill(signal);
    });
  }
}

export function nsOf(pid: number, ns: string): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
}

export function ppidOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Poll `probe` every 50 ms until it gives something truthy; throw naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
