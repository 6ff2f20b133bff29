/**
 * A full ring buffer while no monitor runs: the drops are counted in the
 * kernel and reported by the next monitor, once, as what they are.
 */
import test from 'ava';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { dropCounts } from '../../src/tracer/tracer.js';

const { serial, missing } = kernelSerial('ring buffer drop tests');
const env = missing ? null! : new KernelEnv('drops');
test.after.always(() => env?.cleanup());

serial('drops while no monitor ran are reported by the next monitor as earlier ones, and not again as new by the one after', async (t) => {
  // SIGHUP is traced; this process ignores it, so a storm of them is a storm of events only.
  env.ok(t, 'run', '--name', 'storm', '--', '/bin/sh', '-c', 'trap "" HUP; exec sleep 600');
  const pid = env.inspect(t, 'storm').processes[0].pid!;
  for (let i = 0; i < 40_000; i++) process.kill(pid, 'SIGHUP');
  // The tracer's per-container rate limit takes most of such a storm (signals
  // are limited, exits never): those are counted as rate-limited, not lost.
  const limited = dropCounts(env.store.pinDir).rateLimited.signal;
  t.true(limited > 0n, 'the storm was rate-limited in the kernel');

  const first = env.startMonitor();
  const report = await first.waitFor((l) => l.kind === 'error' && /rate-limited/.test(l.reason), 15_000);
  t.regex(report.reason, new RegExp(`rate-limited signal ${limited} event\\(s\\) before this monitor started`));
  await first.stop();

  const second = env.startMonitor();
  await second.waitFor((l) => l.kind === 'monitor');
  await sleep(2500); // one reconciliation at start, one after
  t.false(second.lines.some((l) => / more /.test(l.reason)), `no new drops are claimed: ${second.lines.map((l) => l.reason).join(' | ')}`);
  await second.stop();
  env.ok(t, 'rm', '-f', 'storm');
  t.deepEqual(env.leftovers(['storm']), []);
});

serial('an operator\'s SIGKILL whose exit the full ring buffer lost is still the operator\'s: found by reconciliation, not restarted', async (t) => {
  env.ok(t, 'run', env.writeSpec('opkill', env.spec('opkill', [{ name: 'p', command: ['/bin/sleep', '600'], restart: 'always' }])));
  // No monitor: a fork/exit storm in the container fills the ring buffer (exits may fill all of it).
  const lostBefore = dropCounts(env.store.pinDir).lost.exit;
  env.ok(t, 'exec', 'opkill', '--', TESTBIN_IN_CONTAINER, 'storm', '30000');
  t.true(dropCounts(env.store.pinDir).lost.exit > lostBefore, 'the storm filled the ring buffer');
  const victim = env.inspect(t, 'opkill').processes[0].pid!;
  env.ok(t, 'kill', 'opkill', 'p');
  await sleep(11_000); // past the grace in which any exit after an operator's signal counts as its answer
  const monitor = env.startMonitor();
  const line = await monitor.waitFor((l) => l.container === 'opkill' && l.pid === victim && (l.kind === 'lost' || l.kind === 'exit'), 15_000);
  t.is(line.action, 'leave', line.reason);
  t.regex(line.reason, /operator/);
  await sleep(500);
  const p = env.inspect(t, 'opkill').processes[0];
  t.is(p.restarts, 0, 'not restarted');
  t.not(p.state, 'running');
  await monitor.stop();
  env.ok(t, 'rm', '-f', 'opkill');
  t.deepEqual(env.leftovers(['opkill']), []);
});

serial('vigil-init killed while its own container\'s exits fill the ring buffer: the next monitor finds it gone, says so, and restarts the container', async (t) => {
  env.ok(t, 'run', env.writeSpec('noisy', env.spec('noisy', [{ name: 'p', command: ['/bin/sleep', '600'] }])));
  const lostBefore = dropCounts(env.store.pinDir).lost.exit;
  // The storm fills the ring buffer and this container's share of the overflow.
  env.ok(t, 'exec', 'noisy', '--', TESTBIN_IN_CONTAINER, 'storm', '30000');
  t.true(dropCounts(env.store.pinDir).lost.exit > lostBefore, 'the storm filled the ring buffer and its overflow share');
  const init = env.inspect(t, 'noisy').pid!;
  process.kill(init, 'SIGKILL'); // not the operator: the container must come back
  const monitor = env.startMonitor();
  const line = await monitor.waitFor((l) => l.container === 'noisy' && l.process === null && l.pid === init, 15_000);
  t.is(line.kind, 'lost', line.reason);
  t.is(line.action, 'restart-container');
  await monitor.waitFor((l) => l.container === 'noisy' && l.kind === 'restart' && l.process === null, 15_000);
  const after = env.inspect(t, 'noisy');
  t.is(after.state, 'running');
  t.not(after.pid, init);
  t.is(after.processes[0].state, 'running');
  await monitor.stop();
  env.ok(t, 'rm', '-f', 'noisy');
  t.deepEqual(env.leftovers(['noisy']), []);
});

serial('another container\'s exit storm fills the ring buffer while no monitor runs: this container\'s exits wait in the overflow and reach the next monitor whole', async (t) => {
  env.ok(t, 'run', env.writeSpec('noisy2', env.spec('noisy2', [{ name: 'p', command: ['/bin/sleep', '600'] }])));
  env.ok(t, 'run', env.writeSpec('quiet', env.spec('quiet', [
    { name: 'q', command: ['/bin/sleep', '600'], restart: 'always' },
    { name: 'r', command: ['/bin/sh', '-c', 'sleep 2; exit 42'], restart: 'never' },
  ])));
  const before = env.inspect(t, 'quiet');
  const q = before.processes.find((p) => p.name === 'q')!.pid!;
  const r = before.processes.find((p) => p.name === 'r')!.pid!;
  const lostBefore = dropCounts(env.store.pinDir).lost.exit;
  env.ok(t, 'exec', 'noisy2', '--', TESTBIN_IN_CONTAINER, 'storm', '30000');
  t.true(dropCounts(env.store.pinDir).lost.exit > lostBefore, 'the storm filled the ring buffer (and its own overflow share)');
  process.kill(q, 'SIGKILL');
  while (fs.existsSync(`/proc/${r}`)) await sleep(50); // r exits 42 meanwhile, the ring buffer still full
  const lostAfter = dropCounts(env.store.pinDir).lost.exit;
  const monitor = env.startMonitor();
  const killed = await monitor.waitFor((l) => l.container === 'quiet' && l.pid === q, 15_000);
  t.is(killed.kind, 'exit', killed.reason);
  t.is(killed.signal, 'SIGKILL');
  t.is(killed.action, 'restart');
  const exited = await monitor.waitFor((l) => l.container === 'quiet' && l.pid === r, 15_000);
  t.is(exited.kind, 'exit', exited.reason);
  t.is(exited.code, 42);
  await monitor.waitFor((l) => l.container === 'quiet' && l.kind === 'restart' && l.process === 'q', 15_000);
  t.is(dropCounts(env.store.pinDir).lost.exit, lostAfter, 'nothing more lost');
  t.false(monitor.lines.some((l) => l.kind === 'lost' && l.container === 'quiet'), 'nothing of quiet found only by reconciliation');
  await monitor.stop();
  env.ok(t, 'rm', '-f', 'noisy2');
  env.ok(t, 'rm', '-f', 'quiet');
  t.deepEqual(env.leftovers(['noisy2', 'quiet']), []);
});
