/**
 * What an operator's bad day looks like: a launcher killed half-way, rm racing
 * run, a container's init killed, signals that do not kill, restarts that
 * race removal, exits before the state knows a process. Each must leave the
 * state honest and nothing behind. (Found by trying to break vigil.)
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KernelEnv, TESTBIN_IN_CONTAINER, VIGIL, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('fault tests');
const env = missing ? null! : new KernelEnv('faults');
let monitor: MonitorProcess;
test.after.always(() => env?.cleanup());

const sleeper = (name: string, restart: unknown = { policy: 'always', backoff: { initial: '10ms' } }) => ({ name, command: ['/bin/sleep', '600'], restart });

function cgroupProcs(name: string): string[] {
  return env.parentDirs().flatMap((d) => {
    try {
      return fs.readFileSync(path.join(d, name, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  });
}

test.before(async () => {
  if (missing) return;
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
});

serial('--name cannot climb out of the state root', (t) => {
  const file = env.writeSpec('ok', { name: 'ok', processes: [sleeper('a')] });
  for (const bad of ['..', '../..', 'sub/inner', 'Has Space']) {
    const r = env.cli('run', file, '--name', bad);
    t.is(r.status, 2, bad);
    t.regex(r.stderr, /--name: .* is not a container name/);
  }
  t.true(fs.existsSync(env.root));
  t.deepEqual(env.leftovers(['ok', 'sub']), []);
});

serial('a launcher killed at any moment leaves a record that rm -f clears completely', async (t) => {
  const file = env.writeSpec('kr', { name: 'kr', limits: { memory: '64M', pids: 64 }, processes: [sleeper('a'), sleeper('b'), sleeper('c')] });
  for (const delayMs of [60, 120, 160, 200, 240, 300]) {
    const child = spawn(process.execPath, [VIGIL, 'run', file], { env: env.env, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await sleep(delayMs);
    child.kill('SIGKILL');
    await exited;
    if (env.store.tryRead('kr')) {
      const r = env.cli('rm', '-f', 'kr');
      const procs = cgroupProcs('kr').map((pid) => { try { return `${pid}: ${fs.readFileSync(`/proc/${pid}/stat`, 'utf8').slice(0, 60)}`; } catch { return `${pid} gone`; } });
      t.is(r.status, 0, `${r.stderr} ${procs.join(' | ')}`);
    }
    t.deepEqual(cgroupProcs('kr'), [], `after a kill at ${delayMs} ms`);
    t.deepEqual(env.leftovers(['kr']), [], `after a kill at ${delayMs} ms`);
  }
  // and the name is usable again
  env.ok(t, 'run', file);
  env.ok(t, 'rm', '-f', 'kr');
  t.deepEqual(env.leftovers(['kr']), []);
  // a directory being built when the launcher died is swept by the next command
  t.deepEqual(fs.readdirSync(path.dirname(env.store.containerDir('kr'))).filter((n) => n.startsWith('.new-')), []);
});

serial('rm -f racing run never orphans a running container', async (t) => {
  const file = env.writeSpec('race', { name: 'race', processes: [sleeper('a'), sleeper('b')] });
  for (const delayMs of [5, 15, 30, 60]) {
    const run = spawn(process.execPath, [VIGIL, 'run', file], { env: env.env, stdio: 'ignore' });
    const exited = new Promise((r) => run.once('exit', r));
    await sleep(delayMs);
    env.cli('rm', '-f', 'race');
    await exited;
    if (env.store.tryRead('race')) env.ok(t, 'rm', '-f', 'race');
    t.deepEqual(cgroupProcs('race'), [], `rm after ${delayMs} ms`);
    t.deepEqual(env.leftovers(['race']), [], `rm after ${delayMs} ms`);
  }
});

serial('a signal the process survives does not stop its recovery', async (t) => {
  env.ok(t, 'run', '--name', 'hup', '--restart', 'always', '--', '/bin/sh', '-c', 'trap "echo got-hup" HUP; while true; do sleep 0.1; done');
  const before = env.inspect(t, 'hup').processes[0];
  env.ok(t, 'kill', 'hup', 'sh', 'SIGHUP');
  await sleep(200);
  t.is(env.inspect(t, 'hup').processes[0].pid, before.pid, 'survived SIGHUP');
  const from = monitor.lines.length;
  process.kill(before.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'hup', 10_000, from);
  t.is(exit.action, 'restart');
  t.is(exit.exitReason, 'signaled');
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'hup', 10_000, from);
  // while the operator's own fatal signal is not answered
  const pid = env.inspect(t, 'hup').processes[0].pid!;
  const from2 = monitor.lines.length;
  env.ok(t, 'kill', 'hup', 'sh', 'SIGTERM');
  const exit2 = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'hup' && l.pid === pid, 10_000, from2);
  t.is(exit2.action, 'leave');
  t.is(exit2.exitReason, 'operator');
  env.ok(t, 'rm', '-f', 'hup');
});

serial('an exit before the launcher recorded the process is handled with its real cause', async (t) => {
  const from = monitor.lines.length;
  const file = env.writeSpec('early', env.spec('early', [
    { name: 'prevented', command: [TESTBIN_IN_CONTAINER, 'exit', '78'], restart: { policy: 'always', preventCodes: [78] } },
    { name: 'clean', command: [TESTBIN_IN_CONTAINER, 'exit', '0'], restart: 'on-failure' },
    sleeper('keep'),
  ]));
  env.ok(t, 'run', file);
  const prevented = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'prevented', 10_000, from);
  t.is(prevented.code, 78);
  t.is(prevented.action, 'leave');
  const clean = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'clean', 10_000, from);
  t.is(clean.code, 0);
  t.is(clean.action, 'leave');
  await sleep(300);
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'lost' || (l.kind === 'restart' && l.container === 'early')));
  env.ok(t, 'rm', '-f', 'early');
});

serial('a killed vigil-init takes its container down, and the monitor starts it again', async (t) => {
  env.ok(t, 'run', env.writeSpec('initdeath', { name: 'initdeath', processes: [sleeper('a'), sleeper('b')] }));
  const before = env.inspect(t, 'initdeath');
  const from = monitor.lines.length;
  process.kill(before.pid!, 'SIGKILL');
  const down = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'initdeath' && l.process === null, 10_000, from);
  t.regex(down.reason, /vigil-init died/);
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'initdeath' && l.process === null, 15_000, from);
  const after = env.inspect(t, 'initdeath');
  t.is(after.state, 'running');
  t.not(after.pid, before.pid);
  t.deepEqual(after.processes.map((p) => p.state), ['running', 'running']);
  // the processes that died with init were not restarted on their own
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.container === 'initdeath' && l.process !== null));
  env.ok(t, 'rm', '-f', 'initdeath');
  t.deepEqual(env.leftovers(['initdeath']), []);
});

serial('kill of a process that is backing off cancels its restart', async (t) => {
  env.ok(t, 'run', env.writeSpec('bo', { name: 'bo', processes: [sleeper('a', { policy: 'always', backoff: { initial: '3s' } })] }));
  const pid = env.inspect(t, 'bo').processes[0].pid!;
  const from = monitor.lines.length;
  process.kill(pid, 'SIGKILL');
  await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'bo', 10_000, from);
  const r = env.ok(t, 'kill', 'bo', 'a');
  t.regex(r, /restart is cancelled/);
  await sleep(3500);
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.container === 'bo'));
  t.is(env.inspect(t, 'bo').processes[0].state, 'stopped');
  env.ok(t, 'rm', '-f', 'bo');
});

serial('removing a container in the middle of a restart storm does not take the monitor down', async (t) => {
  const storm = Array.from({ length: 8 }, (_, i) => ({ name: `p${i}`, command: ['/bin/false'], restart: { policy: 'always', backoff: { initial: '1ms', max: '5ms' } } }));
  env.ok(t, 'run', env.writeSpec('storm', { name: 'storm', processes: storm }));
  await sleep(1500);
  env.ok(t, 'rm', '-f', 'storm');
  await sleep(500);
  t.is(monitor.child.exitCode, null, `monitor alive; stderr: ${monitor.stderr}`);
  // and it still recovers others
  env.ok(t, 'run', env.writeSpec('after', { name: 'after', processes: [sleeper('a')] }));
  const pid = env.inspect(t, 'after').processes[0].pid!;
  const from = monitor.lines.length;
  process.kill(pid, 'SIGKILL');
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'after', 10_000, from);
  env.ok(t, 'rm', '-f', 'after');
  t.deepEqual(env.leftovers(['storm', 'after']), []);
});

serial('giveUp then: stop stops the whole container', async (t) => {
  const from = monitor.lines.length;
  env.ok(t, 'run', env.writeSpec('gu', { name: 'gu', processes: [
    { name: 'bad', command: ['/bin/false'], restart: { policy: 'always', backoff: { initial: '10ms' }, giveUp: { deaths: 2, within: '1m', then: 'stop' } } },
    sleeper('good'),
  ] }));
  await monitor.waitFor((l) => l.kind === 'give-up' && l.container === 'gu', 10_000, from);
  await monitor.waitFor((l) => l.kind === 'stop' && l.container === 'gu', 20_000, from);
  t.is(env.inspect(t, 'gu').state, 'stopped');
  env.ok(t, 'rm', 'gu');
});

serial('impossible values are refused by the spec check, not by the kernel', (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ limits: { pids: 1e20 } }, /limits\.pids: must be at most/],
    [{ limits: { cpus: 1e9 } }, /limits\.cpus: must be at most 4096/],
    [{ limits: { memory: 5000000.5 } }, /limits\.memory: expected a size/],
    [{ restart: { backoff: { initial: '600h', max: '600h' } } }, /restart\.backoff\.initial: must be at most 24h/],
  ];
  for (const [extra, message] of cases) {
    const r = env.cli('run', env.writeSpec('imp', { name: 'imp', processes: [sleeper('a')], ...extra }));
    t.is(r.status, 2);
    t.regex(r.stderr, message);
  }
  const user = env.cli('run', env.writeSpec('imp', { name: 'imp', processes: [{ ...sleeper('a'), user: '4294967296:0' }] }));
  t.is(user.status, 2);
  t.regex(user.stderr, /processes\[0\]\.user: ids are at most/);
  t.deepEqual(env.leftovers(['imp']), []);
});
