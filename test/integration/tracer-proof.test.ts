/**
 * The Proof list of issue 4 on the real kernel: one exit event for a
 * 50-thread process; exit codes, signals, core dumps and real faults; who
 * sent a kill (another container, the host); pid reuse; a signal flood in one
 * container not costing another container's exits.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TESTBIN_PATH } from '../../src/paths.js';
import { dropCounts, watch } from '../../src/tracer/tracer.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { PYTHON, TracerHarness } from '../helpers/tracer-harness.js';

const { serial, missing } = kernelSerial('tracer proof');
const h = new TracerHarness('proof');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-proof-'));
/** A piped core_pattern hands the core to a helper that may be absent: the flag then depends on it. */
const corePiped = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').startsWith('|');

if (!missing) {
  test.before(() => {
    h.open();
  });
  test.after.always(async () => {
    await h.close();
    rmSync(scratch, { recursive: true, force: true });
  });
}

serial('a 50-thread process exiting from a worker thread: exactly one exit event', async (t) => {
  const script = [
    'import os, threading, time',
    'ready = threading.Barrier(51)',
    'def work():',
    '    ready.wait(); time.sleep(5)',
    'ts = [threading.Thread(target=work) for _ in range(50)]',
    '[x.start() for x in ts]',
    'ready.wait()',
    'print(len(os.listdir("/proc/self/task")), flush=True)',
    'threading.Thread(target=lambda: os._exit(9)).start()',
    'time.sleep(5)',
  ].join('\n');
  const r = h.runIn(`exec ${PYTHON} -c '${script}'`);
  t.is((await r.exited).code, 9);
  await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]);
  await sleep(300);
  t.is(h.exitsOf(r.pid).length, 1);
  t.like(h.exitsOf(r.pid)[0], { status: 9, signal: null, cgroupId: h.cgroupId, task: { pid: r.pid } });
});

interface ExitCase {
  name: string;
  /** sh -c text run in a scratch cwd with core dumps allowed. */
  command: string;
  status: number | null;
  signal: number | null;
  core: boolean;
  /** si_code of the fatal signal's event; undefined: no signal event expected. */
  siCode?: number;
}

const TB = TESTBIN_PATH;
const cases: ExitCase[] = [
  { name: 'exit(0)', command: `exec ${TB} exit 0`, status: 0, signal: null, core: false },
  { name: 'exit(42)', command: `exec ${TB} exit 42`, status: 42, signal: null, core: false },
  { name: 'SIGTERM (raise: tgkill, SI_TKILL)', command: `exec ${TB} kill-self 15`, status: null, signal: 15, core: false, siCode: -6 },
  { name: 'SIGKILL (raise)', command: `exec ${TB} kill-self 9`, status: null, signal: 9, core: false, siCode: -6 },
  { name: 'SIGABRT with a core dump', command: `ulimit -c unlimited; exec ${TB} kill-self 6`, status: null, signal: 6, core: true, siCode: -6 },
  { name: 'SIGSEGV from a real fault (SEGV_MAPERR, core dumped)', command: `ulimit -c unlimited; exec ${TB} segv`, status: null, signal: 11, core: true, siCode: 1 },
];

for (const c of cases) {
  serial(`exit event: ${c.name}`, async (t) => {
    const cwd = mkdtempSync(path.join(scratch, 'case-'));
    const r = h.runIn(`cd ${cwd} && ${c.command}`);
    const got = await r.exited;
    const exit = await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]);
    t.like(exit, { status: c.status, signal: c.signal, cgroupId: h.cgroupId, oomVictim: false });
    t.is(got.code, c.status);
    if (!corePiped || !c.core) t.is(exit.coreDumped, c.core);
    if (c.core && !corePiped) t.true(readdirSync(cwd).some((f) => f.startsWith('core')), 'the kernel wrote a core file');
    if (c.core && corePiped) t.log(`core_pattern is a pipe: core dumped = ${exit.coreDumped}, as its helper decided`);
    if (c.siCode !== undefined) {
      const fatal = h.signalsTo(r.pid).filter((s) => s.signal === c.signal);
      t.is(fatal.length, 1);
      t.like(fatal[0], { siCode: c.siCode, sender: { pid: r.pid }, senderWatchedCgroupId: h.cgroupId });
    } else {
      t.is(h.signalsTo(r.pid).length, 0);
    }
    t.is(h.exitsOf(r.pid).length, 1);
    rmSync(cwd, { recursive: true, force: true });
  });
}

serial('the sender of a kill: another container, then the host', async (t) => {
  const otherDir = `${h.cg}-other`;
  const otherId = h.mkdir(otherDir);
  watch(h.pinDir, otherId);
  const victim = h.runIn(`exec ${TB} sleep 30`);
  await h.waitFor('victim to exec', () => h.execsOf(victim.pid)[0]);
  const killer = h.runIn(`exec /bin/kill -TERM ${victim.pid}`, otherDir);
  await killer.exited;
  t.is((await victim.exited).signal, 'SIGTERM');
  const sig = await h.waitFor('SIGTERM event', () => h.signalsTo(victim.pid)[0]);
  t.like(sig, { signal: 15, siCode: 0, cgroupId: h.cgroupId, senderWatchedCgroupId: otherId, senderCgroupId: otherId, sender: { pid: killer.pid, comm: 'kill' } });

  const victim2 = h.runIn(`exec ${TB} sleep 30`);
  await h.waitFor('victim to exec', () => h.execsOf(victim2.pid)[0]);
  process.kill(victim2.pid, 'SIGTERM');
  await victim2.exited;
  const sig2 = await h.waitFor('SIGTERM event', () => h.signalsTo(victim2.pid)[0]);
  t.like(sig2, { signal: 15, senderWatchedCgroupId: 0n, sender: { pid: process.pid } });
  t.not(sig2.senderCgroupId, 0n, 'the host sender still has its own cgroup id');
});

serial('pid reuse: two processes with the same pid are two identities, each exit reported', async (t) => {
  if (!existsSync('/proc/sys/kernel/ns_last_pid')) {
    t.log('skipped: this kernel has no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE), so a pid cannot be chosen');
    t.pass();
    return;
  }
  // ns_last_pid makes the next fork take a chosen pid; other forks on the host
  // may take it first, so try a few times.
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = h.runIn(`exec ${TB} exit 1`);
    await first.exited;
    const e1 = await h.waitFor('first exit', () => h.exitsOf(first.pid)[0]);
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(first.pid - 1));
    const second = h.run('/bin/sh', ['-c', `echo $$ > ${h.cg}/cgroup.procs && exec ${TB} exit 2`]);
    if (second.pid !== first.pid) {
      await second.exited;
      continue;
    }
    await second.exited;
    const exits = await h.waitFor('second exit', () => (h.exitsOf(first.pid).length >= 2 ? h.exitsOf(first.pid) : undefined));
    t.is(exits.length, 2);
    t.like(exits[0], { status: 1 });
    t.like(exits[1], { status: 2 });
    t.true(exits[1]!.task.startBoottimeNs > e1.task.startBoottimeNs, 'the reused pid has a later start time');
    return;
  }
  t.fail('could not get the same pid twice in 20 attempts (a busy host)');
});

serial('a signal flood from one container does not lose another container\'s exits', async (t) => {
  const floodDir = `${h.cg}-flood`;
  const floodId = h.mkdir(floodDir);
  watch(h.pinDir, floodId);
  const before = dropCounts(h.pinDir);
  // A target that ignores SIGHUP, and a python sending it as fast as it can.
  const target = h.runIn(`trap '' HUP; exec ${TB} sleep 60`, floodDir);
  await h.waitFor('flood target to exec', () => h.execsOf(target.pid)[0]);
  const flood = h.runIn(`exec ${PYTHON} -c 'import os, time\nend = time.time() + 3\nwhile time.time() < end:\n    for _ in range(1000): os.kill(${target.pid}, 1)'`, floodDir);
  await sleep(300);
  const dying: number[] = [];
  for (let i = 0; i < 100; i++) {
    const r = h.runIn(`exec ${TB} exit ${i % 256}`);
    dying.push(r.pid);
    await r.exited;
  }
  await flood.exited;
  process.kill(target.pid, 'SIGKILL');
  await target.exited;
  await h.waitFor('every exit', () => (dying.every((p) => h.exitsOf(p).length === 1) ? true : undefined), 10_000);
  for (const p of dying) t.is(h.exitsOf(p).length, 1, `pid ${p}`);
  const after = dropCounts(h.pinDir);
  const floodSignals = h.signalsTo(target.pid).length;
  t.true(after.rateLimited.signal - before.rateLimited.signal > 1000n, `the flood was rate-limited (${after.rateLimited.signal - before.rateLimited.signal} limited, ${floodSignals} reported)`);
  t.true(floodSignals <= 400 + 200 * 4, `at most burst + rate x time reported (${floodSignals})`);
  t.is(after.lost.exit, 0n, 'no exit lost');
  t.is(h.decodeErrors, 0);
});
