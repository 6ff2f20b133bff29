/**
 * The engines side by side: how each starts a detached container whose first
 * process opens the harness's FIFO, finds its business process, keeps a
 * restart policy with its smallest delay, is cleaned up, and which host
 * processes it keeps for management (for PSS).
 *
 * Peers (Docker, Podman, runc, crun) are used only if bench/peers/setup.sh
 * prepared them in $VIGIL_PEERS_DIR; they share one busybox rootfs with vigil.
 */
import fs from 'node:fs';
import path from 'node:path';
import { removeContainer } from '../src/launcher/container.js';
import type { KernelEnv } from '../test/helpers/kernel-env.js';
import { VIGIL } from '../test/helpers/kernel-env.js';
import { findProcesses, must, readPidFile, type Cmd } from './lib/proc.js';

export const PEERS_DIR = process.env.VIGIL_PEERS_DIR || '/tmp/vigil-peers';
const IMAGE = 'vigil-bench/busybox:local';
export const PEERS_ROOTFS = path.join(PEERS_DIR, 'rootfs');

/** What the container runs: announce itself through the FIFO, then stay. */
export function firstProcess(sigTarget: string): string[] {
  return ['/bin/sh', '-c', `echo up > ${sigTarget}/ready; exec sleep 3600`];
}

export interface StartOptions {
  /** The engine's restart policy, with its smallest delay. */
  restart: boolean;
  /** Run firstProcess (FIFO in sigDir) or just an idle sleep. */
  sigDir: string | null;
}

export interface Engine {
  readonly name: string;
  /** How the engine restarts a dead process (null: it does not). */
  readonly restartPolicy: string | null;
  startCommand(id: string, opts: StartOptions): Cmd;
  /** Host pid of the container's business process. */
  businessPid(id: string): number;
  remove(ids: string[]): void;
  /** Host processes the engine keeps for management right now. */
  managementPids(): number[];
}

function alive(pid: number | null, comm: string): pid is number {
  if (pid === null) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
  } catch {
    return false;
  }
}

export class VigilEngine implements Engine {
  readonly name = 'vigil';
  readonly restartPolicy = 'always, back-off 0 ms, no spacing floor (the monitor restarts through vigil-helper exec)';
  monitorPid: number | null = null;
  readonly rootfs: string;
  private readonly sigTarget: string;

  constructor(private readonly env: KernelEnv) {
    // The peers' busybox rootfs when set up (the same files every engine runs), else image-less.
    this.rootfs = fs.existsSync(path.join(PEERS_ROOTFS, 'bin/busybox')) ? PEERS_ROOTFS : 'host';
    this.sigTarget = this.rootfs === 'host' ? '/run/sig' : '/sig';
  }

  spec(id: string, opts: StartOptions): Record<string, unknown> {
    return {
      name: id,
      rootfs: this.rootfs,
      mounts: opts.sigDir ? [{ source: opts.sigDir, target: this.sigTarget, readonly: false }] : [],
      processes: [{
        name: 'first',
        command: opts.sigDir ? firstProcess(this.sigTarget) : ['/bin/sleep', '3600'],
        restart: opts.restart ? { policy: 'always', backoff: { initial: '0ms', resetAfter: '1ms', minSpacing: '0ms' } } : 'never',
      }],
    };
  }

  /**
   * Without a restart policy, flags as given to Docker (`run -d --name -v ... -- CMD`); with
   * one, a spec file, since its 0 ms back-off has no flag (that parses it: yaml loads).
   */
  startCommand(id: string, opts: StartOptions): Cmd {
    if (opts.restart) return { file: process.execPath, args: [VIGIL, 'run', '-d', this.env.writeSpec(id, this.spec(id, opts))], env: this.env.env };
    const args = [VIGIL, 'run', '-d', '--name', id, '--restart', 'never'];
    if (this.rootfs !== 'host') args.push('--rootfs', this.rootfs);
    if (opts.sigDir) args.push('-v', `${opts.sigDir}:${this.sigTarget}`);
    args.push('--', ...(opts.sigDir ? firstProcess(this.sigTarget) : ['/bin/sleep', '3600']));
    return { file: process.execPath, args, env: this.env.env };
  }

  businessPid(id: string): number {
    return this.env.store.read(id).processes[0].pid!;
  }

  remove(ids: string[]): void {
    for (const id of ids) removeContainer(this.env.store, id, true);
  }

  managementPids(): number[] {
    const inits = this.env.store.list().map((s) => s.init?.pid).filter((p): p is number => typeof p === 'number');
    return [...(this.monitorPid ? [this.monitorPid] : []), ...inits];
  }
}

export class DockerEngine implements Engine {
  readonly name = 'Docker';
  readonly restartPolicy = '--restart always (100 ms first delay, fixed)';
  private readonly sock = path.join(PEERS_DIR, 'docker.sock');

  static available(): boolean {
    return alive(readPidFile(path.join(PEERS_DIR, 'dockerd.pid')), 'dockerd') && fs.existsSync('/usr/bin/docker');
  }

  cli(...args: string[]): Cmd {
    // Debian's client (a newer one may shadow it in PATH).
    return { file: '/usr/bin/docker', args: ['-H', `unix://${this.sock}`, ...args] };
  }

  startCommand(id: string, opts: StartOptions): Cmd {
    const args = ['run', '-d', '--network', 'none', '--name', id];
    if (opts.restart) args.push('--restart', 'always');
    if (opts.sigDir) args.push('-v', `${opts.sigDir}:/sig`, IMAGE, ...firstProcess('/sig'));
    else args.push(IMAGE, '/bin/sleep', '3600');
    return this.cli(...args);
  }

  businessPid(id: string): number {
    return Number(must(this.cli('inspect', '-f', '{{.State.Pid}}', id)).trim());
  }

  remove(ids: string[]): void {
    if (ids.length) must(this.cli('rm', '-f', ...ids), 300_000);
  }

  managementPids(): number[] {
    const daemons = [readPidFile(path.join(PEERS_DIR, 'dockerd.pid')), readPidFile(path.join(PEERS_DIR, 'containerd.pid'))];
    // comm is cut to 15 characters: containerd-shim-runc-v2 -> containerd-shim
    return [...daemons.filter((p): p is number => p !== null), ...findProcesses('containerd-shim', path.join(PEERS_DIR, 'containerd.sock'))];
  }
}

export class PodmanEngine implements Engine {
  readonly name = 'Podman';
  readonly restartPolicy = '--restart always (no delay)';

  static available(): boolean {
    return fs.existsSync('/usr/bin/podman') && fs.existsSync(path.join(PEERS_DIR, 'containers.conf'));
  }

  cli(...args: string[]): Cmd {
    const p = PEERS_DIR;
    return {
      file: '/usr/bin/podman',
      args: ['--root', `${p}/podman/root`, '--runroot', `${p}/podman/run`, '--tmpdir', `${p}/podman/tmp`, '--cgroup-manager=cgroupfs', '--events-backend=file', ...args],
      env: { ...process.env, CONTAINERS_CONF: path.join(p, 'containers.conf') },
    };
  }

  startCommand(id: string, opts: StartOptions): Cmd {
    const args = ['run', '-d', '--network', 'none', '--cgroup-parent', '/vigil-bench-podman', '--name', id];
    if (opts.restart) args.push('--restart', 'always');
    if (opts.sigDir) args.push('-v', `${opts.sigDir}:/sig`, IMAGE, ...firstProcess('/sig'));
    else args.push(IMAGE, '/bin/sleep', '3600');
    return this.cli(...args);
  }

  businessPid(id: string): number {
    return Number(must(this.cli('inspect', '-f', '{{.State.Pid}}', id)).trim());
  }

  remove(ids: string[]): void {
    if (ids.length) must(this.cli('rm', '-f', '-t', '0', ...ids), 300_000);
  }

  managementPids(): number[] {
    return findProcesses('conmon', PEERS_DIR);
  }
}

/** runc and crun on an OCI bundle: `RT run -d` (create + start); no restart, nothing stays. */
export class OciEngine implements Engine {
  readonly restartPolicy = null;
  private readonly stateRoot: string;

  constructor(readonly name: 'runc' | 'crun') {
    this.stateRoot = path.join(PEERS_DIR, `${name}-state`);
  }

  static available(rt: string): boolean {
    return fs.existsSync(`/usr/bin/${rt}`) || fs.existsSync(`/usr/sbin/${rt}`) ? fs.existsSync(path.join(PEERS_DIR, 'oci-config.json')) && fs.existsSync(PEERS_ROOTFS) : false;
  }

  private bundle(id: string): string {
    return path.join(PEERS_DIR, 'bundles', `${this.name}-${id}`);
  }

  startCommand(id: string, opts: StartOptions): Cmd {
    const config = JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'oci-config.json'), 'utf8'));
    config.root = { path: PEERS_ROOTFS, readonly: true };
    config.process.terminal = false;
    config.process.args = opts.sigDir ? firstProcess('/sig') : ['/bin/sleep', '3600'];
    if (opts.sigDir) config.mounts.push({ destination: '/sig', type: 'bind', source: opts.sigDir, options: ['rbind', 'rw'] });
    config.linux.cgroupsPath = `/vigil-bench-${this.name}/${id}`;
    // No network namespace entry change: `RT spec` gives a new, empty one (as --network none).
    const dir = this.bundle(id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return { file: this.name, args: ['--root', this.stateRoot, 'run', '-d', '--bundle', dir, id] };
  }

  businessPid(id: string): number {
    return (JSON.parse(must({ file: this.name, args: ['--root', this.stateRoot, 'state', id] })) as { pid: number }).pid;
  }

  remove(ids: string[]): void {
    for (const id of ids) {
      must({ file: this.name, args: ['--root', this.stateRoot, 'delete', '-f', id] });
      fs.rmSync(this.bundle(id), { recursive: true, force: true });
    }
  }

  managementPids(): number[] {
    return [];
  }
}
