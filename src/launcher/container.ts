/**
 * Container lifecycle: create, start, start a process, stop, kill, remove.
 * Kernel work goes through vigil-helper; state goes through the Store. Every
 * failure undoes what was made, so no half-created container, stray cgroup or
 * state file is left behind.
 */
import fs from 'node:fs';
import { INIT_PATH, BPF_OBJECT_PATH } from '../paths.js';
import { HostError, NotFoundError, StateError, VigilError } from '../util/errors.js';
import { ensureTracer, removeTracer, unwatch, watch } from '../tracer/tracer.js';
import { flock } from '../tracer/native.js';
import type { ContainerState, ProcessState, Store } from '../state/store.js';
import { cgroupDirs, createCgroups, detectLayout, removeCgroups, type ContainerCgroups } from './cgroups.js';
import { runHelper, runHelperSync, type HelperConfig, type HelperResult } from './helper.js';
import { isAlive, signalIdentified, sleepSync, waitGoneSync } from './proc.js';
import type { ContainerSpec, ProcessSpec } from './spec.js';

export const DEFAULT_CGROUP_PARENT = '/vigil';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function newProcessState(name: string): ProcessState {
  return { name, pid: null, startTime: null, state: 'stopped', restarts: 0, attempt: 0, startedAt: null, lastExit: null, deaths: [], operatorStop: false };
}

/** Record a container (state "created"); no kernel object is made yet. */
export function createContainer(store: Store, spec: ContainerSpec, specFile: string | null, cgroupParent = DEFAULT_CGROUP_PARENT): ContainerState {
  return store.withLock(() => {
    if (store.tryRead(spec.name)) throw new StateError(`a container named "${spec.name}" already exists (vigil rm ${spec.name} first)`);
    const state: ContainerState = {
      version: 1,
      name: spec.name,
      state: 'created',
      spec,
      specFile,
      cgroupParent,
      init: null,
      cgroup: null,
      lastCgroupId: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      operatorStop: false,
      processes: spec.processes.map((p) => newProcessState(p.name)),
    };
    store.write(state);
    return state;
  });
}

export function processSpecOf(state: ContainerState, processName: string): ProcessSpec {
  const spec = state.spec.processes.find((p) => p.name === processName);
  if (!spec) throw new NotFoundError(`container "${state.name}" has no process named "${processName}" (it has: ${state.spec.processes.map((p) => p.name).join(', ')})`);
  return spec;
}

/** The helper configuration that starts one process inside a running container. */
export function execConfig(state: ContainerState, command: string[], opts: { env?: Record<string, string>; cwd?: string | null; user?: string | null; log: string }): HelperConfig {
  if (!state.init || !state.cgroup) throw new StateError(`container "${state.name}" is not running`);
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOSTNAME: state.spec.hostname, HOME: '/root', VIGIL_CONTAINER: state.name, ...opts.env };
  const config: HelperConfig = [
    ['init_pid', String(state.init.pid)],
    ['init_start', String(state.init.startTime)],
    ['log', opts.log],
    ...cgroupDirs(state.cgroup).map((d): [string, string] => ['cgroup', d]),
    ...command.map((a): [string, string] => ['arg', a]),
    ...Object.entries(env).map(([k, v]): [string, string] => ['env', `${k}=${v}`]),
  ];
  if (opts.cwd) config.push(['cwd', opts.cwd]);
  if (opts.user) config.push(['user', opts.user]);
  return config;
}

function processConfig(store: Store, state: ContainerState, p: ProcessSpec): HelperConfig {
  return execConfig(state, p.command, { env: { VIGIL_PROCESS: p.name, ...p.env }, cwd: p.cwd, user: p.user, log: store.logFile(state.name, p.name) });
}

/** Mark a process as started; `restart` counts it as a restart. */
export function recordStart(proc: ProcessState, result: HelperResult, restart: boolean): void {
  proc.pid = result.pid;
  proc.startTime = result.startTime;
  proc.state = 'running';
  proc.startedAt = new Date().toISOString();
  proc.operatorStop = false;
  if (restart) proc.restarts += 1;
}

/** Start a business process (first start or restart), from the monitor. */
export function startProcess(store: Store, state: ContainerState, processName: string): Promise<HelperResult> {
  return runHelper('exec', processConfig(store, state, processSpecOf(state, processName)));
}

export function startProcessSync(store: Store, state: ContainerState, processName: string): HelperResult {
  return runHelperSync('exec', processConfig(store, state, processSpecOf(state, processName)));
}

function killInit(init: ContainerState['init'], cgroup: ContainerCgroups | null, timeoutMs: number): void {
  if (!init) return;
  if (timeoutMs > 0 && signalIdentified(init.pid, init.startTime, 'SIGTERM')) {
    if (waitGoneSync(init.pid, init.startTime, timeoutMs)) return waitEmpty(cgroup);
  }
  // Killing a pid namespace's init kills every process in it.
  signalIdentified(init.pid, init.startTime, 'SIGKILL');
  waitGoneSync(init.pid, init.startTime, 5000);
  waitEmpty(cgroup);
}

function waitEmpty(cgroup: ContainerCgroups | null): void {
  if (!cgroup) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && cgroupDirs(cgroup).some((d) => {
    try {
      return fs.readFileSync(`${d}/cgroup.procs`, 'utf8').trim() !== '';
    } catch {
      return false;
    }
  })) sleepSync(10);
}

/** Tear down the kernel side of a container: init (and so every process), cgroups, tracer watch. */
function teardown(store: Store, init: ContainerState['init'], cgroup: ContainerCgroups | null, timeoutMs: number): void {
  killInit(init, cgroup, timeoutMs);
  if (cgroup) {
    try {
      unwatch(store.pinDir, BigInt(cgroup.id));
    } catch {
      // The tracer may already be gone; an unwatched dead cgroup id costs nothing.
    }
    removeCgroups(cgroup);
  }
}

/**
 * Start a created or stopped container: cgroups, tracer watch, namespaces with
 * vigil-init, then every business process through the helper. On failure
 * everything made here is undone and the container keeps its previous state.
 */
export function startContainer(store: Store, name: string): ContainerState {
  return store.withLock(() => {
    const state = store.read(name);
    if (state.state === 'running' || state.state === 'stopping') throw new StateError(`container "${name}" is already ${state.state}`);
    const layout = detectLayout();
    let cgroup: ContainerCgroups | null = null;
    let init: ContainerState['init'] = null;
    try {
      cgroup = createCgroups(layout, state.cgroupParent, name, state.spec.limits);
      // The tracer is loaded and pinned by whoever needs it first, so exits
      // are recorded from the first process on, whether a monitor runs or not.
      ensureTracer(BPF_OBJECT_PATH, store.pinDir);
      watch(store.pinDir, BigInt(cgroup.id));
      fs.mkdirSync(store.rootfsMountpoint(name), { recursive: true });
      const config: HelperConfig = [
        ['hostname', state.spec.hostname],
        ['rootfs', state.spec.rootfs],
        ['rootfs_mountpoint', store.rootfsMountpoint(name)],
        ['init', INIT_PATH],
        ['network', state.spec.network],
        ...cgroupDirs(cgroup).map((d): [string, string] => ['cgroup', d]),
        ...state.spec.mounts.flatMap((m): Array<[string, string]> => [
          ['mount_source', m.source],
          ['mount_target', m.target],
          ['mount_readonly', m.readonly ? '1' : '0'],
        ]),
      ];
      const created = runHelperSync('create', config);
      init = { pid: created.pid, startTime: created.startTime };
      state.init = init;
      state.cgroup = cgroup;
      for (const proc of state.processes) {
        const result = startProcessSync(store, state, proc.name);
        recordStart(proc, result, false);
        proc.attempt = 0;
        proc.lastExit = null;
        proc.deaths = [];
      }
    } catch (err) {
      teardown(store, init, cgroup, 0);
      state.init = null;
      state.cgroup = null;
      throw err;
    }
    state.state = 'running';
    state.lastCgroupId = null;
    state.operatorStop = false;
    state.startedAt = new Date().toISOString();
    store.write(state);
    return state;
  });
}

/** Stop a whole container: SIGTERM to init (forwarded to all), SIGKILL after the timeout. */
export function stopContainer(store: Store, name: string, timeoutMs: number): ContainerState {
  const before = store.update(name, (s) => {
    s.operatorStop = true;
    if (s.state === 'running') s.state = 'stopping';
    for (const p of s.processes) p.operatorStop = true;
  });
  teardown(store, before.init, before.cgroup, timeoutMs);
  return store.update(name, (s) => {
    const at = new Date().toISOString();
    for (const p of s.processes) {
      if (p.pid !== null && p.state !== 'exited' && p.state !== 'given-up') {
        p.lastExit ??= { code: null, signal: null, reason: 'operator', sender: null, coreDumped: false, at };
        if (p.lastExit.reason !== 'operator') p.lastExit = { ...p.lastExit, reason: 'operator', at };
      }
      // pid and start time stay as the last identity, so the monitor can
      // still match the kernel's exit event; inspect shows no pid when stopped.
      p.state = 'stopped';
    }
    s.state = 'stopped';
    s.init = null;
    s.lastCgroupId = s.cgroup?.id ?? s.lastCgroupId;
    s.cgroup = null;
  });
}

/** Stop one process; the monitor will not answer its death. */
export function stopProcess(store: Store, name: string, processName: string, timeoutMs: number): ContainerState {
  const before = store.update(name, (s) => {
    processSpecOf(s, processName);
    s.processes.find((p) => p.name === processName)!.operatorStop = true;
  });
  const proc = before.processes.find((p) => p.name === processName)!;
  if (signalIdentified(proc.pid, proc.startTime, 'SIGTERM') && !waitGoneSync(proc.pid, proc.startTime, timeoutMs)) {
    signalIdentified(proc.pid, proc.startTime, 'SIGKILL');
    waitGoneSync(proc.pid, proc.startTime, 5000);
  }
  return store.update(name, (s) => {
    const p = s.processes.find((q) => q.name === processName)!;
    if (p.pid !== null && (!p.lastExit || p.lastExit.reason !== 'operator')) {
      p.lastExit = { code: p.lastExit?.code ?? null, signal: p.lastExit?.signal ?? 'SIGTERM', reason: 'operator', sender: null, coreDumped: false, at: new Date().toISOString() };
    }
    p.state = 'stopped'; // pid and start time stay: the last identity, for late events
  });
}

/** Start one stopped process again (operator's `vigil start`/`restart NAME PROCESS`). */
export function startStoppedProcess(store: Store, name: string, processName: string): ContainerState {
  return store.withLock(() => {
    const s = store.read(name);
    if (s.state !== 'running') throw new StateError(`container "${name}" is ${s.state}; start it first`);
    const p = s.processes.find((q) => q.name === processName);
    if (!p) processSpecOf(s, processName);
    if (isAlive(p!.pid, p!.startTime)) throw new StateError(`process "${processName}" of "${name}" is already running (pid ${p!.pid})`);
    recordStart(p!, startProcessSync(store, s, processName), false);
    p!.attempt = 0;
    store.write(s);
    return s;
  });
}

/**
 * Send a signal: to a process, or to the container's init (which forwards
 * termination signals to every process). Marked as the operator's doing, so
 * a death it causes is not answered by a restart.
 */
export function killTarget(store: Store, name: string, processName: string | null, signal: NodeJS.Signals): void {
  const s = store.update(name, (st) => {
    if (st.state !== 'running') throw new StateError(`container "${name}" is ${st.state}`);
    if (processName) {
      processSpecOf(st, processName);
      st.processes.find((p) => p.name === processName)!.operatorStop = true;
    } else {
      st.operatorStop = true;
      for (const p of st.processes) p.operatorStop = true;
    }
  });
  const target = processName ? s.processes.find((p) => p.name === processName)! : s.init!;
  if (!signalIdentified(target.pid, target.startTime, signal)) {
    throw new StateError(`${processName ? `process "${processName}"` : 'the init'} of "${name}" is not running`);
  }
}

/** Remove a stopped (or, with force, running) container and everything it had. */
export function removeContainer(store: Store, name: string, force: boolean): void {
  const s = store.read(name);
  if ((s.state === 'running' || s.state === 'stopping') && !force) {
    throw new StateError(`container "${name}" is ${s.state}; stop it first or use rm -f`);
  }
  if (s.init || s.cgroup) stopContainer(store, name, 0);
  store.withLock(() => {
    store.remove(name);
    retireTracerIfUnused(store);
  });
}

/** With no container left and no monitor running, unpin the tracer. Call under the state lock. */
export function retireTracerIfUnused(store: Store): boolean {
  if (store.names().length) return false;
  if (monitorRunning(store)) return false;
  removeTracer(store.pinDir);
  return true;
}

export function monitorRunning(store: Store): boolean {
  let fd: number;
  try {
    fd = fs.openSync(store.monitorLockFile, 'r');
  } catch {
    return false;
  }
  try {
    return !flock(fd, true, false);
  } finally {
    fs.closeSync(fd);
  }
}

/** Run `vigil run` as one step: a container that fails to start is removed again. */
export function runContainer(store: Store, spec: ContainerSpec, specFile: string | null, cgroupParent?: string): ContainerState {
  createContainer(store, spec, specFile, cgroupParent);
  try {
    return startContainer(store, spec.name);
  } catch (err) {
    store.withLock(() => {
      store.remove(spec.name);
      retireTracerIfUnused(store);
    });
    if (err instanceof VigilError) throw err;
    throw HostError.from('start container', spec.name, err);
  }
}
