/**
 * Supervision on the real kernel: a critical process takes its container
 * with it; exec health checks run inside the container, a failing one gets
 * its process restarted under its back-off, a hung one is killed; dependsOn
 * orders starts and restarts (checked from inside, by the processes' own
 * CLOCK_MONOTONIC stamps); a notify watchdog catches a hung process.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { KernelEnv, TESTBIN_IN_CONTAINER, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('supervision tests');

const env = missing ? null! : new KernelEnv('supervision');
let monitor: MonitorProcess;
/** A host directory bound into the containers at /run/shared, writable. */
let shared: string;
test.after.always(() => env?.cleanup());

const fast = { policy: 'always', backoff: { initial: '10ms' } };

test.before(async () => {
  if (missing) return;
  shared = path.join(env.root, 'shared');
  fs.mkdirSync(shared);
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
});

function run(t: import('ava').ExecutionContext, name: string, processes: unknown[], extra: Record<string, unknown> = {}): void {
  const spec = env.spec(name, processes, extra) as { mounts: unknown[] };
  spec.mounts.push({ source: shared, target: '/run/shared' });
  env.ok(t, 'run', env.writeSpec(name, spec));
}

function cgroupProcs(t: import('ava').ExecutionContext, name: string): number[] {
  const s = env.store.read(name);
  t.truthy(s.cgroup);
  return fs.readFileSync(path.join(s.cgroup!.v2, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
}

serial('the death of a critical process restarts its whole container, with the reason journaled', async (t) => {
  run(t, 'crit', [
    { name: 'boss', command: [TESTBIN_IN_CONTAINER, 'serve'], critical: true, restart: fast },
    { name: 'aide', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
  ]);
  const before = env.inspect(t, 'crit');
  const boss = before.processes.find((p) => p.name === 'boss')!;
  const from = monitor.lines.length;
  process.kill(boss.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'boss' && l.pid === boss.pid, 10_000, from);
  t.is(exit.action, 'restart-container');
  t.regex(exit.reason, /^killed by SIGKILL from .*: boss is critical, restarting the container/);
  const restarted = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'crit' && l.process === null, 20_000, from);
  t.regex(restarted.reason, /container restarted \(critical process boss died\)/);
  // The process itself was not restarted on its own.
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.process === 'boss'));
  const after = env.inspect(t, 'crit');
  t.is(after.state, 'running');
  t.not(after.pid, before.pid);
  for (const p of after.processes) {
    t.is(p.state, 'running');
    t.not(p.pid, before.processes.find((q) => q.name === p.name)!.pid);
  }
  const events = env.ok(t, 'events', '--json').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; process: string | null; reason: string });
  t.truthy(events.find((e) => e.kind === 'exit' && e.process === 'boss' && /critical/.test(e.reason)));
  env.ok(t, 'rm', '-f', 'crit');
});

serial('an operator stop of a critical process is still never answered', async (t) => {
  run(t, 'critstop', [
    { name: 'boss', command: [TESTBIN_IN_CONTAINER, 'serve'], critical: true, restart: fast },
  ]);
  const before = env.inspect(t, 'critstop');
  const from = monitor.lines.length;
  env.ok(t, 'stop', 'critstop', 'boss', '-t', '1');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'boss', 10_000, from);
  t.is(exit.action, 'leave');
  t.regex(exit.reason, /operator stop/);
  await new Promise((r) => setTimeout(r, 500));
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.container === 'critstop'));
  const after = env.inspect(t, 'critstop');
  t.is(after.pid, before.pid);
  t.is(after.processes[0].state, 'stopped');
  env.ok(t, 'rm', '-f', 'critstop');
});

serial('an exec health check that starts failing restarts the process under its back-off, journaled as health', async (t) => {
  const flag = path.join(shared, 'web-ok');
  fs.writeFileSync(flag, 'fine\n');
  run(t, 'hc', [{
    name: 'web', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast,
    health: { exec: [TESTBIN_IN_CONTAINER, 'cat', '/run/shared/web-ok'], interval: '300ms', timeout: '250ms', retries: 2, onFailure: 'restart' },
  }]);
  const web = env.inspect(t, 'hc').processes[0];
  const healthy = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'hc' && l.status === 'healthy', 10_000);
  t.is(healthy.pid, web.pid);
  t.regex(healthy.reason, /^healthy \(exit 0 \("testbin cat 0 pid \d+ fine"\)\)$/);
  let view = env.inspect(t, 'hc').processes[0] as unknown as { health: { status: string; lastResult: string } };
  t.is(view.health.status, 'healthy');
  t.regex(view.health.lastResult, /^exit 0/);
  // The control snapshot shows the same.
  const { ControlClient } = await import('../../src/control/client.js');
  const client = await ControlClient.connect(env.root);
  const snap = await client.snapshot();
  client.close();
  const inSnap = snap.containers.find((c) => c.name === 'hc')!.processes[0] as unknown as { health: { status: string } };
  t.is(inSnap.health.status, 'healthy');

  const from = monitor.lines.length;
  fs.rmSync(flag);
  const bad = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'hc' && l.status === 'unhealthy', 10_000, from);
  t.is(bad.pid, web.pid);
  t.is(bad.alert, true);
  t.regex(bad.reason, /^unhealthy: 2 failed check\(s\) in a row, the last exit 1 .*No such file or directory.*; killing it so that its restart policy restarts it$/);
  // Fixed at once: the replacement's checks pass from the first.
  fs.writeFileSync(flag, 'fine again\n');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'web' && l.pid === web.pid, 10_000, from);
  t.is(exit.signal, 'SIGKILL');
  t.is(exit.action, 'restart');
  t.regex(exit.reason, /always: restart 1 in 10 ms/);
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'web', 10_000, from);
  const again = await monitor.waitFor((l) => l.kind === 'health' && l.process === 'web' && l.status === 'healthy', 10_000, from);
  t.is(again.pid, restart.pid);
  view = env.inspect(t, 'hc').processes[0] as unknown as { health: { status: string; lastResult: string } };
  t.is(view.health.status, 'healthy');
  const events = env.ok(t, 'events', '--json').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; process: string | null; status?: string });
  t.deepEqual(events.filter((e) => e.kind === 'health' && e.process === 'web').map((e) => e.status), ['healthy', 'unhealthy', 'healthy']);
  env.ok(t, 'rm', '-f', 'hc');
});

serial('a check that outlives its timeout is killed inside the container and counts as failed; alert leaves the process alone', async (t) => {
  run(t, 'slowcheck', [{
    name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast,
    // The check starts children of its own: they are killed with it.
    health: { exec: [TESTBIN_IN_CONTAINER, 'fork', '2'], interval: '500ms', timeout: '150ms', retries: 1, onFailure: 'alert' },
  }]);
  const svc = env.inspect(t, 'slowcheck').processes[0];
  const bad = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'slowcheck' && l.status === 'unhealthy', 10_000);
  t.regex(bad.reason, /the last timed out after 150 ms, killed/);
  t.regex(bad.reason, /alert only, left running/);
  t.is(bad.alert, true);
  // Killed checks (and what they started) are gone from the container's
  // cgroup: besides init and the process, only a check running now, younger
  // than its timeout and a little, may be there.
  await new Promise((r) => setTimeout(r, 1200));
  const s = env.store.read('slowcheck');
  const procs = cgroupProcs(t, 'slowcheck').filter((pid) => pid !== s.init!.pid && pid !== svc.pid);
  // A check may be running right now (every 500 ms); none may be older than its timeout.
  for (const pid of procs) {
    const age = uptimeSeconds() - startSeconds(pid);
    t.true(age < 0.4, `pid ${pid} has lived ${age}s`);
  }
  t.is(env.inspect(t, 'slowcheck').processes[0].pid, svc.pid);
  t.false(monitor.lines.some((l) => l.kind === 'exit' && l.container === 'slowcheck'));
  env.ok(t, 'rm', '-f', 'slowcheck');
});

function uptimeSeconds(): number {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

function startSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) / 100;
  } catch {
    return Infinity;
  }
}

interface Stamp {
  tag: string;
  ns: bigint;
}

function stamps(file: string): Stamp[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [tag, ns] = l.split(' ');
    return { tag, ns: BigInt(ns) };
  });
}

async function until(t: import('ava').ExecutionContext, what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) return void t.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

serial('dependsOn: start in dependency order, each after what it depends on is ready; restarts take the dependents along, in order', async (t) => {
  const order = path.join(shared, 'order');
  const ready = path.join(shared, 'db-ready');
  const stamp = (tag: string) => [TESTBIN_IN_CONTAINER, 'stamp', '/run/shared/order', tag];
  const spec = env.spec('deps', [
    { name: 'web', command: stamp('web'), dependsOn: ['api'], restart: fast },
    { name: 'api', command: stamp('api'), dependsOn: ['db'], restart: fast },
    { name: 'solo', command: stamp('solo'), restart: fast },
    { name: 'db', command: stamp('db'), restart: fast, health: { exec: [TESTBIN_IN_CONTAINER, 'cat', '/run/shared/db-ready'], interval: '200ms', timeout: '150ms', retries: 3, startPeriod: '10s' } },
  ]) as { mounts: unknown[] };
  spec.mounts.push({ source: shared, target: '/run/shared' });
  const file = env.writeSpec('deps', spec);
  const { spawn } = await import('node:child_process');
  const { VIGIL } = await import('../helpers/kernel-env.js');
  const runner = spawn(process.execPath, [VIGIL, 'run', file], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let runErr = '';
  runner.stderr.setEncoding('utf8').on('data', (d: string) => (runErr += d));
  const ran = new Promise<number | null>((r) => runner.on('close', r));

  // db is up but not healthy: api and web are held back, solo is not.
  await until(t, 'solo and db started', () => stamps(order).length >= 2);
  await new Promise((r) => setTimeout(r, 600));
  t.deepEqual(stamps(order).map((s) => s.tag), ['solo', 'db']);
  const held = env.inspect(t, 'deps').processes as unknown as Array<{ name: string; state: string; waitingFor: string[] | null }>;
  t.like(held.find((p) => p.name === 'api'), { state: 'starting', waitingFor: ['db'] });
  t.like(held.find((p) => p.name === 'web'), { state: 'starting', waitingFor: ['api'] });
  const readyAt = process.hrtime.bigint();
  fs.writeFileSync(ready, 'yes\n');
  t.is(await ran, 0, runErr);
  const first = stamps(order);
  t.deepEqual(first.map((s) => s.tag), ['solo', 'db', 'api', 'web']);
  t.true(first[2].ns > readyAt, 'api started only after db was healthy');
  t.true(first[3].ns > first[2].ns);
  for (const p of env.inspect(t, 'deps').processes) t.is(p.state, 'running', p.name);

  // db dies: its policy restarts it, then api, then web, in that order; solo stays.
  const before = env.inspect(t, 'deps');
  const pidOf = (i: typeof before, n: string) => i.processes.find((p) => p.name === n)!.pid;
  const from = monitor.lines.length;
  process.kill(pidOf(before, 'db')!, 'SIGKILL');
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'deps' && l.process === 'web', 20_000, from);
  const second = stamps(order).slice(first.length);
  t.deepEqual(second.map((s) => s.tag), ['db', 'api', 'web']);
  t.true(second[0].ns < second[1].ns && second[1].ns < second[2].ns);
  const lines = monitor.lines.slice(from).filter((l) => l.container === 'deps');
  for (const n of ['api', 'web']) {
    const exit = lines.find((l) => l.kind === 'exit' && l.process === n);
    t.is(exit?.action, 'leave', `${n} was stopped on purpose, not answered by its own policy`);
    t.regex(exit!.reason, /restarted along with db, started again once/);
    t.regex(lines.find((l) => l.kind === 'restart' && l.process === n)!.reason, /^along with db: started as pid \d+ after/);
  }
  const after = env.inspect(t, 'deps');
  t.is(pidOf(after, 'solo'), pidOf(before, 'solo'));
  for (const n of ['db', 'api', 'web']) t.not(pidOf(after, n), pidOf(before, n));
  t.is(after.processes.find((p) => p.name === 'api')!.restarts, 1);

  // The operator restarts api: web follows it; db is left alone.
  const from2 = monitor.lines.length;
  env.ok(t, 'restart', 'deps', 'api', '-t', '2');
  const third = stamps(order).slice(first.length + second.length);
  t.deepEqual(third.map((s) => s.tag), ['api', 'web']);
  const last = env.inspect(t, 'deps');
  t.is(pidOf(last, 'db'), pidOf(after, 'db'));
  t.not(pidOf(last, 'web'), pidOf(after, 'web'));
  await new Promise((r) => setTimeout(r, 500));
  t.false(monitor.lines.slice(from2).some((l) => l.kind === 'restart' && l.container === 'deps'), 'the monitor answered none of those exits');
  env.ok(t, 'rm', '-f', 'deps');
});

serial('notify watchdog: READY=1 releases dependents; a process that stops sending WATCHDOG=1 is hung, aborted and restarted', async (t) => {
  const order = path.join(shared, 'wd-order');
  run(t, 'wd', [
    { name: 'after', command: [TESTBIN_IN_CONTAINER, 'stamp', '/run/shared/wd-order', 'after'], dependsOn: ['hb'], restart: fast },
    // READY=1, then WATCHDOG=1 every 100 ms for about a second, then silence.
    { name: 'hb', command: [TESTBIN_IN_CONTAINER, 'notify', '100', '10'], watchdog: { interval: '500ms' }, restart: fast },
  ]);
  const first = env.inspect(t, 'wd');
  const hb = first.processes.find((p) => p.name === 'hb')!;
  const ready = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'wd' && l.status === 'ready', 10_000);
  t.is(ready.pid, hb.pid);
  t.regex(ready.reason, /^READY=1: ready; STATUS=serving$/);
  t.deepEqual(stamps(order).map((s) => s.tag), ['after'], 'the dependent started once READY=1 was heard');
  const afterStarted = Date.parse(first.processes.find((p) => p.name === 'after')!.startedAt!);
  t.true(afterStarted >= Date.parse(ready.time as string) - 50, 'the dependent started after READY=1');
  const view = first.processes.find((p) => p.name === 'hb') as unknown as { watchdog: { intervalMs: number } };
  t.is(view.watchdog.intervalMs, 500);
  const said = /WATCHDOG_USEC=(\S+) WATCHDOG_PID=(\S+) getpid=(\d+)/.exec(fs.readFileSync(env.store.logFile('wd', 'hb'), 'utf8'));
  t.truthy(said);
  t.is(said![1], '500000');
  t.is(said![2], said![3], 'WATCHDOG_PID is the process\'s own pid, as it sees it');

  const hung = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'wd' && l.status === 'hung', 10_000);
  t.is(hung.pid, hb.pid);
  t.regex(hung.reason, /^watchdog: no WATCHDOG=1 for \d+ ms \(interval 500 ms\): hung, sending SIGABRT/);
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'hb' && l.pid === hb.pid, 10_000);
  t.is(exit.signal, 'SIGABRT');
  t.is(exit.action, 'restart');
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'wd' && l.process === 'hb', 10_000);
  t.not(restart.pid, hb.pid);
  // The hang was judged from the last ping: about one interval after the pings stopped, never before.
  const lastPingToHung = Date.parse(hung.time as string) - Date.parse(ready.time as string);
  t.true(lastPingToHung >= 1000 + 500 - 150, `hung ${lastPingToHung} ms after READY`);
  // its dependent was restarted along with it, after its new READY=1
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'wd' && l.process === 'after', 10_000);
  t.deepEqual(stamps(order).map((s) => s.tag), ['after', 'after']);
  env.ok(t, 'rm', '-f', 'wd');
});

serial('an operator stop of a watchdog process is never answered, nor judged hung', async (t) => {
  run(t, 'wdstop', [{ name: 'hb', command: [TESTBIN_IN_CONTAINER, 'notify', '100', '0'], watchdog: { interval: '300ms' }, restart: fast }]);
  const hb = env.inspect(t, 'wdstop').processes[0];
  await monitor.waitFor((l) => l.kind === 'health' && l.container === 'wdstop' && l.status === 'ready', 10_000);
  const from = monitor.lines.length;
  env.ok(t, 'stop', 'wdstop', 'hb', '-t', '1');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'wdstop' && l.pid === hb.pid, 10_000, from);
  t.is(exit.action, 'leave');
  t.regex(exit.reason, /operator stop/);
  await new Promise((r) => setTimeout(r, 1000));
  const later = monitor.lines.slice(from).filter((l) => l.container === 'wdstop');
  t.false(later.some((l) => l.kind === 'restart' || (l.kind === 'health' && l.status === 'hung')));
  t.is(env.inspect(t, 'wdstop').processes[0].state, 'stopped');
  env.ok(t, 'rm', '-f', 'wdstop');
});

serial('a monitor killed with -9 is replaced: the new one rebinds the notify socket, hears the pings, and catches the hang', async (t) => {
  // READY=1, then WATCHDOG=1 every 100 ms for 4 s, then silence.
  run(t, 'wdup', [{ name: 'hb', command: [TESTBIN_IN_CONTAINER, 'notify', '100', '40'], watchdog: { interval: '600ms' }, restart: fast }]);
  const hb = env.inspect(t, 'wdup').processes[0];
  await monitor.waitFor((l) => l.kind === 'health' && l.container === 'wdup' && l.status === 'ready', 10_000);
  await monitor.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 300)); // pings go unheard (refused) meanwhile
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
  const hung = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'wdup' && l.status === 'hung', 15_000);
  t.is(hung.pid, hb.pid);
  t.notRegex(hung.reason, /none heard yet/, 'the new monitor heard the pings through the rebound socket');
  // Not before the pings stopped: 4 s after the start at the earliest.
  t.true(Date.parse(hung.time as string) - Date.parse(hb.startedAt!) >= 4000, hung.reason);
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'wdup' && l.pid === hb.pid, 10_000);
  t.is(exit.signal, 'SIGABRT');
  const restarts = () => monitor.lines.filter((l) => l.kind === 'restart' && l.container === 'wdup');
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'wdup', 10_000);
  await new Promise((r) => setTimeout(r, 300));
  t.is(restarts().length, 1, 'restarted exactly once');
  env.ok(t, 'rm', '-f', 'wdup');
});

serial('a process held for its dependencies by a command that died is started by the monitor', async (t) => {
  const spec = env.spec('orphan', [
    { name: 'dep', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast, health: { exec: [TESTBIN_IN_CONTAINER, 'cat', '/run/shared/never'], interval: '200ms', timeout: '100ms' } },
    { name: 'user', command: [TESTBIN_IN_CONTAINER, 'serve'], dependsOn: ['dep'], restart: fast },
  ]) as { mounts: unknown[] };
  spec.mounts.push({ source: shared, target: '/run/shared' });
  const file = env.writeSpec('orphan', spec);
  const { spawn } = await import('node:child_process');
  const { VIGIL } = await import('../helpers/kernel-env.js');
  const runner = spawn(process.execPath, [VIGIL, 'run', file], { env: env.env, stdio: 'ignore' });
  await until(t, 'user held', () => env.store.tryRead('orphan')?.processes.find((p) => p.name === 'user')?.waiting?.by.pid === runner.pid);
  const from = monitor.lines.length;
  runner.kill('SIGKILL');
  const note = await monitor.waitFor((l) => l.kind === 'monitor' && /orphan\/user: the command that held it back/.test(l.reason), 10_000, from);
  t.truthy(note);
  const started = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'orphan' && l.process === 'user', 10_000, from);
  const user = env.inspect(t, 'orphan').processes.find((p) => p.name === 'user')!;
  t.is(user.state, 'running');
  t.is(user.pid, started.pid);
  env.ok(t, 'rm', '-f', 'orphan');
});

serial('health onFailure restart-container restarts the whole container', async (t) => {
  run(t, 'hcc', [
    { name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast, health: { exec: [TESTBIN_IN_CONTAINER, 'exit', '1'], interval: '200ms', timeout: '150ms', retries: 2, onFailure: 'restart-container' } },
  ]);
  const before = env.inspect(t, 'hcc');
  const bad = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'hcc' && l.status === 'unhealthy', 10_000);
  t.regex(bad.reason, /restarting the container/);
  const restarted = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'hcc' && l.process === null, 20_000);
  t.regex(restarted.reason, /container restarted \(svc is unhealthy\)/);
  t.not(env.inspect(t, 'hcc').pid, before.pid);
  env.ok(t, 'rm', '-f', 'hcc');
  t.deepEqual(env.leftovers(['crit', 'critstop', 'hc', 'slowcheck', 'deps', 'wd', 'wdstop', 'wdup', 'orphan', 'hcc']), []);
});
