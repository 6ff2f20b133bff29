/**
 * A host that mounts no cgroup v2 tree at all (v1 hierarchies only, as a
 * legacy systemd host): vigil mounts a controller-less v2 tree of its own at
 * VIGIL_V2_MOUNT and works as on a hybrid host. Proven here: a mount vigil
 * cannot make is refused plainly, with nothing left behind; `vigil doctor`
 * says the host has no v2 tree and whether vigil's is mounted; the monitor's
 * start line names the layout; the tree is mounted once (a later run finds
 * it, and commands racing to mount it make one mount and all succeed); a
 * container's processes (and an exec'd one, found by `vigil top`) live in a
 * v2 cgroup beneath it; and the tracer delivers their exits (signal and
 * sender included) with the right container.
 * Runs in the kernel matrix's v1 cells (5.10-v1, 6.1-v1); on a host with a v2
 * tree it says why it does not apply. First in the guest suite: its first
 * tests need the host as booted, before anything mounted vigil's tree.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readLayout, VIGIL_V2_MOUNT } from '../../src/launcher/cgroups.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, until, VIGIL, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const v1Only = readLayout().kind === 'v1';
const cellV1 = process.env.VIGIL_CELL_LAYOUT === 'v1';
if (cellV1 && !v1Only) test('the v1 cell was booted with a cgroup v2 tree mounted', (t) => t.fail());
if (!v1Only && !cellV1) test('v1-only layout tests do not apply: this host mounts a cgroup v2 tree (they run in the v1 kernel-matrix cells)', (t) => t.pass());

// Declared only where they apply (elsewhere the one test above says why).
const kernel = v1Only ? kernelSerial('v1-only layout tests') : null;
const applies = kernel !== null && kernel.missing === null;
const serial = (title: string, fn: (t: ExecutionContext) => void | Promise<void>) => {
  if (applies) kernel.serial(title, fn);
};
const env = applies ? new KernelEnv('v1only') : null!;
let monitor: MonitorProcess | undefined;
test.after.always(() => env?.cleanup());

/** The cgroup2 mounts /proc/self/mounts lists, by mount point. */
function cgroup2Mounts(): string[] {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'cgroup2').map((l) => l.split(' ')[1]);
}

serial('where vigil cannot mount its v2 tree, run refuses naming the mount, errno and path, and leaves nothing behind', (t) => {
  t.deepEqual(cgroup2Mounts(), [], 'booted without any cgroup v2 tree');
  // In a user namespace of its own (and no cgroup namespace of its own) root
  // may not mount cgroup2: the kernel answers EPERM, a real mount failure.
  const file = env.writeSpec('refused', env.spec('refused', [{ name: 'p', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' }]));
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', process.execPath, VIGIL, 'run', file], { env: env.env, encoding: 'utf8', timeout: 30_000 });
  t.not(r.status, 0);
  t.regex(r.stderr, new RegExp(`mount -t cgroup2 at ${VIGIL_V2_MOUNT} failed: EPERM`));
  t.regex(r.stderr, /vigil needs a cgroup v2 tree for process identity/);
  t.deepEqual(cgroup2Mounts(), [], 'nothing was mounted');
  t.deepEqual(env.leftovers(['refused']), []);
});

serial('vigil doctor: no v2 tree of the host\'s own, vigil\'s not mounted yet', (t) => {
  const out = env.cli('doctor').stdout;
  t.regex(out, new RegExp(`v1 only: the host mounts no cgroup v2 tree of its own; vigil mounts one at ${VIGIL_V2_MOUNT} .*\\(not mounted now\\)`));
});

serial('the monitor mounts vigil\'s v2 tree once and names the layout on its start line', async (t) => {
  monitor = env.startMonitor();
  const start = await monitor.waitFor((l) => l.kind === 'monitor', 60_000);
  t.true(start.reason.includes(`cgroups v1 (vigil's v2 tree at ${VIGIL_V2_MOUNT})`), start.reason);
  t.deepEqual(cgroup2Mounts(), [VIGIL_V2_MOUNT]);
  t.regex(env.cli('doctor').stdout, new RegExp(`vigil mounted one at ${VIGIL_V2_MOUNT} \\(mounted now\\), identity from there`));
  t.deepEqual(cgroup2Mounts(), [VIGIL_V2_MOUNT], 'mounted once');
});

serial('commands racing to mount vigil\'s v2 tree all succeed and make one mount', (t) => {
  // In a private mount namespace without the tree (unmounted there only),
  // three processes detect the layout at once, as concurrent `vigil run`s do.
  const detect = `import(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist/src/launcher/cgroups.js'))}).then((m) => console.log(m.detectLayout().kind))`;
  const script = `umount ${VIGIL_V2_MOUNT} || exit 9
for i in 1 2 3; do "$NODE" -e "$DETECT" & done; wait
awk '$3 == "cgroup2" { print "mount " $2 }' /proc/self/mounts`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { env: { ...process.env, NODE: process.execPath, DETECT: detect }, encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n').sort(), ['mount /run/vigil/cgroup2', 'v1', 'v1', 'v1'], r.stderr);
  t.deepEqual(cgroup2Mounts(), [VIGIL_V2_MOUNT], 'the host\'s namespace is untouched');
});

serial('a container\'s processes live in a v2 cgroup beneath vigil\'s tree, and the tracer delivers their exits', async (t) => {
  const file = env.writeSpec('legacy', env.spec('legacy', [
    { name: 'a', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' },
    { name: 'b', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' },
  ], { limits: { memory: '64M', pids: 32 } }));
  env.ok(t, 'run', file);
  // The run found the tree in the mounts and did not mount again.
  t.deepEqual(cgroup2Mounts(), [VIGIL_V2_MOUNT], 'still one mount after a run');
  const view = env.inspect(t, 'legacy');
  const state = env.store.read('legacy');
  t.true(state.cgroup!.v2.startsWith(`${VIGIL_V2_MOUNT}/`), state.cgroup!.v2);
  t.is(fs.statSync(state.cgroup!.v2, { bigint: true }).ino.toString(), state.cgroup!.id, 'the recorded id is the v2 directory\'s');
  t.truthy(state.cgroup!.v1.memory, 'memory limits through v1');
  const members = fs.readFileSync(path.join(state.cgroup!.v2, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const p of view.processes) {
    const v2Line = fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'))!;
    t.is(v2Line, `0::${view.cgroup}`, `${p.name}'s own v2 cgroup`);
    t.true(members.includes(p.pid!), `${p.name} is in ${state.cgroup!.v2}`);
  }
  // `vigil exec` joins the same v2 cgroup, and `vigil top` finds it there.
  const exec = spawn(process.execPath, [VIGIL, 'exec', 'legacy', '--', '/bin/sh', '-c', 'echo ready; exec sleep 600'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const execExited = new Promise((resolve) => exec.on('exit', resolve));
  let execOut = '';
  exec.stdout.setEncoding('utf8').on('data', (d: string) => (execOut += d));
  await until('the exec to be ready', () => execOut.includes('ready'), 60_000);
  const rows = JSON.parse(env.ok(t, 'top', 'legacy', '--json')) as Array<{ pid: number; role: string; command: string }>;
  const sleeper = rows.find((r) => r.command.startsWith('sleep'));
  t.truthy(sleeper, JSON.stringify(rows));
  t.is(fs.readFileSync(`/proc/${sleeper!.pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::')), `0::${view.cgroup}`, 'the exec\'d process\'s own v2 cgroup');
  for (const p of view.processes) t.true(rows.some((r) => r.pid === p.pid && r.role === p.name), `top lists ${p.name}`);
  exec.kill('SIGTERM');
  await execExited;
  const a = view.processes.find((p) => p.name === 'a')!;
  const from = monitor!.lines.length;
  process.kill(a.pid!, 'SIGTERM');
  const exit = await monitor!.waitFor((l) => l.kind === 'exit' && l.process === 'a', 30_000, from);
  t.is(exit.container, 'legacy');
  t.is(exit.pid, a.pid);
  t.is(exit.signal, 'SIGTERM');
  // Only the BPF tracer knows who sent a signal (degraded mode does not).
  t.deepEqual(exit.sender, { pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim(), container: null });
  env.ok(t, 'rm', '-f', 'legacy');
  t.deepEqual(env.leftovers(['legacy']), []);
  t.false(fs.existsSync(state.cgroup!.v2));
});
