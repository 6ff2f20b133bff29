/**
 * Records left by a launcher killed half-way or by a container whose init
 * died while no monitor ran: every verb must still act on them truthfully,
 * with no monitor to tidy up behind it. (Found by trying to break vigil.)
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelEnv, VIGIL } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { ticksSinceBoot } from '../../src/monitor/adopt.js';

const { serial, missing } = kernelSerial('interrupted-launcher tests');
const env = missing ? null! : new KernelEnv('interrupted');
test.after.always(() => env?.cleanup());

const sleeper = (name: string) => ({ name, command: ['/bin/sleep', '600'], restart: 'always' });

/** The processes in a container's v2 cgroup that are direct children of its init, by VIGIL_PROCESS. */
function namedChildren(name: string, initPid: number): string[] {
  const v2 = path.join(env.parentDirs()[0], name, 'cgroup.procs');
  const names: string[] = [];
  for (const pid of fs.readFileSync(v2, 'utf8').split('\n').filter(Boolean)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== initPid) continue;
      const tag = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((kv) => kv.startsWith('VIGIL_PROCESS='));
      if (tag) names.push(tag.slice('VIGIL_PROCESS='.length));
    } catch {
      // gone meanwhile
    }
  }
  return names.sort();
}

function gone(pid: number): boolean {
  try {
    return /^State:\s+[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Start `vigil start NAME` and SIGKILL it as soon as the state records vigil-init, before the processes are all started. */
async function killStartAfterInit(name: string): Promise<void> {
  const child = spawn(process.execPath, [VIGIL, 'start', name], { env: env.env, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !env.store.tryRead(name)?.init) await sleep(1);
  child.kill('SIGKILL');
  await exited;
}

serial('a start killed after vigil-init was made: start and stop act on the record, never "already stopped"', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  env.ok(t, 'run', env.writeSpec('half', { name: 'half', processes: names.map(sleeper) }));
  env.ok(t, 'stop', '-t', '1', 'half');

  await killStartAfterInit('half');
  const record = env.store.read('half');
  t.truthy(record.init, 'the killed start had recorded vigil-init');
  t.not(record.state, 'running', 'and had not finished');
  // whatever the record says, `start` finishes the job: every process exactly once
  const started = env.cli('start', 'half');
  t.is(started.status, 0, started.stderr);
  const after = env.inspect(t, 'half');
  t.is(after.state, 'running');
  t.deepEqual(after.processes.map((p) => p.state), names.map(() => 'running'));
  t.deepEqual(namedChildren('half', after.pid!), names);

  // and `stop` also acts on such a record
  env.ok(t, 'stop', '-t', '1', 'half');
  await killStartAfterInit('half');
  t.truthy(env.store.read('half').init);
  const stopped = env.cli('stop', '-t', '1', 'half');
  t.is(stopped.status, 0, stopped.stderr);
  t.is(env.inspect(t, 'half').state, 'stopped');
  t.false(fs.existsSync(path.join(env.parentDirs()[0], 'half')), 'a stopped container has no cgroup, so nothing runs in it');
  env.ok(t, 'rm', 'half');
  t.deepEqual(env.leftovers(['half']), []);
});

serial('starting a process of a container whose init died (no monitor) says the container is not running', (t) => {
  env.ok(t, 'run', env.writeSpec('orphan', { name: 'orphan', processes: [sleeper('a'), sleeper('b')] }));
  const before = env.inspect(t, 'orphan');
  process.kill(before.pid!, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !gone(before.pid!)) { /* a SIGKILL takes effect within moments */ }
  t.is(env.inspect(t, 'orphan').state, 'stopped');
  const r = env.cli('start', 'orphan', 'a');
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /container "orphan" is not running/);
  // and a whole start brings it back
  env.ok(t, 'start', 'orphan');
  t.deepEqual(env.inspect(t, 'orphan').processes.map((p) => p.state), ['running', 'running']);
  env.ok(t, 'rm', '-f', 'orphan');
  t.deepEqual(env.leftovers(['orphan']), []);
});

serial('a monitor killed while its helper restarts a process: the next one waits for that helper, never starts a second copy', async (t) => {
  env.ok(t, 'run', env.writeSpec('inflight', { name: 'inflight', processes: [{ name: 'p', command: ['/bin/sleep', '600'], restart: { policy: 'always', backoff: { initial: '10ms' } } }] }));
  const freeze = path.join(env.parentDirs()[0], 'inflight', 'cgroup.freeze');
  const first = env.startMonitor();
  await first.waitFor((l) => l.kind === 'monitor');
  let second: ReturnType<KernelEnv['startMonitor']> | null = null;
  t.teardown(() => second?.stop());
  const before = env.inspect(t, 'inflight');
  // A frozen cgroup holds the replacement before it execs, so the monitor's
  // helper stays in flight (waiting for it) for as long as the test wants.
  fs.writeFileSync(freeze, '1');
  try {
    process.kill(before.processes[0].pid!, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && env.store.read('inflight').processes[0].state !== 'starting') await sleep(5);
    t.is(env.store.read('inflight').processes[0].state, 'starting');
    await sleep(200);
    await first.stop('SIGKILL');
    second = env.startMonitor();
    await second.waitFor((l) => l.kind === 'monitor');
    await sleep(2500); // a reconciliation sees "starting" while the old helper is still in flight
  } finally {
    fs.writeFileSync(freeze, '0');
  }
  await sleep(2500); // and the next one resolves it
  const after = env.inspect(t, 'inflight');
  t.is(after.processes[0].state, 'running');
  t.deepEqual(namedChildren('inflight', after.pid!), ['p'], 'one copy of p, not two');
  env.ok(t, 'rm', '-f', 'inflight');
  t.deepEqual(env.leftovers(['inflight']), []);
});

serial('concurrent restarts of one container: each succeeds or says why, and the container ends up running, once', async (t) => {
  const names = ['a', 'b', 'c'];
  env.ok(t, 'run', env.writeSpec('contended', { name: 'contended', processes: names.map(sleeper) }));
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all([0, 1, 2, 3].map(() => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [VIGIL, 'restart', '-t', '1', 'contended'], { env: env.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('exit', (status) => resolve({ status, stderr }));
    })));
    for (const r of results) t.true(r.status === 0 || (r.status === 1 && /being stopped by another|already running/.test(r.stderr)), `round ${round}: ${r.status} ${r.stderr}`);
    t.true(results.some((r) => r.status === 0), `round ${round}: one restart succeeds`);
    const after = env.inspect(t, 'contended');
    t.is(after.state, 'running', `round ${round}`);
    t.deepEqual(after.processes.map((p) => p.state), names.map(() => 'running'), `round ${round}`);
    t.deepEqual(namedChildren('contended', after.pid!), names, `round ${round}`);
  }
  env.ok(t, 'rm', '-f', 'contended');
  t.deepEqual(env.leftovers(['contended']), []);
});

serial('logs -f ends when its container is removed, instead of polling for ever', async (t) => {
  env.ok(t, 'run', '--name', 'chatty', '--', '/bin/sh', '-c', 'while true; do echo tick; sleep 0.1; done');
  const follower = spawn(process.execPath, [VIGIL, 'logs', '-f', 'chatty'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  follower.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => follower.once('exit', (code) => r(code)));
  await sleep(500);
  env.ok(t, 'rm', '-f', 'chatty');
  const code = await Promise.race([exited, sleep(3000).then(() => 'still running' as const)]);
  if (code === 'still running') follower.kill('SIGKILL');
  t.is(code, 0);
  t.regex(out, /tick/);
  t.deepEqual(env.leftovers(['chatty']), []);
});

serial('an operator restart of a process whose restart a dying monitor left in flight ends with one copy', async (t) => {
  env.ok(t, 'run', env.writeSpec('raced', { name: 'raced', processes: [{ name: 'p', command: ['/bin/sleep', '600'], restart: { policy: 'always', backoff: { initial: '10ms' } } }] }));
  const freeze = path.join(env.parentDirs()[0], 'raced', 'cgroup.freeze');
  const monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
  const before = env.inspect(t, 'raced');
  fs.writeFileSync(freeze, '1'); // holds the monitor's replacement before it execs, its helper in flight
  let restart: Promise<number | null>;
  try {
    process.kill(before.processes[0].pid!, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && env.store.read('raced').processes[0].state !== 'starting') await sleep(5);
    await sleep(200);
    await monitor.stop('SIGKILL'); // it will never record, nor kill, what its helper starts
    const child = spawn(process.execPath, [VIGIL, 'restart', 'raced', 'p'], { env: env.env, stdio: 'ignore' });
    restart = new Promise((r) => child.once('exit', (code) => r(code)));
    await sleep(1000);
  } finally {
    fs.writeFileSync(freeze, '0');
  }
  t.is(await restart, 0);
  await sleep(300);
  const after = env.inspect(t, 'raced');
  t.is(after.processes[0].state, 'running');
  t.deepEqual(namedChildren('raced', after.pid!), ['p'], 'one copy of p, not two');
  env.ok(t, 'rm', '-f', 'raced');
  t.deepEqual(env.leftovers(['raced']), []);
});

/** The children of a process (its first thread's), from /proc. */
function childrenOf(pid: number): number[] {
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

serial('a monitor killed mid-restart: the next one adopts the copy its helper started, never an orphan the dead copy left behind', async (t) => {
  // The dead copy's background child outlives it and is re-parented to
  // vigil-init, carrying VIGIL_PROCESS=p like the copy the helper starts.
  const command = ['/bin/sh', '-c', '/bin/sleep 600 & exec /bin/sleep 601'];
  env.ok(t, 'run', env.writeSpec('orphans', { name: 'orphans', processes: [{ name: 'p', command, restart: { policy: 'always', backoff: { initial: '10ms' } } }] }));
  const freeze = path.join(env.parentDirs()[0], 'orphans', 'cgroup.freeze');
  const first = env.startMonitor();
  await first.waitFor((l) => l.kind === 'monitor');
  let second: ReturnType<KernelEnv['startMonitor']> | null = null;
  t.teardown(() => second?.stop());
  const before = env.inspect(t, 'orphans');
  const main = before.processes[0].pid!;
  const deadlineChild = Date.now() + 5000;
  while (Date.now() < deadlineChild && childrenOf(main).length === 0) await sleep(10);
  const [orphan] = childrenOf(main);
  t.truthy(orphan, 'the first copy has a background child');
  fs.writeFileSync(freeze, '1'); // holds the replacement before it execs, the monitor's helper in flight
  try {
    process.kill(main, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && env.store.read('orphans').processes[0].state !== 'starting') await sleep(5);
    t.is(env.store.read('orphans').processes[0].state, 'starting');
    await sleep(200);
    await first.stop('SIGKILL'); // its helper finishes the start, nobody records it
  } finally {
    fs.writeFileSync(freeze, '0');
  }
  second = env.startMonitor();
  const adopted = await second.waitFor((l) => l.kind === 'restart' && l.process === 'p', 10_000);
  const after = env.inspect(t, 'orphans');
  t.is(after.processes[0].state, 'running');
  t.is(after.processes[0].pid, adopted.pid);
  t.not(adopted.pid, orphan, `adopted the orphan of the dead copy: ${adopted.reason}`);
  t.regex(fs.readFileSync(`/proc/${adopted.pid}/cmdline`, 'utf8'), /601/, 'the adopted process is the new copy (sleep 601)');
  t.deepEqual(namedChildren('orphans', after.pid!), ['p', 'p'], 'the orphan and one new copy, no third');
  await second.stop();
  env.ok(t, 'rm', '-f', 'orphans');
  t.deepEqual(env.leftovers(['orphans']), []);
});

serial('a monitor restarted while a process backs off waits out the rest of its back-off, not restarting it at once', async (t) => {
  env.ok(t, 'run', env.writeSpec('patient', { name: 'patient', processes: [{ name: 'p', command: ['/bin/sleep', '600'], restart: { policy: 'always', backoff: { initial: '8s' } } }] }));
  const first = env.startMonitor();
  await first.waitFor((l) => l.kind === 'monitor');
  let second: ReturnType<KernelEnv['startMonitor']> | null = null;
  t.teardown(() => second?.stop());
  const before = env.inspect(t, 'patient');
  const diedAt = Date.now();
  process.kill(before.processes[0].pid!, 'SIGKILL');
  const exit = await first.waitFor((l) => l.kind === 'exit' && l.process === 'p');
  t.is(exit.action, 'restart');
  t.is(exit.delayMs, 8000);
  t.is(env.store.read('patient').processes[0].state, 'backing-off');
  await first.stop('SIGKILL');
  second = env.startMonitor();
  await second.waitFor((l) => l.kind === 'monitor');
  await sleep(1500); // a reconciliation has run: the back-off (8 s from the death) is not over yet
  t.is(env.store.read('patient').processes[0].state, 'backing-off', 'not restarted before its back-off ended');
  const restarted = await second.waitFor((l) => l.kind === 'restart' && l.process === 'p', 20_000);
  const afterMs = Date.now() - diedAt;
  t.true(afterMs >= 7900, `restarted ${afterMs} ms after the death`);
  t.truthy(restarted.pid);
  t.is(env.inspect(t, 'patient').processes[0].state, 'running');
  env.ok(t, 'rm', '-f', 'patient');
  t.deepEqual(env.leftovers(['patient']), []);
});

serial('a back-off kept from before a reboot (ticks since an earlier, longer boot) is waited out no longer than the policy\'s maximum', async (t) => {
  env.ok(t, 'run', env.writeSpec('rebooted', { name: 'rebooted', processes: [{ name: 'p', command: ['/bin/sleep', '600'], restart: { policy: 'always', backoff: { initial: '2s', max: '2s' } } }] }));
  const first = env.startMonitor();
  await first.waitFor((l) => l.kind === 'monitor');
  let second: ReturnType<KernelEnv['startMonitor']> | null = null;
  t.teardown(() => second?.stop());
  process.kill(env.inspect(t, 'rebooted').processes[0].pid!, 'SIGKILL');
  const exit = await first.waitFor((l) => l.kind === 'exit' && l.process === 'p');
  t.is(exit.delayMs, 2000);
  await first.stop('SIGKILL');
  // As a state root on disk holds it after a reboot: the time was counted
  // from a boot that ran ten days, this boot's ticks are far below it.
  const tenDaysOfTicks = 10 * 24 * 3600 * 100;
  env.store.update('rebooted', (s) => {
    s.processes[0].backoffUntil = ticksSinceBoot() + tenDaysOfTicks;
  });
  const startedAt = Date.now();
  second = env.startMonitor();
  await second.waitFor((l) => l.kind === 'monitor');
  const restarted = await second.waitFor((l) => l.kind === 'restart' && l.process === 'p', 30_000);
  const afterMs = Date.now() - startedAt;
  t.true(afterMs < 20_000, `restarted ${afterMs} ms after the monitor started (the policy's maximum is 2 s)`);
  t.truthy(restarted.pid);
  t.is(env.inspect(t, 'rebooted').processes[0].state, 'running');
  env.ok(t, 'rm', '-f', 'rebooted');
  t.deepEqual(env.leftovers(['rebooted']), []);
});

serial('vigil run with no monitor, held back on a dependency\'s health check: inspect shows the check it waited for', (t) => {
  env.ok(t, 'run', env.writeSpec('checked', {
    name: 'checked',
    processes: [
      { name: 'web', command: ['/bin/sleep', '600'], dependsOn: ['db'] },
      { name: 'db', command: ['/bin/sleep', '600'], health: { exec: ['/bin/true'], interval: '30s', timeout: '2s', retries: 1 } },
    ],
  }));
  const db = env.inspect(t, 'checked').processes.find((p) => p.name === 'db')! as unknown as { pid: number; health: { status: string; lastCheckAt: string | null; lastResult: string | null } };
  t.is(db.health.status, 'healthy', 'the check vigil run ran, not "starting" until a monitor checks');
  t.truthy(db.health.lastCheckAt);
  t.is(db.health.lastResult, 'exit 0');
  t.is(env.inspect(t, 'checked').processes.find((p) => p.name === 'web')!.state, 'running');
  env.ok(t, 'rm', '-f', 'checked');
  t.deepEqual(env.leftovers(['checked']), []);
});
