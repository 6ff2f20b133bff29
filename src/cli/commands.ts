/** The container verbs: each a thin layer over launcher/ and state/. */
import fs from 'node:fs';
import path from 'node:path';
import { killTarget, removeContainer, runContainer, createContainer, startContainer, startStoppedProcess, stopContainer, stopProcess, DEFAULT_CGROUP_PARENT } from '../launcher/container.js';
import { loadBundle } from '../launcher/oci-load.js';
import { generation, logPolicyOf, readLog, rotateContainerLogs } from '../state/log-rotation.js';
import { currentHolder, restartDependents, startHeld } from '../launcher/dependencies.js';
import { NAME_PATTERN, parseSpec, validateSpec, type ContainerSpec } from '../launcher/spec.js';
import type { ContainerState, Store } from '../state/store.js';
import { HostError, SpecError, StateError, UsageError } from '../util/errors.js';
import { parseSignal } from '../util/signals.js';
import { expectPositionals, parseArgs, seconds } from './args.js';
import { inspectView, psRow, table } from './view.js';
import { isAlive } from '../launcher/proc.js';
import { VIA_MONITOR_ENV, type OperatorNote } from '../control/protocol.js';

export interface Context {
  store: Store;
  cgroupParent: string;
  out: (text: string) => void;
}

const SPEC_READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory, not a spec file',
  ELOOP: 'too many symbolic links',
  EACCES: 'permission denied',
};

function readSpecFile(file: string): ContainerSpec {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    // The file named by the user is the user's to fix: a spec error (exit 2), not vigil's own failure.
    const code = (err as NodeJS.ErrnoException).code;
    const why = SPEC_READ_ERRORS[code ?? ''];
    if (why) throw new SpecError(file, [{ path: '', message: `cannot be read: ${why}` }]);
    throw HostError.from('read spec', file, err);
  }
  return parseSpec(text, file);
}

/** `-v SRC:DST[:ro|:rw]` (as Docker's) -> a spec mount; the spec check judges the paths. */
function mountFromFlag(value: string): Record<string, unknown> {
  const parts = value.split(':');
  const mode = parts.length === 3 ? parts[2] : 'rw';
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError(`-v expects SOURCE:TARGET or SOURCE:TARGET:ro|rw, got ${JSON.stringify(value)}`);
  }
  return { source: parts[0], target: parts[1], readonly: mode === 'ro' };
}

/** `vigil run --name N [--memory 64M] [--restart always] [-v SRC:DST] -- CMD ARG...`: a one-process spec. */
function specFromFlags(flags: Record<string, string | boolean | undefined>, command: string[], volumes: string[] = []): ContainerSpec {
  if (!flags.name) throw new UsageError('vigil run -- CMD needs --name NAME');
  const raw: Record<string, unknown> = {
    name: flags.name,
    processes: [{ name: path.basename(command[0]) || 'main', command }],
  };
  const limits: Record<string, unknown> = {};
  if (flags.memory !== undefined) limits.memory = flags.memory;
  // Not a number stays the string it was, so the spec check shows what was typed.
  if (typeof flags.cpus === 'string') limits.cpus = flags.cpus.trim() !== '' && Number.isFinite(Number(flags.cpus)) ? Number(flags.cpus) : flags.cpus;
  if (flags.cpuset !== undefined) limits.cpuset = flags.cpuset;
  if (Object.keys(limits).length) raw.limits = limits;
  if (flags.restart !== undefined) raw.restart = flags.restart;
  if (flags.network !== undefined) raw.network = flags.network;
  if (flags.rootfs !== undefined) raw.rootfs = flags.rootfs;
  if (flags.privileged) raw.privileged = true;
  if (volumes.length) raw.mounts = volumes.map(mountFromFlag);
  // --cap-add/--cap-drop take comma-separated names; the spec check names them.
  const list = (v: string | boolean | undefined) => (typeof v === 'string' ? v.split(',').filter(Boolean) : []);
  if (flags['cap-add'] !== undefined || flags['cap-drop'] !== undefined) {
    raw.security = { capabilities: { add: list(flags['cap-add']), drop: list(flags['cap-drop']) } };
  }
  return validateSpec(raw, '(command line)');
}

export async function cmdRun(ctx: Context, argv: string[], createOnly = false): Promise<number> {
  const p = parseArgs(argv, {
    name: 'string', memory: 'string', restart: 'string', network: 'string', detach: 'boolean',
    cpus: 'string', cpuset: 'string', rootfs: 'string', privileged: 'boolean', 'cap-add': 'string', 'cap-drop': 'string', volume: 'list',
    bundle: 'string',
  }, { '-d': 'detach', '-b': 'bundle', '-v': 'volume' });
  // run always returns once the container is started (a process's output goes
  // to its log); -d is accepted for Docker's muscle memory and changes nothing.
  // create starts nothing, so there -d would only mislead.
  if (createOnly && p.flags.detach) throw new UsageError('vigil create starts nothing, so -d/--detach means nothing there (vigil run always returns once started)');
  let spec: ContainerSpec;
  let file: string | null = null;
  if (typeof p.flags.bundle === 'string') {
    // The bundle's config.json says everything; only --name and --restart (of its process, `main`) go with it.
    const extra = Object.keys(p.flags).filter((f) => !['bundle', 'name', 'restart', 'detach'].includes(f));
    if (extra.length || p.rest || p.positionals.length) {
      throw new UsageError(`--bundle takes only --name and --restart (the bundle's config.json says the rest)${extra.length ? `; got --${extra.join(', --')}` : ''}`);
    }
    ({ spec, file } = loadBundle(p.flags.bundle, p.flags.name as string | undefined, p.flags.restart as string | undefined));
  } else if (p.rest) {
    if (p.rest.length === 0) throw new UsageError('nothing after --: give the command to run');
    if (p.positionals.length) throw new UsageError('give either SPEC.yaml or -- CMD, not both');
    spec = specFromFlags(p.flags, p.rest, p.lists.volume);
  } else {
    if (p.lists.volume) throw new UsageError('-v is for run -- CMD; a spec file lists its mounts');
    const verb = createOnly ? 'create' : 'run';
    const [f] = expectPositionals(p, 1, 1, `vigil ${verb} SPEC.yaml | vigil ${verb} --name N [--memory 64M] [--restart POLICY] -- CMD ARG... | vigil ${verb} --bundle DIR [--name N]`);
    file = path.resolve(f);
    spec = readSpecFile(file);
    if (typeof p.flags.name === 'string') {
      // The new name is checked like the spec's own field.
      if (!NAME_PATTERN.test(p.flags.name)) {
        throw new SpecError(null, [{ path: '--name', message: `${JSON.stringify(p.flags.name)} is not a container name ([a-z0-9][a-z0-9_.-]{0,62})` }]);
      }
      spec = { ...spec, name: p.flags.name, hostname: spec.hostname === spec.name ? p.flags.name : spec.hostname };
    }
  }
  if (createOnly) createContainer(ctx.store, spec, file, ctx.cgroupParent);
  else {
    runContainer(ctx.store, spec, file, ctx.cgroupParent);
    await startHeldProcesses(ctx, spec.name);
  }
  ctx.out(`${spec.name}\n`);
  return 0;
}

type OperatorVerb = 'start' | 'stop' | 'restart';

/**
 * An operator's start, stop or restart from the command line, journaled as the
 * monitor's control socket journals one (monitor/control.ts): `operator` when
 * asked, then `start`/`stop` when done (or `operator` again when it failed).
 * While no monitor runs, the CLI appends the records itself; while one runs it
 * owns the journal, so the records are handed to it over its socket (a `note`
 * request). A command the monitor itself runs (VIGIL_VIA_MONITOR, a request
 * over its socket or its own escalation) is journaled by the monitor already:
 * nothing is recorded twice.
 */
async function journaledOperator<T>(ctx: Context, verb: OperatorVerb, name: string, proc: string | null, act: () => T | Promise<T>): Promise<T> {
  const before = NAME_PATTERN.test(name) ? ctx.store.tryRead(name) : null;
  if (!before) return act(); // refused as "no container named", with nothing to record
  // Only the monitor's own child: the variable set in an operator's shell would silently lose their records.
  if (process.env[VIA_MONITOR_ENV] === String(process.ppid)) return act();
  const target = proc ? `${name}/${proc}` : name;
  const pidOf = (s: ContainerState | null) => (proc ? s?.processes.find((p) => p.name === proc)?.pid ?? null : s?.init?.pid ?? null);
  const { appendWithoutMonitor } = await import('../journal/without-monitor.js');
  let unrecorded = false; // once a record failed, the rest are not tried (a hung monitor is waited for once)
  const record = async (kind: OperatorNote['kind'], pid: number | null, reason: (toMonitor: boolean) => string) => {
    if (unrecorded) return;
    const note = { kind, container: name, process: proc, pid, action: verb };
    const deadline = Date.now() + NOTE_TIMEOUT_MS;
    try {
      for (;;) {
        if (appendWithoutMonitor(ctx.store, [{ ...note, peerPid: process.pid, reason: reason(false) }]) !== null) return;
        if (await noteToMonitor(ctx.store.root, { ...note, reason: reason(true), deadline: Date.now() + NOTE_TIMEOUT_MS })) return;
        // Nobody listens: the socket of a monitor killed with -9, while another
        // command held the lock for its own record. Its hold ends in milliseconds.
        if (Date.now() >= deadline) throw new StateError(`monitor.lock stayed held for ${NOTE_TIMEOUT_MS} ms with no monitor listening`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } catch (err) {
      // The operator's command goes on without its record, as the monitor goes on without its journal.
      unrecorded = true;
      process.stderr.write(`vigil: journal: ${(err as Error).message}; the ${verb} goes on unrecorded\n`);
    }
  };
  await record('operator', pidOf(before), (toMonitor) => `operator ${verb} of ${target} asked on the command line (pid ${process.pid}${toMonitor ? '' : ', no monitor running'})`);
  let result: T;
  try {
    result = await act();
  } catch (err) {
    await record('operator', pidOf(before), () => `operator ${verb} of ${target} failed: ${(err as Error).message}`);
    throw err;
  }
  const after = ctx.store.tryRead(name);
  if (verb === 'stop') await record('stop', pidOf(before), () => `operator stop of ${target} done: not restarted`);
  else await record('start', pidOf(after), () => `operator ${verb} of ${target} done`);
  return result;
}

/** How long an operator's command waits for the monitor to take a record (a hung monitor must not hang it). */
const NOTE_TIMEOUT_MS = 1000;
const NOTE_GRACE_MS = 250;

/** Hand an operator record to the running monitor, which journals it; false when no monitor listens. */
async function noteToMonitor(root: string, note: OperatorNote): Promise<boolean> {
  const { ControlClient, MonitorNotRunningError } = await import('../control/client.js');
  let client;
  try {
    client = await ControlClient.connect(root, NOTE_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof MonitorNotRunningError) return false;
    throw err;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.request({ type: 'note', ...note }),
      new Promise((_, reject) => {
        // A little past the note's deadline, for an answer given just before it (the monitor journals nothing after it).
        timer = setTimeout(() => reject(new StateError(`the monitor did not take the record within ${NOTE_TIMEOUT_MS} ms`)), NOTE_TIMEOUT_MS + NOTE_GRACE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.close();
  }
  return true;
}

export async function cmdStart(ctx: Context, argv: string[]): Promise<number> {
  const [name, proc] = expectPositionals(parseArgs(argv, {}), 1, 2, 'vigil start NAME [PROCESS]');
  await journaledOperator(ctx, 'start', name, proc ?? null, async () => {
    if (proc) startStoppedProcess(ctx.store, name, proc);
    else {
      startContainer(ctx.store, name);
      await startHeldProcesses(ctx, name);
    }
  });
  ctx.out(`${name}${proc ? `/${proc}` : ''}\n`);
  return 0;
}

export function cmdPs(ctx: Context, argv: string[]): number {
  const p = parseArgs(argv, { all: 'boolean', json: 'boolean' }, { '-a': 'all' });
  expectPositionals(p, 0, 0, 'vigil ps [-a] [--json]');
  const states = ctx.store.list();
  // Without a monitor, logs are rotated whenever an operator looks.
  for (const s of states) if (s.state === 'running') rotateContainerLogs((p) => ctx.store.logFile(s.name, p), s.spec);
  const rows = states.map(psRow).filter((r) => p.flags.all || r.state === 'running' || r.state === 'stopping');
  if (p.flags.json) {
    ctx.out(JSON.stringify(rows) + '\n');
    return 0;
  }
  ctx.out(table([
    ['NAME', 'STATE', 'PID', 'PROCESSES', 'RESTARTS', 'CREATED'],
    ...rows.map((r) => [r.name, r.state, String(r.pid ?? '-'), `${r.running}/${r.processes}`, String(r.restarts), r.createdAt]),
  ]));
  return 0;
}

export function cmdInspect(ctx: Context, argv: string[]): number {
  const [name] = expectPositionals(parseArgs(argv, {}), 1, 1, 'vigil inspect NAME');
  ctx.out(JSON.stringify(inspectView(ctx.store.read(name)), null, 2) + '\n');
  return 0;
}

export async function cmdStop(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { time: 'string' }, { '-t': 'time', '--timeout': 'time' });
  const [name, proc] = expectPositionals(p, 1, 2, 'vigil stop NAME [PROCESS] [-t SECS]');
  const timeoutMs = seconds(p.flags.time, '-t', 10) * 1000;
  await journaledOperator(ctx, 'stop', name, proc ?? null, () => {
    if (proc) stopProcess(ctx.store, name, proc, timeoutMs);
    else {
      const s = ctx.store.read(name);
      // A live init under another state is a start killed half-way: stopping it is what was asked.
      const live = s.init !== null && isAlive(s.init.pid, s.init.startTime);
      if (s.state !== 'running' && s.state !== 'stopping' && !live) throw new StateError(`container "${name}" is ${s.state}`);
      stopContainer(ctx.store, name, timeoutMs);
    }
  });
  ctx.out(`${name}${proc ? `/${proc}` : ''}\n`);
  return 0;
}

export async function cmdRestart(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { time: 'string' }, { '-t': 'time' });
  const [name, proc] = expectPositionals(p, 1, 2, 'vigil restart NAME [PROCESS] [-t SECS]');
  const timeoutMs = seconds(p.flags.time, '-t', 10) * 1000;
  await journaledOperator(ctx, 'restart', name, proc ?? null, async () => {
    if (proc) {
      stopProcess(ctx.store, name, proc, timeoutMs);
      startStoppedProcess(ctx.store, name, proc);
      // dependsOn: what depends on it is restarted after it, in order.
      await restartDependents(ctx.store, name, proc, `restarted along with ${proc} (operator restart)`, timeoutMs, currentHolder(), (n) => {
        if (!n.started) process.stderr.write(`vigil: ${name}/${n.process} ${n.note}\n`);
      });
    } else {
      if (ctx.store.read(name).state === 'running') stopContainer(ctx.store, name, timeoutMs);
      startContainer(ctx.store, name);
      await startHeldProcesses(ctx, name);
    }
  });
  ctx.out(`${name}${proc ? `/${proc}` : ''}\n`);
  return 0;
}

export function cmdKill(ctx: Context, argv: string[]): number {
  const [name, ...rest] = expectPositionals(parseArgs(argv, {}), 1, 3, 'vigil kill NAME [PROCESS] [SIGNAL]');
  let proc: string | null = null;
  let signal: NodeJS.Signals = 'SIGKILL';
  if (rest.length === 2) [proc, signal] = [rest[0], parseSignal(rest[1]) ?? badSignal(rest[1])];
  else if (rest.length === 1) {
    const sig = parseSignal(rest[0]);
    if (sig && !ctx.store.read(name).spec.processes.some((q) => q.name === rest[0])) signal = sig;
    else proc = rest[0];
  }
  ctx.out(`${killTarget(ctx.store, name, proc, signal)}\n`);
  return 0;
}

function badSignal(text: string): never {
  throw new UsageError(`unknown signal ${JSON.stringify(text)} (use a name like SIGTERM or a number)`);
}

export function cmdRm(ctx: Context, argv: string[]): number {
  const p = parseArgs(argv, { force: 'boolean' }, { '-f': 'force' });
  const names = p.positionals;
  if (!names.length) throw new UsageError('usage: vigil rm [-f] NAME...');
  for (const name of names) {
    removeContainer(ctx.store, name, Boolean(p.flags.force));
    ctx.out(`${name}\n`);
  }
  return 0;
}

export function cmdLogs(ctx: Context, argv: string[]): Promise<number> | number {
  const p = parseArgs(argv, { follow: 'boolean', tail: 'string' }, { '-f': 'follow', '-n': 'tail' });
  const [name, proc] = expectPositionals(p, 1, 2, 'vigil logs NAME [PROCESS] [-f] [--tail N]');
  const state = ctx.store.read(name);
  const procs = proc ? [proc] : state.spec.processes.map((q) => q.name);
  if (proc && !state.spec.processes.some((q) => q.name === proc) && proc !== 'exec') {
    throw new StateError(`container "${name}" has no process named "${proc}"`);
  }
  const tail = p.flags.tail === undefined ? Infinity : Number(p.flags.tail);
  if (!(tail >= 0)) throw new UsageError(`--tail expects a number, got ${JSON.stringify(p.flags.tail)}`);
  const prefix = (n: string) => (procs.length > 1 ? `${n} | ` : '');
  const keep = logPolicyOf(state.spec).keep;
  rotateContainerLogs((n) => ctx.store.logFile(name, n), state.spec);
  const offsets = new Map<string, number>();
  for (const n of procs) {
    const file = ctx.store.logFile(name, n);
    // Rotated generations first, oldest first, then the current file.
    const text = readLog(file, keep);
    offsets.set(n, fs.existsSync(file) ? fs.statSync(file).size : 0);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const l of lines.slice(Math.max(0, lines.length - tail))) ctx.out(`${prefix(n)}${l}\n`);
  }
  if (!p.flags.follow) return 0;
  /** What `file` holds from `from` on, and where that ends. */
  const readFrom = (file: string, from: number): [string, number] => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return ['', from];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= from) return ['', size];
      const buf = Buffer.alloc(size - from);
      const n = fs.readSync(fd, buf, 0, buf.length, from);
      return [buf.subarray(0, n).toString('utf8'), from + n];
    } finally {
      fs.closeSync(fd);
    }
  };
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      // A removed container has no more to say (its logs went with it).
      if (!ctx.store.tryRead(name)) {
        clearInterval(timer);
        resolve(0);
        return;
      }
      rotateContainerLogs((n) => ctx.store.logFile(name, n), state.spec);
      for (const n of procs) {
        const file = ctx.store.logFile(name, n);
        let from = offsets.get(n) ?? 0;
        let text = '';
        let size = 0;
        try {
          size = fs.statSync(file).size;
        } catch {
          continue;
        }
        if (size < from) {
          // Rotated since the last look: the rest of what we had read is now generation 1.
          text = readFrom(generation(file, 1), from)[0];
          from = 0;
        }
        const [more, end] = readFrom(file, from);
        offsets.set(n, end);
        for (const l of (text + more).split('\n').filter(Boolean)) ctx.out(`${prefix(n)}${l}\n`);
      }
    }, 200);
  });
}

/** dependsOn: start what the container start held back, once its dependencies are ready. */
async function startHeldProcesses(ctx: Context, name: string): Promise<void> {
  await startHeld(ctx.store, name, currentHolder(), false, (n) => {
    if (!n.started) process.stderr.write(`vigil: ${name}/${n.process} ${n.note}\n`);
  });
}

export { DEFAULT_CGROUP_PARENT };
