/**
 * The monitor on the real kernel: deaths come from the BPF tracer, are
 * attributed (signal and sender, exit code, OOM) and answered per policy by a
 * restart inside the same container; operator stops are not answered; a
 * monitor killed with -9 is replaced by one that drains what happened.
 */
import test from 'ava';
import fs from 'node:fs';
import { KernelEnv, TESTBIN_IN_CONTAINER, nsOf, ppidOf, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('monitor tests');

const env = missing ? null! : new KernelEnv('monitor');
let monitor: MonitorProcess;
test.after.always(() => env?.cleanup());

const fast = { policy: 'always', backoff: { initial: '10ms' } };

test.before(async () => {
  if (missing) return;
  const file = env.writeSpec('svc', env.spec('svc', [
    { name: 'api', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
    { name: 'crasher', command: [TESTBIN_IN_CONTAINER, 'exit', '3'], restart: { policy: 'on-failure', backoff: { initial: '10ms' }, giveUp: { deaths: 3, within: '1m', then: 'alert' } } },
    { name: 'oneshot', command: [TESTBIN_IN_CONTAINER, 'sleep', '1'], restart: 'never' },
    { name: 'hog', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
  ], { limits: { memory: '48M' } }));
  const r = env.cli('run', file);
  if (r.status !== 0) throw new Error(r.stderr);
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
});

serial('SIGKILL from the host: detected with signal and sender, restarted in the same container', async (t) => {
  const before = env.inspect(t, 'svc');
  const api = before.processes.find((p) => p.name === 'api')!;
  const from = monitor.lines.length;
  process.kill(api.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'api' && l.pid === api.pid, 10_000, from);
  t.is(exit.signal, 'SIGKILL');
  t.is(exit.exitReason, 'signaled');
  t.deepEqual(exit.sender, { pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim(), container: null });
  t.is(exit.action, 'restart');
  t.true(typeof exit.detectionMs === 'number' && (exit.detectionMs as number) >= 0);
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'api', 10_000, from);
  t.not(restart.pid, api.pid);
  t.true((restart.recoveryMs as number) > 0);
  const after = env.inspect(t, 'svc');
  const api2 = after.processes.find((p) => p.name === 'api')!;
  t.is(api2.pid, restart.pid);
  t.is(api2.restarts, 1);
  t.is(api2.state, 'running');
  t.is(api2.lastExit?.signal, 'SIGKILL');
  t.is(api2.lastExit?.sender?.pid, process.pid);
  t.is(ppidOf(api2.pid!), after.pid!);
  for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net']) t.is(nsOf(api2.pid!, ns), nsOf(after.pid!, ns));
});

serial('exit 3 under on-failure is restarted until the give-up rule stops it', async (t) => {
  const line = await monitor.waitFor((l) => l.kind === 'give-up' && l.process === 'crasher', 10_000);
  t.regex(line.reason, /3 deaths within/);
  const exits = monitor.lines.filter((l) => l.kind === 'exit' && l.process === 'crasher');
  t.true(exits.length >= 3);
  t.false(monitor.lines.some((l) => l.kind === 'lost'), 'every death came from a kernel event');
  for (const e of exits) {
    t.is(e.code, 3);
    t.is(e.exitReason, 'exited');
  }
  const crasher = env.inspect(t, 'svc').processes.find((p) => p.name === 'crasher')!;
  t.is(crasher.state, 'given-up');
  t.is(crasher.restarts, 2);
  t.deepEqual([crasher.lastExit?.code, crasher.lastExit?.reason], [3, 'exited']);
});

serial('restart never: a process that exits is left exited', async (t) => {
  const line = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'oneshot', 10_000);
  t.is(line.action, 'leave');
  t.is(line.code, 0);
  const oneshot = env.inspect(t, 'svc').processes.find((p) => p.name === 'oneshot')!;
  t.is(oneshot.state, 'exited');
  t.is(oneshot.restarts, 0);
  t.false(monitor.lines.some((l) => l.kind === 'restart' && l.process === 'oneshot'));
});

serial('an OOM-killed process is reported as OOM, not merely signal 9, and restarted', async (t) => {
  const hog = env.inspect(t, 'svc').processes.find((p) => p.name === 'hog')!;
  const from = monitor.lines.length;
  process.kill(hog.pid!, 'SIGUSR2'); // testbin allocates without bound
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'hog', 15_000, from);
  t.is(exit.exitReason, 'oom-killed');
  t.is(exit.sender, null);
  t.like(monitor.lines.slice(from).find((l) => l.kind === 'oom' && l.pid === hog.pid), { scope: 'memcg' }, 'the container hit its 48M limit');
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'hog', 10_000, from);
  const hog2 = env.inspect(t, 'svc').processes.find((p) => p.name === 'hog')!;
  t.is(hog2.pid, restart.pid);
  t.is(hog2.lastExit?.reason, 'oom-killed');
});

serial('an operator stop of a process is not answered by a restart', async (t) => {
  const api = env.inspect(t, 'svc').processes.find((p) => p.name === 'api')!;
  const from = monitor.lines.length;
  // Pause the monitor so the stop is recorded before the kernel's event is read:
  // the late event must still be reported, as the operator's.
  monitor.child.kill('SIGSTOP');
  try {
    env.ok(t, 'stop', 'svc', 'api', '-t', '1');
  } finally {
    monitor.child.kill('SIGCONT');
  }
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'api' && l.pid === api.pid, 10_000, from);
  t.is(exit.action, 'leave');
  t.regex(exit.reason, /operator stop/);
  await new Promise((r) => setTimeout(r, 300));
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.process === 'api'));
  const after = env.inspect(t, 'svc').processes.find((p) => p.name === 'api')!;
  t.is(after.state, 'stopped');
  t.is(after.lastExit?.reason, 'operator');
  // and the operator can start it again
  env.ok(t, 'start', 'svc', 'api');
  t.is(env.inspect(t, 'svc').processes.find((p) => p.name === 'api')!.state, 'running');
});

serial('a monitor killed with -9 is replaced; the new one drains the exit that happened meanwhile', async (t) => {
  await monitor.stop('SIGKILL');
  const hog = env.inspect(t, 'svc').processes.find((p) => p.name === 'hog')!;
  process.kill(hog.pid!, 'SIGKILL'); // while no monitor runs
  await new Promise((r) => setTimeout(r, 100));
  monitor = env.startMonitor();
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'hog' && l.pid === hog.pid, 10_000);
  t.is(exit.signal, 'SIGKILL');
  t.is(exit.exitReason, 'signaled', 'the kernel event, not reconciliation, reported it');
  await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'hog', 10_000);
  t.false(monitor.lines.some((l) => l.kind === 'lost'));
});

serial('stopping the container is not answered, and rm leaves nothing behind', async (t) => {
  const from = monitor.lines.length;
  const running = env.inspect(t, 'svc').processes.filter((p) => p.state === 'running');
  monitor.child.kill('SIGSTOP');
  try {
    env.ok(t, 'stop', 'svc', '-t', '2');
  } finally {
    monitor.child.kill('SIGCONT');
  }
  for (const p of running) {
    const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === p.name && l.pid === p.pid, 10_000, from);
    t.is(exit.action, 'leave');
    t.is(exit.exitReason, 'operator');
  }
  await new Promise((r) => setTimeout(r, 300));
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart'));
  env.ok(t, 'rm', 'svc');
  t.deepEqual(env.leftovers(['svc']), []);
  t.is(await monitor.stop('SIGTERM'), 0);
  t.false(fs.existsSync(env.store.pinDir), 'the last monitor with no container unpins the tracer');
});
