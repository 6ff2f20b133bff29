/**
 * The cgroup layout vigil finds is the one the host has, and vigil adapts to
 * it: memory limits go to the v2 tree where it offers memory (pure v2, and
 * hybrid kernels without a v1 memory controller such as Debian's 6.12) and to
 * v1 otherwise; memory.oom.group works where v2 memory exists and is refused
 * plainly where it does not; an OOM kill is attributed in every layout, with
 * the group kill on and off; and a caller whose own v2 cgroup holds processes
 * (a delegated service) still gets containers with limits beneath it.
 * The kernel matrix runs this file on 5.10, 6.1 and 6.12, pure v2 and hybrid
 * (and v1 only on 5.10 and 6.1)
 * (test/kernel/); VIGIL_CELL_LAYOUT names the layout the cell booted with.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEAF, ownBase } from '../../src/launcher/cgroup-v2-plan.js';
import { detectLayout, ownCgroups, resolveParent, VIGIL_V2_MOUNT } from '../../src/launcher/cgroups.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('cgroup layout tests');
const env = missing ? null! : new KernelEnv('layouts');
let monitor: MonitorProcess | undefined;

/**
 * Whether this kernel can put memory on a v1 hierarchy (Debian's 6.12: no,
 * CONFIG_MEMCG_V1 is off, though /proc/cgroups still lists memory; pure v2
 * booted with cgroup_no_v1=all: no). Asked by mounting one in a private mount
 * namespace that dies with the mount command.
 */
function kernelHasV1Memory(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-v1-memory-'));
  try {
    return spawnSync('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'cgroup', '-o', 'memory', 'cgroup', dir], { stdio: 'ignore' }).status === 0;
  } finally {
    fs.rmdirSync(dir);
  }
}

test.before(async () => {
  if (missing) return;
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
});
test.after.always(() => env?.cleanup());

serial('the layout found is the one the host booted with', (t) => {
  const layout = detectLayout();
  const v1 = Object.keys(layout.v1Mounts);
  const cell = process.env.VIGIL_CELL_LAYOUT;
  if (cell === 'v2') {
    t.is(layout.v2Mount, '/sys/fs/cgroup');
    t.deepEqual(v1, []);
  } else if (cell === 'hybrid') {
    t.is(layout.v2Mount, '/sys/fs/cgroup/unified');
    t.true(v1.length > 0, 'v1 controllers are mounted');
  } else if (cell === 'v1') {
    // No v2 tree was booted with: identity comes from vigil's own.
    t.is(layout.kind, 'v1');
    t.is(layout.v2Mount, VIGIL_V2_MOUNT);
    t.true(v1.length > 0, 'v1 controllers are mounted');
  }
  // The v2 tree offers memory exactly where no v1 hierarchy took it.
  t.is(layout.v2Controllers.has('memory'), !layout.v1Mounts.memory);
  t.is(Boolean(layout.v1Mounts.memory), kernelHasV1Memory(), 'memory is on v1 exactly when the kernel has a v1 memory controller');
});

serial('a memory limit lands where the layout keeps memory', (t) => {
  const file = env.writeSpec('mem', env.spec('mem', [{ name: 'p', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' }], { limits: { memory: '40M' } }));
  env.ok(t, 'run', file);
  const layout = detectLayout();
  const base = resolveParent(layout, env.cgroupParent);
  if (layout.v2Controllers.has('memory')) {
    t.is(fs.readFileSync(path.join(base.v2, 'mem', 'memory.max'), 'utf8').trim(), String(40 * 1024 * 1024));
  } else {
    t.is(fs.readFileSync(path.join(base.v1.memory!, 'mem', 'memory.limit_in_bytes'), 'utf8').trim(), String(40 * 1024 * 1024));
  }
  env.ok(t, 'rm', '-f', 'mem');
  t.deepEqual(env.leftovers(['mem']), []);
});

serial('a caller whose own v2 cgroup holds processes gets its processes parked in a leaf, and limits still work', (t) => {
  const layout = detectLayout();
  const own = ownBase(ownCgroups().v2);
  if (own === '/' || !layout.v2Controllers.has('memory')) {
    // The root cgroup is exempt from "no internal processes", and without v2
    // memory no controller is enabled in the v2 tree: nothing to adapt to.
    t.pass(`own v2 cgroup ${own}: the rule does not apply here`);
    return;
  }
  const ownDir = path.join(layout.v2Mount, own);
  // The previous test ran a container with a memory limit from here: the
  // processes of our own cgroup now live in its parking leaf, ours included.
  t.regex(fs.readFileSync('/proc/self/cgroup', 'utf8'), new RegExp(`^0::${own.replace(/\//g, '\\/')}\\/${LEAF}$`, 'm'));
  t.is(fs.readFileSync(path.join(ownDir, 'cgroup.procs'), 'utf8').trim(), '', 'the delegated cgroup itself holds no process');
  t.true(fs.readFileSync(path.join(ownDir, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory'));
});

for (const oomGroup of [false, true]) {
  serial(`an OOM kill is attributed with memory.oom.group ${oomGroup ? 'on' : 'off'}`, async (t) => {
    const name = oomGroup ? 'oomgroup' : 'oomsingle';
    const file = env.writeSpec(name, env.spec(name, [
      { name: 'hog', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' },
      { name: 'bystander', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' },
    ], { limits: { memory: '48M', oomGroup } }));
    const layout = detectLayout();
    if (oomGroup && !layout.v2Controllers.has('memory')) {
      // v1 memory only: the group kill does not exist there, and vigil says so.
      const r = env.cli('run', file);
      t.not(r.status, 0);
      t.regex(r.stderr, /limits\.oomGroup needs the cgroup v2 memory controller/);
      t.deepEqual(env.leftovers([name]), []);
      return;
    }
    env.ok(t, 'run', file);
    const procs = env.inspect(t, name).processes;
    const hog = procs.find((p) => p.name === 'hog')!;
    const bystander = procs.find((p) => p.name === 'bystander')!;
    const from = monitor!.lines.length;
    process.kill(hog.pid!, 'SIGUSR2'); // testbin allocates without bound
    const exit = await monitor!.waitFor((l) => l.kind === 'exit' && l.process === 'hog', 30_000, from);
    t.is(exit.exitReason, 'oom-killed');
    t.like(monitor!.lines.slice(from).find((l) => l.kind === 'oom' && l.pid === hog.pid), { scope: 'memcg' }, 'the container hit its 48M limit');
    if (oomGroup) {
      // The whole memory cgroup goes: the bystander dies by the OOM killer's SIGKILL too.
      const other = await monitor!.waitFor((l) => l.kind === 'exit' && l.process === 'bystander', 30_000, from);
      t.is(other.pid, bystander.pid);
      t.is(other.signal, 'SIGKILL');
      t.is(other.sender, null, 'killed by the kernel, not by a process');
    } else {
      t.is(env.inspect(t, name).processes.find((p) => p.name === 'bystander')!.state, 'running');
    }
    env.ok(t, 'rm', '-f', name);
    t.deepEqual(env.leftovers([name]), []);
  });
}
