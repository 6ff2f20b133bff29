/**
 * A full ring buffer while no monitor runs: the drops are counted in the
 * kernel and reported by the next monitor, once, as what they are.
 */
import test from 'ava';
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

serial('vigil-init killed while the ring buffer is full: the next monitor finds it gone, says so, and restarts the container', async (t) => {
  env.ok(t, 'run', env.writeSpec('noisy', env.spec('noisy', [{ name: 'p', command: ['/bin/sleep', '600'] }])));
  env.ok(t, 'run', env.writeSpec('quiet', env.spec('quiet', [{ name: 'q', command: ['/bin/sleep', '600'], restart: 'always' }])));
  const lostBefore = dropCounts(env.store.pinDir).lost.exit;
  env.ok(t, 'exec', 'noisy', '--', TESTBIN_IN_CONTAINER, 'storm', '30000');
  t.true(dropCounts(env.store.pinDir).lost.exit > lostBefore, 'the storm filled the ring buffer');
  const init = env.inspect(t, 'quiet').pid!;
  process.kill(init, 'SIGKILL'); // not the operator: the container must come back
  const monitor = env.startMonitor();
  const line = await monitor.waitFor((l) => l.container === 'quiet' && l.process === null && l.pid === init, 15_000);
  t.is(line.kind, 'lost', line.reason);
  t.is(line.action, 'restart-container');
  await monitor.waitFor((l) => l.container === 'quiet' && l.kind === 'restart' && l.process === null, 15_000);
  const after = env.inspect(t, 'quiet');
  t.is(after.state, 'running');
  t.not(after.pid, init);
  t.is(after.processes[0].state, 'running');
  await monitor.stop();
  env.ok(t, 'rm', '-f', 'noisy');
  env.ok(t, 'rm', '-f', 'quiet');
  t.deepEqual(env.leftovers(['noisy', 'quiet']), []);
});
