/**
 * Limits really enforced, seen from inside the container: a memory hog is
 * OOM-killed when it reaches the memory limit (and only it: init and the
 * container live on), a fork bomb is stopped at pids.max with EAGAIN and the
 * container can still be removed completely.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { detectLayout } from '../../src/launcher/cgroups.js';
import { KernelEnv, until, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('limit tests');

const env = missing ? null! : new KernelEnv('limits');
test.after.always(() => env?.cleanup());


const log = (name: string, proc: string) => (fs.existsSync(env.store.logFile(name, proc)) ? fs.readFileSync(env.store.logFile(name, proc), 'utf8') : '');

/** A controller's file for a container: v2 where the v2 tree has the controller, else the v1 hierarchy. */
function cgroupFile(name: string, controller: 'memory' | 'pids', v2File: string, v1File: string): string {
  const cg = env.store.read(name).cgroup!;
  return detectLayout().v2Controllers.has(controller) ? path.join(cg.v2, v2File) : path.join(cg.v1[controller]!, v1File);
}

function counter(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

serial('a memory hog is OOM-killed at the container\'s memory limit; init and the container live on', async (t) => {
  const limitMiB = 32;
  env.ok(t, 'run', env.writeSpec('hog', env.spec('hog', [
    { name: 'hog', command: [TESTBIN_IN_CONTAINER, 'memhog-report', '256'], restart: 'never' },
  ], { limits: { memory: `${limitMiB}M` } })));
  const pid = env.inspect(t, 'hog').processes[0].pid!;
  await until('the hog to die', () => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')));
  const touched = [...log('hog', 'hog').matchAll(/^touched (\d+) MiB$/gm)].map((m) => Number(m[1]));
  const most = Math.max(...touched);
  t.true(most < limitMiB, `it got no further than the limit (${most} MiB of ${limitMiB})`);
  t.true(most >= limitMiB / 2, `it was stopped near the limit, not early (${most} MiB of ${limitMiB})`);
  const events = fs.readFileSync(cgroupFile('hog', 'memory', 'memory.events', 'memory.oom_control'), 'utf8');
  t.true(counter(events, 'oom_kill') >= 1, events);
  const state = env.inspect(t, 'hog');
  t.is(state.state, 'running');
  t.true(fs.existsSync(`/proc/${state.pid}`), 'vigil-init lives on');
  env.ok(t, 'rm', '-f', 'hog');
  t.deepEqual(env.leftovers(['hog']), []);
});

serial('a fork bomb stops at pids.max with EAGAIN, and the container is still removed completely', async (t) => {
  const limit = 24;
  env.ok(t, 'run', env.writeSpec('bomb', env.spec('bomb', [
    { name: 'bomb', command: [TESTBIN_IN_CONTAINER, 'forkbomb'], restart: 'never' },
  ], { limits: { pids: limit } })));
  const line = await until('the bomb to report', () => /^forkbomb: (\d+) forks, then (\w+)$/m.exec(log('bomb', 'bomb')));
  t.is(line[2], 'EAGAIN');
  t.true(Number(line[1]) <= limit - 2, `at most the limit less init and the bomb itself (${line[1]})`);
  const current = Number(fs.readFileSync(cgroupFile('bomb', 'pids', 'pids.current', 'pids.current'), 'utf8'));
  t.true(current <= limit, `pids.current ${current} <= ${limit}`);
  const events = fs.readFileSync(cgroupFile('bomb', 'pids', 'pids.events', 'pids.events'), 'utf8');
  t.true(counter(events, 'max') >= 1, events);
  await until('the bomb to fill the cgroup', () => Number(fs.readFileSync(cgroupFile('bomb', 'pids', 'pids.current', 'pids.current'), 'utf8')) === limit);
  // The operator can still get in: pids.max limits forks, and the kernel never
  // refuses a process moved into the cgroup, as vigil-helper's child is.
  const exec = env.cli('exec', 'bomb', '--', '/bin/sh', '-c', 'echo inside');
  t.is(exec.status, 0, exec.stderr);
  t.is(exec.stdout, 'inside\n');
  const rm = env.cli('rm', '-f', 'bomb');
  t.is(rm.status, 0, rm.stderr);
  t.deepEqual(env.leftovers(['bomb']), []);
});
