/**
 * Container state in files, so every CLI call and every monitor see the same
 * truth without a daemon. Writes are atomic (write a temporary file, rename)
 * and every read-modify-write happens under one flock on `<root>/lock`.
 *
 * Layout under the root (default /run/vigil, or --root / VIGIL_ROOT):
 *   lock                          the state lock
 *   monitor.lock                  held by the running monitor
 *   containers/NAME/state.json    ContainerState
 *   containers/NAME/logs/P.log    stdout+stderr of process P
 *   containers/NAME/rootfs        mount point the container root is built on
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { HostError, NotFoundError, UsageError } from '../util/errors.js';
import { flock } from '../tracer/native.js';
import type { ContainerCgroups } from '../launcher/cgroups.js';
import { NAME_PATTERN, type ContainerSpec } from '../launcher/spec.js';
import type { Health } from '../policy/health.js';

/** Prefix of a container directory being built (see Store.writeFirst); not a valid name. */
const STAGING_PREFIX = '.new-';

/** Whether anything is mounted at or below dir in this mount namespace (never rm -r across a mount). */
function isMountpointInside(dir: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => {
    const mountPoint = line.split(' ')[4];
    return mountPoint !== undefined && (mountPoint === dir || mountPoint.startsWith(dir + '/'));
  });
}

export type ContainerStatus = 'created' | 'running' | 'stopping' | 'stopped';
export type ProcessStatus = 'starting' | 'running' | 'backing-off' | 'given-up' | 'stopped' | 'exited';
export type ExitReason = 'exited' | 'signaled' | 'oom-killed' | 'operator' | 'lost';

export interface SignalSender {
  pid: number;
  comm: string;
  container: string | null;
}

export interface LastExit {
  code: number | null;
  signal: string | null;
  reason: ExitReason;
  sender: SignalSender | null;
  coreDumped: boolean;
  at: string;
}

export interface ProcessState {
  name: string;
  pid: number | null;
  /** /proc/PID/stat starttime (clock ticks since boot): with pid, the identity. */
  startTime: number | null;
  state: ProcessStatus;
  restarts: number;
  /** Restarts since the process last ran long enough to reset its back-off. */
  attempt: number;
  startedAt: string | null;
  lastExit: LastExit | null;
  /** Recent deaths (ISO times), for give-up rules. */
  deaths: string[];
  /** Set by an operator's stop (or a kill that ends the container): the next death is not answered. */
  operatorStop: boolean;
  /**
   * The operator's last signal (`vigil kill`): a death by that signal, or an
   * exit soon after it, is the operator's; a process that survives it is
   * watched as before.
   */
  operatorKill: { signal: string; at: string } | null;
  /**
   * The identity this process had before its latest start, so an exit the
   * kernel reports late (after an operator's restart recorded the new pid)
   * is still placed. Absent in state written by older builds.
   */
  replaced?: { pid: number; startTime: number | null; byOperator: boolean } | null;
  /**
   * When a monitor recorded its restart intent (state "starting"), in
   * /proc start-time ticks since boot: the copy its helper starts began
   * then or later, an orphan an earlier copy left to vigil-init began before
   * (monitor/adopt.ts). Absent in state written by older builds.
   */
  startingSince?: number | null;
  /**
   * When a process left "backing-off" is due to start again, in /proc
   * start-time ticks since boot (a clock that no wall-clock change moves and
   * that outlives the monitor): a monitor started meanwhile waits out the
   * rest instead of restarting it at once, never longer than its policy's
   * longest delay (ticks restart at boot). Absent in older state: at once.
   */
  backoffUntil?: number | null;
  /** Supervision (absent in state written by older builds). The exec check's verdict, written by the monitor. */
  health?: Health | null;
  /**
   * Held back until what it depends on is ready (state "starting"): set by
   * whoever starts it (`by`, a process identity) at a container start or a
   * restart along with a dependency; a monitor takes over if `by` is gone.
   */
  waiting?: { for: string[]; by: { pid: number; startTime: number }; cause: string; since: string } | null;
  /** What the process said over NOTIFY_SOCKET (monitor/notify.ts), for this pid. */
  notify?: { pid: number; ready: boolean; lastPingAt: string | null; status: string | null; stopping: boolean } | null;
}

export interface ContainerState {
  version: 1;
  name: string;
  state: ContainerStatus;
  spec: ContainerSpec;
  specFile: string | null;
  cgroupParent: string;
  init: { pid: number; startTime: number } | null;
  cgroup: ContainerCgroups | null;
  /** The v2 cgroup id of the last run, after a stop: late kernel events still find the container. */
  lastCgroupId: string | null;
  createdAt: string;
  startedAt: string | null;
  operatorStop: boolean;
  processes: ProcessState[];
}

export const DEFAULT_ROOT = '/run/vigil';

export class Store {
  readonly root: string;

  constructor(root: string = process.env.VIGIL_ROOT || DEFAULT_ROOT) {
    // The real path, so one root reached through a symlink is still one root
    // (one lock, one tracer).
    const resolved = path.resolve(root);
    try {
      this.root = fs.realpathSync(resolved);
    } catch {
      this.root = resolved;
    }
  }

  get containersDir(): string {
    return path.join(this.root, 'containers');
  }

  /** Every path under the root goes through here: a name can never climb out of containers/. */
  containerDir(name: string): string {
    if (!NAME_PATTERN.test(name)) throw new UsageError(`"${name}" is not a container name ([a-z0-9][a-z0-9_.-]{0,62})`);
    return path.join(this.containersDir, name);
  }

  logFile(name: string, process: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(process)) throw new UsageError(`"${process}" is not a process name`);
    return path.join(this.containerDir(name), 'logs', `${process}.log`);
  }

  rootfsMountpoint(name: string): string {
    return path.join(this.containerDir(name), 'rootfs');
  }

  get monitorLockFile(): string {
    return path.join(this.root, 'monitor.lock');
  }

  /** bpffs directory of the tracer that serves this root. */
  get pinDir(): string {
    if (this.root === DEFAULT_ROOT) return '/sys/fs/bpf/vigil';
    // node:crypto loads only here: most commands never need the pin directory.
    const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const tag = crypto.createHash('sha256').update(this.root).digest('hex').slice(0, 12);
    return `/sys/fs/bpf/vigil-${tag}`;
  }

  private ensureRoot(): void {
    try {
      fs.mkdirSync(this.containersDir, { recursive: true, mode: 0o711 });
    } catch (err) {
      throw HostError.from('mkdir', this.containersDir, err);
    }
  }

  /** The descriptor of the state lock while this process holds it (re-entrant use shares it). */
  heldLockFd: number | null = null;

  /** Run fn while holding the state lock (blocking). */
  withLock<T>(fn: () => T): T {
    if (this.heldLockFd !== null) return fn();
    this.ensureRoot();
    const lockPath = path.join(this.root, 'lock');
    const fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      flock(fd, true, true);
      this.heldLockFd = fd;
      return fn();
    } finally {
      this.heldLockFd = null;
      fs.closeSync(fd); // closing the descriptor releases the lock
    }
  }

  names(): string[] {
    try {
      return fs.readdirSync(this.containersDir).filter((n) => NAME_PATTERN.test(n) && fs.existsSync(path.join(this.containersDir, n, 'state.json'))).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw HostError.from('readdir', this.containersDir, err);
    }
  }

  list(): ContainerState[] {
    return this.names().flatMap((n) => {
      const s = this.tryRead(n);
      return s ? [s] : [];
    });
  }

  tryRead(name: string): ContainerState | null {
    const file = path.join(this.containerDir(name), 'state.json');
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as ContainerState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw HostError.from('read', file, err);
    }
  }

  read(name: string): ContainerState {
    const s = this.tryRead(name);
    if (!s) throw new NotFoundError(`no container named "${name}" (under ${this.root})`);
    return s;
  }

  write(state: ContainerState): void {
    const dir = this.containerDir(state.name);
    const file = path.join(dir, 'state.json');
    if (!fs.existsSync(file)) return this.writeFirst(state, dir);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
      fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw HostError.from('write', file, err);
    }
  }

  /**
   * A container's directory appears whole or not at all: it is built under a
   * staging name and renamed into place, so a launcher killed at any moment
   * never leaves a directory without a state file (which no command could name).
   * Call under the state lock.
   */
  private writeFirst(state: ContainerState, dir: string): void {
    const staging = path.join(this.containersDir, `${STAGING_PREFIX}${state.name}-${process.pid}`);
    try {
      fs.rmSync(staging, { recursive: true, force: true });
      fs.mkdirSync(path.join(staging, 'logs'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'state.json'), JSON.stringify(state, null, 2) + '\n');
      // Debris of an interrupted rm (a directory without state) gives way.
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(staging, dir);
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw HostError.from('write', path.join(dir, 'state.json'), err);
    }
  }

  /**
   * Remove what interrupted commands left: staging directories of dead
   * processes and container directories without a state file. Call under the lock.
   */
  sweepDebris(): void {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.containersDir);
    } catch {
      return;
    }
    for (const n of entries) {
      const full = path.join(this.containersDir, n);
      if (n.startsWith(STAGING_PREFIX)) {
        const pid = Number(n.slice(n.lastIndexOf('-') + 1));
        if (pid > 0 && pid !== process.pid && fs.existsSync(`/proc/${pid}`)) continue;
        fs.rmSync(full, { recursive: true, force: true });
      } else if (NAME_PATTERN.test(n) && !fs.existsSync(path.join(full, 'state.json')) && !isMountpointInside(full)) {
        fs.rmSync(full, { recursive: true, force: true });
      }
    }
  }

  /** Read, change and write one container under the lock. */
  update(name: string, change: (s: ContainerState) => void): ContainerState {
    return this.withLock(() => {
      const s = this.read(name);
      change(s);
      this.write(s);
      return s;
    });
  }

  remove(name: string): void {
    const dir = this.containerDir(name);
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      throw HostError.from('rm', dir, err);
    }
  }
}
