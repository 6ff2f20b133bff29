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

  const from = monitor.lines.length;
  fs.rmSync(flag);
  const bad = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'hc' && l.status === 'unhealthy', 10_000, from);
  t.is(bad.pid, web.pid);
  t.is(bad.alert, true);
  t.regex(bad.reason, /^unhealthy: 2 failed check\(s\) in a row, the last exit 1 .*No such file or directory.*; killing it so that its restart policy restarts it$/);
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'web' && l.pid === web.pid, 10_000, from);
  t.is(exit.signal, 'SIGKILL');
  t.is(exit.action, 'restart');
  t.regex(exit.reason, /always: restart 1 in 10 ms/);
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'web', 10_000, from);
  // Failing since before the restart: the new process turns unhealthy too, and is restarted again, backing off.
  fs.writeFileSync(flag, 'fine again\n');
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
    health: { exec: [TESTBIN_IN_CONTAINER, 'sleep', '30'], interval: '500ms', timeout: '150ms', retries: 1, onFailure: 'alert' },
  }]);
  const svc = env.inspect(t, 'slowcheck').processes[0];
  const bad = await monitor.waitFor((l) => l.kind === 'health' && l.container === 'slowcheck' && l.status === 'unhealthy', 10_000);
  t.regex(bad.reason, /the last timed out after 150 ms, killed/);
  t.regex(bad.reason, /alert only, left running/);
  t.is(bad.alert, true);
  // The killed check is gone from the container's cgroup: only init and the process remain.
  await new Promise((r) => setTimeout(r, 100));
  const s = env.store.read('slowcheck');
  const procs = cgroupProcs(t, 'slowcheck').filter((pid) => pid !== s.init!.pid && pid !== svc.pid);
  // A check may be running right now (every 500 ms); none may be older than its timeout.
  for (const pid of procs) {
    const age = uptimeSeconds() - startSeconds(pid);
    t.true(age < 0.5, `pid ${pid} has lived ${age}s`);
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
