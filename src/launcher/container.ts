/**
 * Container lifecycle: create, start, start a process, stop, kill, remove.
 * Kernel work goes through vigil-helper; state goes through the Store. Every
 * failure undoes what was made, so no half-created container, stray cgroup or
 * state file is left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { INIT_PATH, BPF_OBJECT_PATH } from '../paths.js';
import { HostError, NotFoundError, StateError, VigilError } from '../util/errors.js';
import { ensureTracer, removeTracer, tracerSupport, unwatch, watch } from '../tracer/tracer.js';
import { flock } from '../tracer/native.js';
import type { ContainerState, ProcessState, Store } from '../state/store.js';
import { monitorHoldsLock } from '../state/monitor-lock.js';
import { cgroupDirs, createCgroups, detectLayout, killCgroupProcesses, removeCgroups, type ContainerCgroups } from './cgroups.js';
import { runHelper, runHelperSync, type HelperConfig, type HelperResult } from './helper.js';
import { checkSpecOnHost } from './host-checks.js';
import { initSecurityConfig, processLimitsConfig, securityConfig } from './isolation-config.js';
import { ociLayoutConfig } from './oci-config.js';
import { idMapText } from './spec-isolation.js';
import { isAlive, signalIdentified, waitGoneSync } from './proc.js';
// The monitor's record of its own starts (a pure /proc reader, no monitor state).
import { findStartedProcess, helperInFlight } from '../monitor/adopt.js';
import type { ContainerSpec, ProcessSpec } from './spec.js';
import { currentHolder, heldAtStart, hold } from './dependencies.js';
import { notifyEnv, notifyMountConfig } from './notify-socket.js';
import { startOrder } from '../policy/dependencies.js';

export const DEFAULT_CGROUP_PARENT = '/vigil';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function newProcessState(name: string): ProcessState {
  return { name, pid: null, startTime: null, state: 'stopped', restarts: 0, attempt: 0, startedAt: null, lastExit: null, deaths: [], operatorStop: false, operatorKill: null };
}

/** Record a container (state "created"); no kernel object is made yet. */
export function createContainer(store: Store, spec: ContainerSpec, specFile: string | null, cgroupParent = DEFAULT_CGROUP_PARENT): ContainerState {
  checkSpecOnHost(spec, specFile);
  return store.withLock(() => {
    store.sweepDebris();
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
export function execConfig(state: ContainerState, command: string[], opts: { env?: Record<string, string>; cwd?: string | null; user?: string | null; log: string; process?: ProcessSpec }): HelperConfig {
  if (!state.init || !state.cgroup) throw new StateError(`container "${state.name}" is not running`);
  // VIGIL_CONTAINER and VIGIL_PROCESS come last: a spec cannot override them (a
  // monitor finds the processes it started by them, see monitor/adopt.ts).
  // An OCI bundle's process gets exactly its config's env (and HOME, see oci-load.ts).
  const defaults: Record<string, string> = state.spec.oci && opts.process ? {} : { PATH: DEFAULT_PATH, HOSTNAME: state.spec.hostname, HOME: '/root' };
  const env: Record<string, string> = { ...defaults, ...opts.env, VIGIL_CONTAINER: state.name };
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
  config.push(...securityConfig(state.spec, opts.process ?? null));
  if (opts.process) config.push(...processLimitsConfig(opts.process));
  return config;
}

/** `nice`: the process's nice value (a monitor that raised its own priority gives its original one). */
function processConfig(store: Store, state: ContainerState, p: ProcessSpec, nice: number | null = null): HelperConfig {
  const config = execConfig(state, p.command, { env: { ...p.env, ...notifyEnv(p), VIGIL_PROCESS: p.name }, cwd: p.cwd, user: p.user, log: store.logFile(state.name, p.name), process: p });
  if (nice !== null) config.push(['nice', String(nice)]);
  return config;
}

/** Mark a process as started; `restart` counts it as a restart. */
export function recordStart(proc: ProcessState, result: HelperResult, restart: boolean): void {
  proc.replaced = proc.pid === null ? null : { pid: proc.pid, startTime: proc.startTime, byOperator: proc.operatorStop };
  proc.pid = result.pid;
  proc.startTime = result.startTime;
  proc.state = 'running';
  proc.startedAt = new Date().toISOString();
  proc.operatorStop = false;
  proc.operatorKill = null;
  proc.waiting = null;
  proc.startingSince = null;
  proc.backoffUntil = null;
  if (restart) proc.restarts += 1;
}

/**
 * Start a business process (first start or restart), from the monitor. `env`
 * goes to the helper only (never to the process): the monitor tags its helpers
 * with it. `nice`: see processConfig.
 */
export function startProcess(store: Store, state: ContainerState, processName: string, env?: Record<string, string>, nice: number | null = null): Promise<HelperResult> {
  return runHelper('exec', processConfig(store, state, processSpecOf(state, processName), nice), env);
}

export function startProcessSync(store: Store, state: ContainerState, processName: string): HelperResult {
  return runHelperSync('exec', processConfig(store, state, processSpecOf(state, processName)), store.heldLockFd);
}

/**
 * End every process of a container: SIGTERM to init (which forwards it) and
 * up to timeoutMs for a clean exit, then SIGKILL, which ends the pid
 * namespace; then whatever is still in its cgroups (all of it when init was
 * never recorded, as after a launcher killed half-way).
 */
function endProcesses(init: ContainerState['init'], cgroup: ContainerCgroups | null, timeoutMs: number): void {
  if (init) {
    const clean = timeoutMs > 0 && signalIdentified(init.pid, init.startTime, 'SIGTERM') && waitGoneSync(init.pid, init.startTime, timeoutMs);
    if (!clean) {
      signalIdentified(init.pid, init.startTime, 'SIGKILL');
      waitGoneSync(init.pid, init.startTime, 5000);
    }
  }
  if (cgroup) killCgroupProcesses(cgroup);
}

/** Tear down the kernel side of a container: init (and so every process), cgroups, tracer watch. */
function teardown(store: Store, init: ContainerState['init'], cgroup: ContainerCgroups | null, timeoutMs: number): void {
  endProcesses(init, cgroup, timeoutMs);
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
 * The helper configuration that makes a container's namespaces, mounts and
 * vigil-init in its (already made) cgroups; creates the rootfs mount point.
 */
export function createConfig(store: Store, state: ContainerState): HelperConfig {
  if (!state.cgroup) throw new StateError(`container "${state.name}" has no cgroups yet`);
  fs.mkdirSync(store.rootfsMountpoint(state.name), { recursive: true });
  const oci = state.spec.oci;
  return [
    ...(oci && !oci.namespaces.uts ? [] : [['hostname', state.spec.hostname] as [string, string]]),
    ['rootfs', state.spec.rootfs],
    ['rootfs_mountpoint', store.rootfsMountpoint(state.name)],
    ['init', INIT_PATH],
    ['network', state.spec.network],
    ['privileged', state.spec.privileged ? '1' : '0'],
    ...initSecurityConfig(state.spec),
    ...cgroupDirs(state.cgroup).map((d): [string, string] => ['cgroup', d]),
    ...state.spec.mounts.flatMap((m): Array<[string, string]> => [
      ['mount_source', m.source],
      ['mount_target', m.target],
      ['mount_readonly', m.readonly ? '1' : '0'],
    ]),
    ...(oci ? ociLayoutConfig(oci, state.cgroup) : []),
    ...(state.spec.userns ? [['uid_map', idMapText(state.spec.userns.uidMap)], ['gid_map', idMapText(state.spec.userns.gidMap)]] as Array<[string, string]> : []),
    ...notifyMountConfig(store.root, state.spec),
  ];
}

/**
 * Start a created or stopped container: cgroups, tracer watch, namespaces with
 * vigil-init, then every business process through the helper. Progress is
 * written to the state as it is made, so a launcher killed half-way leaves a
 * record that `rm -f` or the next `start` tears down, and the monitor can
 * match early exits. On failure everything made here is undone.
 */
export function startContainer(store: Store, name: string): ContainerState {
  return store.withLock(() => {
    const state = store.read(name);
    // A live init in a record that is neither running nor stopping is a start
    // killed half-way (we hold the lock, so no launcher still works on it):
    // torn down below like any other leftovers, then started whole.
    if (stopInFlight(store, name)) throw new StateError(`container "${name}" is being stopped by another vigil command; start it when that is done`);
    const live = state.init !== null && isAlive(state.init.pid, state.init.startTime);
    if (live && (state.state === 'running' || state.state === 'stopping')) throw new StateError(`container "${name}" is already ${state.state}`);
    // Leftovers of an interrupted start, or of a container whose init died.
    if (state.init || state.cgroup) {
      teardown(store, state.init, state.cgroup, 0);
      state.lastCgroupId = state.cgroup?.id ?? state.lastCgroupId;
      state.init = null;
      state.cgroup = null;
    }
    const layout = detectLayout();
    const held = heldAtStart(state.spec);
    try {
      state.cgroup = createCgroups(layout, state.cgroupParent, name, state.spec.limits);
      store.write(state);
      // The tracer is loaded and pinned by whoever needs it first, so exits
      // are recorded from the first process on, whether a monitor runs or not.
      // Where it cannot run (degraded mode) the monitor listens for exits itself.
      if (tracerSupport().mode === 'bpf') {
        ensureTracer(BPF_OBJECT_PATH, store.pinDir);
        watch(store.pinDir, BigInt(state.cgroup.id));
      }
      const created = runHelperSync('create', createConfig(store, state), store.heldLockFd);
      state.init = { pid: created.pid, startTime: created.startTime };
      store.write(state);
      // dependsOn: in dependency order; a process whose dependencies must
      // first be ready is held back (below) and started by startHeld (dependencies.ts).
      for (const procName of startOrder(state.spec.processes)) {
        if (held.has(procName)) continue;
        const proc = state.processes.find((q) => q.name === procName)!;
        const result = startProcessSync(store, state, proc.name);
        recordStart(proc, result, false);
        proc.attempt = 0;
        proc.lastExit = null;
        proc.deaths = [];
        store.write(state);
      }
    } catch (err) {
      teardown(store, state.init, state.cgroup, 0);
      state.init = null;
      state.cgroup = null;
      for (const proc of state.processes) {
        proc.state = 'stopped';
        proc.waiting = null;
      }
      store.write(state);
      throw err;
    }
    // The holds are written with the "running" that makes them count: a
    // launcher killed before this write leaves a half-started container for
    // `rm -f` or the next start, never a hold that no monitor takes over
    // (the monitor reconciles running containers only).
    const holder = currentHolder();
    for (const procName of held) {
      hold(state.processes.find((q) => q.name === procName)!, processSpecOf(state, procName).dependsOn ?? [], holder, 'container start');
    }
    state.state = 'running';
    state.lastCgroupId = null;
    state.operatorStop = false;
    state.startedAt = new Date().toISOString();
    store.write(state);
    return state;
  });
}

/**
 * Held by a stop from its first write to its last: its teardown runs outside
 * the state lock (it may wait seconds for a clean exit), and a start made
 * meanwhile would build new cgroups under the very paths the stop then
 * removes, and be recorded as stopped.
 */
function stopLockPath(store: Store, name: string): string {
  return path.join(store.containerDir(name), 'stop.lock');
}

function stopInFlight(store: Store, name: string): boolean {
  return lockHeldElsewhere(stopLockPath(store, name));
}

/** Does some other process hold an exclusive flock on this file (absent: no)? */
function lockHeldElsewhere(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    return !flock(fd, true, false);
  } finally {
    fs.closeSync(fd);
  }
}

/** Stop a whole container: SIGTERM to init (forwarded to all), SIGKILL after the timeout. */
export function stopContainer(store: Store, name: string, timeoutMs: number): ContainerState {
  let stopLock: number;
  try {
    stopLock = fs.openSync(stopLockPath(store, name), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch (err) {
    store.read(name); // a container removed meanwhile is "no container named", not a missing lock file
    throw HostError.from('open', stopLockPath(store, name), err);
  }
  try {
    flock(stopLock, true, true); // one stop at a time; a second one then finds little left to do
    return stopHoldingLock(store, name, timeoutMs);
  } finally {
    fs.closeSync(stopLock);
  }
}

function stopHoldingLock(store: Store, name: string, timeoutMs: number): ContainerState {
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
      p.waiting = null;
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
  if (proc.state === 'starting') settleMonitorStart(store, before, processName);
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
    p.waiting = null;
  });
}

/**
 * A monitor's restart of this process is (or was) in flight: a live monitor
 * kills what it starts once it sees the operator's stop, but one that died
 * meanwhile never will. So wait for its helper (tagged, see
 * monitor/adopt.ts) and end the process it started, as the operator asked.
 */
function settleMonitorStart(store: Store, state: ContainerState, processName: string): void {
  const deadline = Date.now() + 10_000;
  while (helperInFlight(store.root, state.name, processName)) {
    if (Date.now() > deadline) throw new StateError(`a restart of "${processName}" by the monitor is still in progress; try again`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  if (!state.cgroup || !state.init) return;
  const known = new Set(state.processes.map((q) => q.pid).filter((x): x is number => x !== null));
  const started = findStartedProcess(state.cgroup.v2, state.init.pid, processName, known, state.processes.find((q) => q.name === processName)?.startingSince ?? null);
  if (started && signalIdentified(started.pid, started.startTime, 'SIGKILL')) waitGoneSync(started.pid, started.startTime, 5000);
}

/** Start one stopped process again (operator's `vigil start`/`restart NAME PROCESS`). */
export function startStoppedProcess(store: Store, name: string, processName: string): ContainerState {
  return store.withLock(() => {
    const s = store.read(name);
    if (s.state !== 'running') throw new StateError(`container "${name}" is ${s.state}; start it first`);
    if (!s.init || !isAlive(s.init.pid, s.init.startTime)) throw new StateError(`container "${name}" is not running (its vigil-init is gone); start it with vigil start ${name}`);
    const p = s.processes.find((q) => q.name === processName);
    if (!p) processSpecOf(s, processName);
    if (isAlive(p!.pid, p!.startTime)) throw new StateError(`process "${processName}" of "${name}" is already running (pid ${p!.pid})`);
    recordStart(p!, startProcessSync(store, s, processName), false);
    p!.attempt = 0;
    store.write(s);
    return s;
  });
}

/** Signals after which init ends, taking the whole container with it. */
const ENDS_CONTAINER = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT']);

/**
 * Send a signal: to a process, or to the container's init (which forwards
 * termination signals to every process). A death it causes is the operator's
 * and is not answered by a restart; a process that survives the signal stays
 * watched as before. A process that is backing off has its restart cancelled.
 */
export function killTarget(store: Store, name: string, processName: string | null, signal: NodeJS.Signals): string {
  let cancelled = false;
  const s = store.update(name, (st) => {
    if (st.state !== 'running') throw new StateError(`container "${name}" is ${st.state}`);
    const at = new Date().toISOString();
    if (processName) processSpecOf(st, processName);
    if (!processName && ENDS_CONTAINER.has(signal)) st.operatorStop = true;
    for (const p of st.processes) {
      if (processName && p.name !== processName) continue;
      if (p.state === 'backing-off' && processName) {
        p.state = 'stopped';
        p.operatorStop = true;
        cancelled = true;
      } else {
        p.operatorKill = { signal, at };
      }
    }
  });
  if (cancelled) return `${name}/${processName} was backing off: its restart is cancelled`;
  const target = processName ? s.processes.find((p) => p.name === processName)! : s.init!;
  if (!signalIdentified(target.pid, target.startTime, signal)) {
    throw new StateError(`${processName ? `process "${processName}"` : 'the init'} of "${name}" is not running`);
  }
  return `${name}${processName ? `/${processName}` : ''}`;
}

/** Remove a stopped (or, with force, running) container and everything it had, under the lock throughout. */
export function removeContainer(store: Store, name: string, force: boolean): void {
  store.withLock(() => {
    store.sweepDebris();
    const s = store.read(name);
    const live = s.init !== null && isAlive(s.init.pid, s.init.startTime);
    if (live && !force) throw new StateError(`container "${name}" is ${s.state}; stop it first or use rm -f`);
    if (live) {
      s.operatorStop = true;
      for (const p of s.processes) p.operatorStop = true;
      store.write(s);
    }
    teardown(store, s.init, s.cgroup, 0);
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
  return monitorHoldsLock(store);
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
