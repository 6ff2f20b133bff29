/**
 * Replacing the pinned BPF program with another build while processes die:
 * every exit is reported exactly once (none missed in the switch, none twice
 * while both builds run), every fatal signal once, and the consumer reading
 * the pinned ring buffer never notices. Also: the same build is not reloaded,
 * and a build that fails to load leaves the running one untouched.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropCounts, ensureTracer, tracerInfo } from '../../src/tracer/tracer.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { OBJ, PYTHON, TracerHarness } from '../helpers/tracer-harness.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const { serial, missing } = kernelSerial('tracer upgrade');
const h = new TracerHarness('upgrade');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'vigil-test-upgrade-'));

if (!missing) {
  test.before(() => {
    h.open();
  });
  test.after.always(async () => {
    await h.close();
    rmSync(scratch, { recursive: true, force: true });
  });
}

serial('the same build is found pinned, not reloaded', (t) => {
  const again = ensureTracer(OBJ, h.pinDir);
  t.like(again, { loaded: false, upgraded: false, generation: h.ensured!.generation });
});

serial('upgrading ten times while 2000 processes die: each exit and each fatal signal reported exactly once', async (t) => {
  const pidsFile = path.join(scratch, 'pids');
  // Children alternate: exit(code) and SIGTERM to themselves. The parent writes
  // each child's pid and how it ended, as the truth to compare with.
  const script = [
    'import os, signal, sys',
    `out = open(${JSON.stringify(pidsFile)}, "w")`,
    'for i in range(2000):',
    '    pid = os.fork()',
    '    if pid == 0:',
    '        if i % 2: os.kill(os.getpid(), signal.SIGTERM)',
    '        os._exit(i % 200)',
    '    os.waitpid(pid, 0)',
    '    out.write(f"{pid} {i % 2}\\n")',
    'out.close()',
  ].join('\n');
  const before = tracerInfo(h.pinDir);
  const r = h.runIn(`exec ${PYTHON} -c '${script}'`);
  const generations: number[] = [];
  let done = false;
  void r.exited.then(() => (done = true));
  for (let i = 0; i < 10 && !done; i++) {
    await sleep(60);
    const u = ensureTracer(OBJ, h.pinDir, { signalRate: 100_000 + i, signalBurst: 100_000 });
    t.true(u.loaded && u.upgraded, `upgrade ${i}`);
    generations.push(u.generation);
  }
  t.is((await r.exited).code, 0);
  t.true(generations.length >= 3, `upgraded ${generations.length} times while the processes died`);
  t.deepEqual(generations, generations.map((_, i) => before.generation + i + 1), 'generations count up');

  const truth = readFileSync(pidsFile, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
  t.is(truth.length, 2000);
  await h.waitFor('every exit', () => (truth.every(([pid]) => h.exitsOf(pid).length >= 1) ? true : undefined), 15_000).catch(() => undefined);
  await sleep(300);
  const missed = truth.filter(([pid]) => h.exitsOf(pid).length === 0);
  const twice = truth.filter(([pid]) => h.exitsOf(pid).length > 1);
  t.deepEqual(missed, [], 'no exit missed');
  t.deepEqual(twice, [], 'no exit reported twice');
  const killed = truth.filter(([, k]) => k === 1);
  const sigMissed = killed.filter(([pid]) => h.signalsTo(pid).filter((s) => s.signal === 15).length === 0);
  const sigTwice = killed.filter(([pid]) => h.signalsTo(pid).filter((s) => s.signal === 15).length > 1);
  t.deepEqual(sigMissed, [], 'no SIGTERM missed');
  t.deepEqual(sigTwice, [], 'no SIGTERM reported twice');
  for (const [pid, k] of truth) {
    const e = h.exitsOf(pid)[0];
    if (!e) continue;
    if (k) t.is(e.signal, 15, `pid ${pid}`);
    else t.is(e.signal, null, `pid ${pid}`);
  }
  t.is(dropCounts(h.pinDir).lost.exit, 0n);
  t.is(h.decodeErrors, 0);

  const after = tracerInfo(h.pinDir);
  t.is(after.generation, generations[generations.length - 1]!);
  const oldIds = new Set(before.programs.map((p) => p.id));
  t.true(after.programs.length >= 5);
  t.true(after.programs.every((p) => !oldIds.has(p.id)), 'every link now runs a program of the last build');
});

serial('a build that fails to load leaves the running one pinned and reporting', async (t) => {
  const info = tracerInfo(h.pinDir);
  const err = t.throws(() => ensureTracer('/etc/hostname', h.pinDir, { identity: 'broken' }));
  t.like(err, { code: 'ERR_BPF_OPEN' });
  t.deepEqual(tracerInfo(h.pinDir).programs.map((p) => p.id), info.programs.map((p) => p.id));
  const r = h.runIn('exit 7');
  await r.exited;
  t.like(await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]), { status: 7 });
});

serial('a loader killed half-way through an upgrade: the next ensure finishes it, no mix of builds and no stray pin left', async (t) => {
  const before = tracerInfo(h.pinDir);
  const settings = { signalRate: 4242, signalBurst: 4242 };
  const tracerModule = path.join(PACKAGE_ROOT, 'dist/src/tracer/tracer.js');
  // The loader stops after replacing its first link pin (a test-only pause), and is killed there.
  const loader = spawn(process.execPath, ['--input-type=module', '-e',
    `import { ensureTracer } from ${JSON.stringify(tracerModule)}; ensureTracer(${JSON.stringify(OBJ)}, ${JSON.stringify(h.pinDir)}, ${JSON.stringify(settings)});`],
  { env: { ...process.env, VIGIL_TEST_UPGRADE_PAUSE_MS: '20000' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((r) => loader.once('exit', r));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the loader never paused: ${stderr}`)), 20_000);
    loader.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/vigil test: replaced link_exit/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  loader.kill('SIGKILL');
  await exited;
  const half = tracerInfo(h.pinDir);
  const oldIds = new Set(before.programs.map((p) => p.id));
  t.true(half.programs.some((p) => oldIds.has(p.id)), 'the kill left some links on the old build');

  const again = ensureTracer(OBJ, h.pinDir, settings);
  t.true(again.loaded && again.upgraded, 'the next ensure with that build finishes the upgrade');
  const after = tracerInfo(h.pinDir);
  t.true(after.programs.length >= 5);
  t.true(after.programs.every((p) => !oldIds.has(p.id)), 'every link runs the new build');
  t.deepEqual(readdirSync(h.pinDir).filter((n) => n.startsWith('new_')), [], 'no temporary pin left');
  t.true(after.generation > half.generation, 'the finishing build has a generation of its own');
  const r = h.runIn('exit 9');
  await r.exited;
  t.like(await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]), { status: 9 });
  await sleep(200);
  t.is(h.exitsOf(r.pid).length, 1, 'reported once');
});
