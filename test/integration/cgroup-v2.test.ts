/**
 * Pure cgroup v2 with controllers: containers with limits under a relative
 * parent beneath a cgroup that holds processes (this test's own, which holds
 * the test runner and a sleeper of ours). vigil moves those processes into
 * its leaf and enables the controllers. Runs where the v2 tree offers the
 * memory and pids controllers (the kernel matrix's pure v2 guests); on a
 * hybrid host it says why it does not run.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LEAF } from '../../src/launcher/cgroup-v2-plan.js';
import { detectLayout, ownCgroups } from '../../src/launcher/cgroups.js';
import { KernelEnv } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('cgroup v2 tests');
const layout = missing ? null : detectLayout();
const pureV2 = layout !== null && layout.v2Controllers.has('memory') && layout.v2Controllers.has('pids');
if (!missing && !pureV2) test('cgroup v2 controller tests do not apply: this host keeps memory and pids on cgroup v1 (hybrid)', (t) => t.pass());
const run = pureV2 ? serial : test.serial.skip;

const env = pureV2 ? new KernelEnv('cgv2') : null!;
test.after.always(() => env?.cleanup());

run('limits under a relative parent beneath a cgroup that holds processes: they move to the leaf, the limits apply', (t) => {
  const sleeper = spawn('/bin/sleep', ['600'], { stdio: 'ignore' });
  try {
    const ownDir = path.join(layout!.v2Mount, ownCgroups().v2);
    t.true(fs.readFileSync(path.join(ownDir, 'cgroup.procs'), 'utf8').split('\n').includes(String(sleeper.pid)), 'the sleeper starts in our own cgroup');
    env.ok(t, 'run', '--name', 'lim', '--memory', '64M', '--', '/bin/sleep', '600');
    const state = env.store.read('lim');
    t.is(fs.readFileSync(path.join(state.cgroup!.v2, 'memory.max'), 'utf8').trim(), String(64 * 1024 * 1024));
    t.is(fs.readFileSync(path.join(ownDir, 'cgroup.procs'), 'utf8').trim(), '', 'our own cgroup is empty now');
    t.true(fs.readFileSync(path.join(ownDir, LEAF, 'cgroup.procs'), 'utf8').split('\n').includes(String(sleeper.pid)), 'the sleeper is in the leaf');
    t.is(path.dirname(path.dirname(state.cgroup!.v2)), ownDir, 'containers still lie beneath the cgroup above the leaf');
    env.ok(t, 'run', '--name', 'lim2', '--memory', '32M', '--', '/bin/sleep', '600');
    t.is(path.dirname(env.store.read('lim2').cgroup!.v2), path.dirname(state.cgroup!.v2), 'a second call (now in the leaf) uses the same parent');
    env.ok(t, 'rm', '-f', 'lim', 'lim2');
    t.deepEqual(env.leftovers(['lim', 'lim2']), []);
  } finally {
    sleeper.kill('SIGKILL');
  }
});
