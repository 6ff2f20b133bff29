/**
 * The tracer on the real kernel (root, BTF): load and pin a private tracer,
 * watch a private cgroup v2 directory, and check what it reports for kills,
 * exits, multi-threaded exits, unwatched processes, a memcg OOM kill, and
 * events that wait in the pinned ring buffer while no consumer is open.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DecodedEvent, ExitEvent, OomEvent, SignalEvent } from '../../src/events/decode.js';
import { detectLayout } from '../../src/launcher/cgroups.js';
import { rmdirRetry, startTicks } from '../helpers/tracer-harness.js';
import { bpffsMount, drops, ensureTracer, openConsumer, removeTracer, unwatch, watch, type EventConsumer } from '../../src/tracer/tracer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const OBJ = path.join(ROOT, 'build/vigil.bpf.o');
const PIN_DIR = `/sys/fs/bpf/vigil-test-tracer-${process.pid}`;
const PIN_DIR_B = `${PIN_DIR}-b`;
const PYTHON = '/usr/bin/python3';

const hasBtf = existsSync('/sys/kernel/btf/vmlinux');
const serial = hasBtf ? test.serial : test.serial.skip;
if (!hasBtf) {
  if (process.env.CI === 'true') test('tracer needs /sys/kernel/btf/vmlinux (CI must have it)', (t) => t.fail());
  else test('tracer tests skipped: this kernel has no BTF (/sys/kernel/btf/vmlinux)', (t) => t.pass());
}

/** Our own cgroup v2 directory (hybrid: under /sys/fs/cgroup/unified; v1 only: under vigil's /run/vigil/cgroup2). */
function ownV2Dir(): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  const mount = detectLayout().v2Mount; // v1-only host: vigil's own v2 tree (mounted here if need be)
  return path.join(mount, line ? line.slice(3) : '/');
}

/** Our own v1 memory cgroup directory, or undefined on pure v2. */
function ownMemcgDir(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => /^\d+:memory:/.test(l));
  return line ? path.join('/sys/fs/cgroup/memory', line.slice(line.indexOf(':memory:') + 8)) : undefined;
}

const CG = path.join(ownV2Dir(), `vigil-test-tracer-${process.pid}`);
const memcgParent = ownMemcgDir();
const MEMCG = memcgParent ? path.join(memcgParent, `vigil-test-oom-${process.pid}`) : undefined;

let cgroupId = 0n;
let consumer: EventConsumer | undefined;
const seen: DecodedEvent[] = [];
let decodeErrors = 0;
const children = new Set<ChildProcess>();

function collect(events: DecodedEvent[], errors: number): void {
  seen.push(...events);
  decodeErrors += errors;
}

interface Run {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(cmd: string, args: string[]): Run {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error(`spawn ${cmd} failed`);
  return { child, pid: child.pid, exited };
}

/** sh that moves itself into the watched cgroup, then runs `then`. */
function runWatched(then: string): Run {
  return run('/bin/sh', ['-c', `echo $$ > ${CG}/cgroup.procs && ${then}`]);
}

async function waitFor<T>(what: string, pick: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pick();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen, bigintJson)}`);
    await sleep(20);
  }
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

const exitsOf = (pid: number): ExitEvent[] => seen.filter((e): e is ExitEvent => e.kind === 'exit' && e.task.pid === pid);
const signalsTo = (pid: number): SignalEvent[] => seen.filter((e): e is SignalEvent => e.kind === 'signal' && e.target.pid === pid);
const oomsOf = (pid: number): OomEvent[] => seen.filter((e): e is OomEvent => e.kind === 'oom' && e.victim.pid === pid);

if (hasBtf) {
  test.before(() => {
    bpffsMount();
    removeTracer(PIN_DIR); // a leftover of an interrupted run with the same pid
    mkdirSync(CG);
    cgroupId = statSync(CG, { bigint: true }).ino;
  });

  test.after.always(async () => {
    consumer?.close();
    for (const c of children) c.kill('SIGKILL');
    await sleep(100);
    await rmdirRetry(CG);
    if (MEMCG) await rmdirRetry(MEMCG);
    removeTracer(PIN_DIR_B);
    removeTracer(PIN_DIR);
  });
}

serial('ensureTracer loads and pins once, then finds it pinned', (t) => {
  t.like(ensureTracer(OBJ, PIN_DIR), { loaded: true, upgraded: false, generation: 1, oomHook: 'tracepoint' });
  t.like(ensureTracer(OBJ, PIN_DIR), { loaded: false, generation: 1 });
  for (const pin of ['events', 'watched', 'drops', 'limited', 'control', 'handover', 'link_exit', 'link_signal', 'link_oom', 'link_fork', 'link_exec']) {
    t.true(existsSync(path.join(PIN_DIR, pin)), pin);
  }
  watch(PIN_DIR, cgroupId);
  consumer = openConsumer(PIN_DIR, collect);
  t.is(consumer.poll(), 0);
});

serial('a load that fails leaves nothing behind and names the operation and path', (t) => {
  const err = t.throws(() => ensureTracer('/etc/hostname', PIN_DIR_B));
  t.like(err, { code: 'ERR_BPF_OPEN', syscall: 'tracerEnsure: bpf_object__open_file', path: '/etc/hostname' });
  t.regex(err!.message, /^tracerEnsure: bpf_object__open_file '\/etc\/hostname': /);
  t.false(existsSync(PIN_DIR_B));
});

serial('signalMask is applied at load: a tracer with an empty mask reports exits only', async (t) => {
  const got: DecodedEvent[] = [];
  t.like(ensureTracer(OBJ, PIN_DIR_B, { signalMask: 0n }), { loaded: true });
  watch(PIN_DIR_B, cgroupId);
  const b = openConsumer(PIN_DIR_B, (events) => got.push(...events));
  try {
    const r = runWatched('kill -TERM $$');
    await r.exited;
    await waitFor('exit event on tracer A', () => exitsOf(r.pid)[0]);
    await waitFor('exit event on tracer B', () => got.find((e) => e.kind === 'exit' && e.task.pid === r.pid));
    t.is(signalsTo(r.pid).length, 1, 'tracer A (default mask) reports SIGTERM');
    t.is(got.filter((e) => e.kind === 'signal').length, 0, 'tracer B (mask 0) reports no signal');
  } finally {
    b.close();
    removeTracer(PIN_DIR_B);
  }
});

serial('SIGKILL from this process: one signal event, then exactly one exit event', async (t) => {
  const r = runWatched('exec sleep 30');
  await waitFor('sleep to start', () => (readFileSync(`/proc/${r.pid}/comm`, 'utf8') === 'sleep\n' ? true : undefined));
  const ticks = startTicks(r.pid);
  process.kill(r.pid, 'SIGKILL');
  t.deepEqual(await r.exited, { code: null, signal: 'SIGKILL' });
  const exit = await waitFor('exit event', () => exitsOf(r.pid)[0]);
  await sleep(300);

  const sigs = signalsTo(r.pid);
  t.is(sigs.length, 1);
  t.like(sigs[0], {
    cgroupId,
    signal: 9,
    siCode: 0,
    result: 0,
    group: true,
    sender: { pid: process.pid, tid: process.pid },
    target: { pid: r.pid, comm: 'sleep' },
  });
  t.is(exitsOf(r.pid).length, 1);
  t.like(exit, { cgroupId, signal: 9, status: null, oomVictim: false, coreDumped: false, ppid: process.pid });
  t.like(exit.task, { pid: r.pid, tid: r.pid, comm: 'sleep' });
  t.is(exit.task.startBoottimeNs / 10_000_000n, ticks, 'start time matches /proc/PID/stat');
  t.true(sigs[0]!.tsNs <= exit.tsNs);
  t.is(decodeErrors, 0);
});

serial('exit 3: one exit event with status 3', async (t) => {
  const r = runWatched('exit 3');
  t.is((await r.exited).code, 3);
  const exit = await waitFor('exit event', () => exitsOf(r.pid)[0]);
  t.like(exit, { kind: 'exit', cgroupId, status: 3, signal: null, exitCode: 3 << 8 });
  t.is(signalsTo(r.pid).length, 0);
});

serial('multi-threaded python exiting mid-flight: exactly one exit event', async (t) => {
  const script = [
    'import os, threading, time',
    'done = [threading.Thread(target=lambda: None) for _ in range(4)]',
    '[d.start() for d in done]; [d.join() for d in done]',
    'busy = [threading.Thread(target=time.sleep, args=(5,)) for _ in range(8)]',
    '[b.start() for b in busy]',
    'time.sleep(0.2)',
    'os._exit(5)',
  ].join('\n');
  const r = runWatched(`exec ${PYTHON} -c '${script}'`);
  t.is((await r.exited).code, 5);
  await waitFor('exit event', () => exitsOf(r.pid)[0]);
  await sleep(300);
  t.is(exitsOf(r.pid).length, 1);
  t.like(exitsOf(r.pid)[0], { status: 5, task: { pid: r.pid } });
});

serial('node with worker threads calling process.exit: exactly one exit event', async (t) => {
  const script =
    "const { Worker } = require('worker_threads');" +
    "for (let i = 0; i < 4; i++) new Worker('setInterval(() => {}, 1000)', { eval: true });" +
    'setTimeout(() => process.exit(7), 300);';
  const r = runWatched(`exec ${process.execPath} -e "${script}"`);
  t.is((await r.exited).code, 7);
  await waitFor('exit event', () => exitsOf(r.pid)[0]);
  await sleep(300);
  t.is(exitsOf(r.pid).length, 1);
  t.like(exitsOf(r.pid)[0], { status: 7 });
});

serial('unwatched processes report nothing, and unwatch stops reporting', async (t) => {
  const outside = run('/bin/sh', ['-c', 'kill -TERM $$']);
  t.is((await outside.exited).signal, 'SIGTERM');
  unwatch(PIN_DIR, cgroupId);
  const inside = runWatched('kill -TERM $$');
  t.is((await inside.exited).signal, 'SIGTERM');
  await sleep(300);
  watch(PIN_DIR, cgroupId);
  t.is(exitsOf(outside.pid).length + signalsTo(outside.pid).length, 0);
  t.is(exitsOf(inside.pid).length + signalsTo(inside.pid).length, 0);
  // watched again: reported again
  const again = runWatched('kill -TERM $$');
  await again.exited;
  const sig = await waitFor('SIGTERM event', () => signalsTo(again.pid)[0]);
  t.like(sig, { signal: 15, sender: { pid: again.pid } });
  t.like(await waitFor('exit event', () => exitsOf(again.pid)[0]), { signal: 15 });
});

serial('memcg OOM kill: OOM event, kernel SIGKILL, exit flagged as OOM victim', async (t) => {
  if (!MEMCG) return t.pass('no v1 memory controller: the OOM case runs on pure v2 elsewhere');
  mkdirSync(MEMCG);
  writeFileSync(path.join(MEMCG, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
  const hog = `${PYTHON} -c 'b = b"x" * (200 * 1024 * 1024)'`;
  const r = run('/bin/sh', ['-c', `echo $$ > ${MEMCG}/cgroup.procs && echo $$ > ${CG}/cgroup.procs && exec ${hog}`]);
  t.is((await r.exited).signal, 'SIGKILL');
  const exit = await waitFor('exit event', () => exitsOf(r.pid)[0]);
  const oom = oomsOf(r.pid);
  t.is(oom.length, 1);
  t.like(oom[0], { kind: 'oom', cgroupId, uid: 0, victim: { pid: r.pid, comm: 'python3' }, scope: 'memcg' });
  t.like(exit, { signal: 9, oomVictim: true });
  const kills = signalsTo(r.pid).filter((s) => s.signal === 9);
  t.true(kills.length >= 1);
  t.is(kills[0]!.siCode, 0x80, 'the OOM killer sends SIGKILL as SI_KERNEL');
  t.true(oom[0]!.tsNs <= exit.tsNs);
  await rmdirRetry(MEMCG);
});

serial('events wait in the pinned ring buffer while no consumer is open', async (t) => {
  consumer?.close();
  consumer?.close(); // twice is fine
  t.true(consumer?.closed);
  const before = seen.length;
  const r = runWatched('exit 6');
  t.is((await r.exited).code, 6);
  await sleep(200);
  t.is(seen.length, before, 'nothing delivered while closed');

  consumer = openConsumer(PIN_DIR, collect);
  t.true(consumer.poll() >= 1, 'poll() drains what waited');
  t.like(exitsOf(r.pid)[0], { status: 6, cgroupId });
  t.deepEqual(drops(PIN_DIR), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  t.is(decodeErrors, 0);
});
