/**
 * Isolation on the real kernel, checked from inside the container and from
 * /proc on the host: Docker's default capabilities, no_new_privs, masked and
 * read-only kernel interfaces, the cgroup namespace, the spec's opt-outs, a
 * directory rootfs entered with pivot_root, and cpu/cpuset/rlimit/group/umask
 * limits read back from cgroupfs and /proc.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectLayout, resolveParent } from '../../src/launcher/cgroups.js';
import { capabilityMask, DEFAULT_CAPABILITIES } from '../../src/launcher/capabilities.js';
import { TESTBIN_PATH } from '../../src/paths.js';
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('isolation tests');

const env = missing ? null! : new KernelEnv('isolation');
test.after.always(() => env?.cleanup());

const HAS_MODULES = fs.existsSync('/proc/modules');
const DEFAULT_MASK = capabilityMask(DEFAULT_CAPABILITIES); // a80425fb, as Docker's

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

const hex = (field: string) => BigInt(`0x${field}`).toString(16);

function pidOf(t: ExecutionContext, name: string, proc: string): number {
  const p = env.inspect(t, name).processes.find((q) => q.name === proc)!;
  t.truthy(p.pid, `${name}/${proc} is running`);
  return p.pid!;
}


function mountOptions(pid: number, mountPoint: string): string[] | null {
  // The last mount on a point is the visible one.
  const lines = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.split(' ')[4] === mountPoint);
  return lines.length ? lines[lines.length - 1].split(' ')[5].split(',') : null;
}

serial('business processes and vigil-init get Docker\'s capability set, no_new_privs and masked kernel interfaces', async (t) => {
  const script = [
    `${TESTBIN_IN_CONTAINER} probe`,
    'if [ -e /proc/kcore ]; then echo kcore-bytes=$(cat /proc/kcore | wc -c); else echo kcore-absent; fi',
    'echo timer_list-bytes=$(cat /proc/timer_list | wc -c)',
    'echo keys-bytes=$(cat /proc/keys | wc -c)',
    'echo x > /proc/sys/kernel/hostname || echo proc-sys-refused',
    'echo c > /proc/sysrq-trigger || echo sysrq-refused',
    'mkdir /sys/fs/cgroup/escape || echo sys-refused',
    'cat /proc/self/cgroup',
    'echo done',
    'exec sleep 600',
  ].join('; ');
  env.ok(t, 'run', env.writeSpec('sec', env.spec('sec', [{ name: 'main', command: ['/bin/sh', '-c', `(${script}) 2>&1`] }])));
  const log = await env.logUntil('sec', 'main', 'done');
  t.regex(log, /^mount: EPERM$/m);
  // A kernel built without module support answers ENOSYS to everyone; CapEff below shows SYS_MODULE is gone either way.
  t.regex(log, HAS_MODULES ? /^init_module: EPERM$/m : /^init_module: ENOSYS$/m);
  t.regex(log, /^sethostname: EPERM$/m);
  t.regex(log, /kcore-absent|kcore-bytes=0/);
  t.regex(log, /timer_list-bytes=0\b/);
  t.regex(log, /keys-bytes=0\b/);
  t.regex(log, /proc-sys-refused/);
  if (fs.existsSync('/proc/sysrq-trigger')) t.regex(log, /sysrq-refused/);
  t.regex(log, /sys-refused/);
  t.regex(log, /^0::\/$/m, 'the cgroup namespace makes the container\'s cgroup its root');

  const main = pidOf(t, 'sec', 'main');
  const s = status(main);
  for (const f of ['CapEff', 'CapPrm', 'CapBnd']) t.is(hex(s[f]), DEFAULT_MASK, f);
  t.is(hex(s.CapInh), '0');
  t.is(hex(s.CapAmb), '0');
  t.is(s.NoNewPrivs, '1');
  t.true(mountOptions(main, '/sys')!.includes('ro'), '/sys is read-only');
  t.true(mountOptions(main, '/proc/sys')!.includes('ro'), '/proc/sys is read-only');
  const init = status(env.inspect(t, 'sec').pid!);
  t.is(hex(init.CapBnd), DEFAULT_MASK, 'vigil-init is bounded too');
  t.is(init.NoNewPrivs, '1');

  // vigil exec takes the same path.
  const exec = env.cli('exec', 'sec', '--', '/bin/sh', '-c', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status');
  t.is(exec.status, 0, exec.stderr);
  t.regex(exec.stdout, new RegExp(`CapEff:\\s+0*${DEFAULT_MASK}\\n`));
  t.regex(exec.stdout, /NoNewPrivs:\s+1/);
  env.ok(t, 'rm', '-f', 'sec');
});

serial('the spec adds and drops capabilities per container and per process, and can turn no_new_privs off', async (t) => {
  env.ok(t, 'run', env.writeSpec('caps', env.spec('caps', [
    { name: 'admin', command: ['/bin/sh', '-c', `${TESTBIN_IN_CONTAINER} probe; echo done; exec sleep 600`], security: { capabilities: { add: ['SYS_ADMIN', 'CAP_SYS_MODULE'] } } },
    { name: 'minimal', command: ['/bin/sleep', '600'], security: { capabilities: { drop: ['ALL'], add: ['kill'] }, noNewPrivileges: false } },
    { name: 'nobody', command: ['/bin/sleep', '600'], user: '65534:65534' },
    { name: 'plain', command: ['/bin/sleep', '600'] },
  ], { security: { capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] } } })));
  const withBits = (mask: string, add: number[], drop: number[]) => {
    let m = BigInt(`0x${mask}`);
    for (const b of add) m |= 1n << BigInt(b);
    for (const b of drop) m &= ~(1n << BigInt(b));
    return m.toString(16);
  };
  const containerMask = withBits(DEFAULT_MASK, [12], [27]); // + NET_ADMIN, - MKNOD
  t.is(hex(status(pidOf(t, 'caps', 'plain')).CapEff), containerMask);
  t.is(hex(status(pidOf(t, 'caps', 'plain')).SigIgn), '0', 'no signal stays ignored from the helper (SIGPIPE)');
  t.is(hex(status(pidOf(t, 'caps', 'admin')).CapEff), withBits(containerMask, [21, 16], []));
  const minimal = status(pidOf(t, 'caps', 'minimal'));
  t.is(hex(minimal.CapEff), (1n << 5n).toString(16), 'drop ALL then add KILL leaves only KILL');
  t.is(minimal.NoNewPrivs, '0');
  const view = JSON.parse(env.ok(t, 'inspect', 'caps')) as { security: { capabilities: string[] }; processes: Array<{ name: string; capabilities: string[] }> };
  t.true(view.security.capabilities.includes('NET_ADMIN') && !view.security.capabilities.includes('MKNOD'));
  t.deepEqual(view.processes.find((p) => p.name === 'minimal')!.capabilities, ['KILL']);
  const nobody = status(pidOf(t, 'caps', 'nobody'));
  t.is(hex(nobody.CapEff), '0', 'a non-root user starts with no effective capabilities, as with Docker');
  t.is(hex(nobody.CapBnd), containerMask);
  const log = await env.logUntil('caps', 'admin', 'done');
  t.regex(log, /^mount: OK$/m, 'SYS_ADMIN was granted (the mount stays inside the container\'s mount namespace)');
  if (HAS_MODULES) t.regex(log, /^init_module: (EFAULT|EINVAL|ENOEXEC)$/m, 'SYS_MODULE was granted: the kernel got past the permission check');
  env.ok(t, 'rm', '-f', 'caps');
});

serial('a restart by the monitor gets the same confinement as the first start', async (t) => {
  const monitor = env.startMonitor();
  t.teardown(() => monitor.stop());
  await monitor.waitFor((l) => l.kind === 'monitor');
  env.ok(t, 'run', env.writeSpec('again', env.spec('again', [{
    name: 'flaky',
    command: ['/bin/sh', '-c', 'grep -E "^(CapEff|NoNewPrivs|SigIgn)" /proc/self/status; echo "nofile $(ulimit -n)"; sleep 0.3; exit 1'],
    restart: { policy: 'always', backoff: { initial: '50ms' } },
    rlimits: { nofile: 333 },
    security: { capabilities: { drop: ['CHOWN'] } },
  }])));
  await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'flaky', 15_000);
  const log = await env.logUntil('again', 'flaky', 'nofile 333\nCapEff');
  const mask = (BigInt(`0x${DEFAULT_MASK}`) & ~1n).toString(16);
  const starts = log.split('nofile 333').length - 1;
  t.true(starts >= 2, `started at least twice:\n${log}`);
  t.is(log.match(new RegExp(`CapEff:\\s+0*${mask}\\n`, 'g'))?.length ?? 0, log.match(/CapEff/g)!.length, log);
  t.is(log.match(/NoNewPrivs:\s+1/g)?.length, log.match(/NoNewPrivs/g)!.length);
  await monitor.stop();
  env.ok(t, 'rm', '-f', 'again');
});

serial('vigil-init keeps KILL even when the spec drops every capability', (t) => {
  env.ok(t, 'run', env.writeSpec('bare', env.spec('bare', [{ name: 'p', command: ['/bin/sleep', '600'] }], { security: { capabilities: { drop: ['ALL'] } } })));
  t.is(hex(status(pidOf(t, 'bare', 'p')).CapEff), '0');
  t.is(hex(status(env.inspect(t, 'bare').pid!).CapBnd), (1n << 5n).toString(16));
  env.ok(t, 'stop', 'bare', '-t', '5');
  env.ok(t, 'rm', 'bare');
});

serial('privileged: every capability, no masked paths, writable /sys', (t) => {
  env.ok(t, 'run', env.writeSpec('priv', env.spec('priv', [{ name: 'p', command: ['/bin/sleep', '600'] }], { privileged: true })));
  const pid = pidOf(t, 'priv', 'p');
  // Every capability this test runner holds (a confined host may lack some).
  t.is(hex(status(pid).CapEff), hex(status(process.pid).CapPrm));
  t.is(status(pid).NoNewPrivs, '0');
  t.false(mountOptions(pid, '/sys')!.includes('ro'));
  t.is(mountOptions(pid, '/proc/sys'), null, '/proc/sys is not remounted');
  t.is(mountOptions(pid, '/proc/timer_list'), null, '/proc/timer_list is not masked');
  env.ok(t, 'rm', '-f', 'priv');
});

serial('bad security fields are refused with their path, and nothing is created', (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['badcap', { processes: [{ name: 'a', command: ['/bin/true'], security: { capabilities: { add: ['NET_ADMN'] } } }] }, /processes\[0\]\.security\.capabilities\.add\[0\]: unknown capability "NET_ADMN"/],
    ['badnnp', { security: { noNewPrivileges: 'no' }, processes: [{ name: 'a', command: ['/bin/true'] }] }, /security\.noNewPrivileges: expected true or false/],
    ['badpriv', { privileged: true, security: { capabilities: { drop: ['KILL'] } }, processes: [{ name: 'a', command: ['/bin/true'] }] }, /security\.capabilities: privileged: true already grants every capability/],
  ];
  for (const [name, extra, message] of cases) {
    const r = env.cli('run', env.writeSpec(name, { name, ...extra }));
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, message);
    t.deepEqual(env.leftovers([name]), []);
  }
});

function makeRootfs(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-rootfs-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(TESTBIN_PATH, path.join(dir, 'bin/testbin'));
  fs.chmodSync(path.join(dir, 'bin/testbin'), 0o755);
  fs.writeFileSync(path.join(dir, 'marker'), 'inside the directory rootfs\n');
  return dir;
}

serial('a directory rootfs is entered with pivot_root: the process sees it as /, with private /proc, /dev, /tmp, /run and binds', async (t) => {
  const rootfs = makeRootfs();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-data-'));
  fs.writeFileSync(path.join(data, 'note'), 'from the host bind\n');
  t.teardown(() => fs.rmSync(data, { recursive: true, force: true }));
  env.ok(t, 'run', env.writeSpec('dirfs', {
    name: 'dirfs',
    rootfs,
    mounts: [{ source: data, target: '/data', readonly: true }],
    processes: [
      { name: 'ls', command: ['/bin/testbin', 'ls', '/'], restart: 'never' },
      { name: 'cat', command: ['/bin/testbin', 'cat', '/marker'], restart: 'never' },
      { name: 'bind', command: ['/bin/testbin', 'cat', '/data/note'], restart: 'never' },
      { name: 'dev', command: ['/bin/testbin', 'ls', '/dev'], restart: 'never' },
      { name: 'stay', command: ['/bin/testbin', 'sleep', '0'] },
    ],
  }));
  const c = env.inspect(t, 'dirfs');
  t.is(fs.readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim(), 'vigil-init', 'vigil-init runs from its fd though the rootfs has no copy of it');
  t.is(fs.readlinkSync(`/proc/${pidOf(t, 'dirfs', 'stay')}/root`), '/', 'the root is the container\'s own');
  const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('testbin '));
  t.deepEqual(lines(await env.logUntil('dirfs', 'ls', 'tmp')), ['bin', 'data', 'dev', 'marker', 'proc', 'run', 'sys', 'tmp']);
  t.deepEqual(lines(await env.logUntil('dirfs', 'cat', 'rootfs')), ['inside the directory rootfs']);
  t.deepEqual(lines(await env.logUntil('dirfs', 'bind', 'host bind')), ['from the host bind']);
  t.true(lines(await env.logUntil('dirfs', 'dev', 'zero')).includes('null'));
  const stay = pidOf(t, 'dirfs', 'stay');
  t.true(mountOptions(stay, '/data')!.includes('ro'));
  for (const m of ['/proc', '/dev', '/tmp', '/run', '/sys']) t.not(mountOptions(stay, m), null, `${m} is mounted`);
  env.ok(t, 'rm', '-f', 'dirfs');
  t.deepEqual(env.leftovers(['dirfs']), []);
  t.deepEqual(fs.readdirSync(rootfs).sort(), ['bin', 'data', 'dev', 'marker', 'proc', 'run', 'sys', 'tmp'], 'only mount points were added to the rootfs');
  fs.rmSync(rootfs, { recursive: true, force: true });
});

serial('a rootfs that does not exist or is not a directory is refused naming the field, and nothing is created', (t) => {
  const file = path.join(env.root, 'plain-file');
  fs.writeFileSync(file, '');
  const cases: Array<[string, string, RegExp]> = [
    ['norootfs', '/no/such/rootfs', /rootfs: "\/no\/such\/rootfs" cannot be used: ENOENT/],
    ['filerootfs', file, /rootfs: ".*plain-file" is not a directory/],
    ['relrootfs', 'relative/dir', /rootfs: expected an absolute path/],
  ];
  for (const [name, rootfs, message] of cases) {
    const r = env.cli('run', env.writeSpec(name, { name, rootfs, processes: [{ name: 'a', command: ['/bin/true'] }] }));
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, message);
    t.deepEqual(env.leftovers([name]), []);
  }
});

serial('cpu quota, weight and cpuset reach cgroupfs; rlimits, groups and umask reach the process', (t) => {
  const online = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const lastCpu = Number(online.split(/[-,]/).pop());
  env.ok(t, 'run', env.writeSpec('lim', env.spec('lim', [{
    name: 'p',
    command: ['/bin/sleep', '600'],
    rlimits: { nofile: { soft: 512, hard: 1024 }, core: 0, stack: { soft: 'unlimited', hard: 'unlimited' } },
    groups: [10, 20],
    umask: '0027',
  }], { limits: { cpus: 0.5, cpuWeight: 200, cpuset: String(lastCpu) } })));
  const layout = detectLayout();
  const base = resolveParent(layout, env.cgroupParent);
  const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, 'lim', file), 'utf8').trim();
  if (layout.v2Controllers.has('cpu')) {
    t.is(read(base.v2, 'cpu.max'), '50000 100000');
    t.is(read(base.v2, 'cpu.weight'), '200');
  } else {
    t.is(read(base.v1.cpu!, 'cpu.cfs_quota_us'), '50000');
    t.is(read(base.v1.cpu!, 'cpu.cfs_period_us'), '100000');
    t.is(read(base.v1.cpu!, 'cpu.shares'), '2048', 'weight 200 is twice the default share');
  }
  t.is(read(layout.v2Controllers.has('cpuset') ? base.v2 : base.v1.cpuset!, 'cpuset.cpus'), String(lastCpu));
  const pid = pidOf(t, 'lim', 'p');
  const s = status(pid);
  t.is(s.Cpus_allowed_list, String(lastCpu));
  t.is(s.Groups, '10 20');
  t.is(s.Umask, '0027');
  const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  t.regex(limits, /^Max open files\s+512\s+1024\s/m);
  t.regex(limits, /^Max core file size\s+0\s+0\s/m);
  t.regex(limits, /^Max stack size\s+unlimited\s+unlimited\s/m);
  env.ok(t, 'rm', '-f', 'lim');
  t.deepEqual(env.leftovers(['lim']), []);
});

serial('a cpuset naming an offline cpu is refused before anything is made', (t) => {
  const r = env.cli('run', env.writeSpec('offcpu', { name: 'offcpu', limits: { cpuset: '4000' }, processes: [{ name: 'a', command: ['/bin/true'] }] }));
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /limits\.cpuset: cpu 4000 is not online on this host/);
  t.deepEqual(env.leftovers(['offcpu']), []);
});

serial('run -- CMD binds directories with -v SRC:DST[:ro], and refuses a malformed one', (t) => {
  const dir = fs.mkdtempSync(path.join(env.root, 'vol-'));
  const ro = fs.mkdtempSync(path.join(env.root, 'vol-ro-'));
  fs.writeFileSync(path.join(ro, 'in'), 'from the host');
  env.ok(t, 'run', '-d', '--name', 'vols', '-v', `${dir}:/run/out`, '--volume', `${ro}:/run/in:ro`, '--', '/bin/sh', '-c', 'cat /run/in/in > /run/out/copy; echo x > /run/in/nope; echo $? > /run/out/status; exec sleep 60');
  const until = Date.now() + 5000;
  while (!fs.existsSync(path.join(dir, 'status')) && Date.now() < until) spawnSync('sleep', ['0.05']);
  t.is(fs.readFileSync(path.join(dir, 'copy'), 'utf8'), 'from the host');
  t.not(fs.readFileSync(path.join(dir, 'status'), 'utf8').trim(), '0', 'the :ro bind is read-only');
  env.ok(t, 'rm', '-f', 'vols');
  for (const bad of ['/only-source', `${dir}:/x:rx`, `:/x`]) {
    const r = env.cli('run', '--name', 'badvol', '-v', bad, '--', '/bin/true');
    t.is(r.status, 2, bad);
    t.regex(r.stderr, /-v expects SOURCE:TARGET or SOURCE:TARGET:ro\|rw/);
  }
  const rel = env.cli('run', '--name', 'badvol', '-v', 'relative:/x', '--', '/bin/true');
  t.is(rel.status, 2);
  t.regex(rel.stderr, /mounts\[0\]\.source/);
  t.deepEqual(env.leftovers(['vols', 'badvol']), []);
});

serial('run -- CMD takes the isolation flags: --cap-add, --cap-drop, --cpus, --cpuset, --rootfs', (t) => {
  const rootfs = makeRootfs();
  t.teardown(() => fs.rmSync(rootfs, { recursive: true, force: true }));
  env.ok(t, 'run', '--name', 'flags', '--cap-add', 'NET_ADMIN,sys_time', '--cap-drop', 'MKNOD', '--cpus', '0.25', '--cpuset', '0', '--rootfs', rootfs, '--', '/bin/testbin', 'sleep', '0');
  const pid = pidOf(t, 'flags', 'testbin');
  let mask = BigInt(`0x${DEFAULT_MASK}`) | (1n << 12n) | (1n << 25n);
  mask &= ~(1n << 27n);
  t.is(hex(status(pid).CapEff), mask.toString(16));
  t.is(status(pid).Cpus_allowed_list, '0');
  t.is(fs.readlinkSync(`/proc/${pid}/exe`), '/bin/testbin', 'the command was found in the directory rootfs');
  env.ok(t, 'rm', '-f', 'flags');
  const bad = env.cli('run', '--name', 'badflag', '--cap-add', 'NOPE', '--', '/bin/true');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /security\.capabilities\.add\[0\]: unknown capability "NOPE"/);
  t.deepEqual(env.leftovers(['badflag']), []);
});

// Found by a newcomer: `network: host` (SPEC) failed with "mount sysfs '/sys': EBUSY", since
// image-less mode had already bound the host's sysfs there and the kernel refuses the same
// filesystem twice on one mount point.
serial('network: host shares the host\'s network namespace, with a fresh read-only sysfs as with none', async (t) => {
  env.ok(t, 'run', env.writeSpec('hostnet', env.spec('hostnet', [{ name: 'main', command: ['/bin/sleep', '600'] }], { network: 'host' })));
  const main = pidOf(t, 'hostnet', 'main');
  t.is(fs.readlinkSync(`/proc/${main}/ns/net`), fs.readlinkSync('/proc/self/ns/net'), 'the host\'s network namespace');
  t.true(mountOptions(main, '/sys')!.includes('ro'), '/sys is read-only');
  const sysMounts = fs.readFileSync(`/proc/${main}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith('/sys/fs/'));
  t.deepEqual(sysMounts, ['/sys/fs/cgroup'], 'none of the host\'s mounts under /sys, only the container\'s own cgroup2');
  const exec = env.cli('exec', 'hostnet', '--', '/bin/sh', '-c', 'ls /sys/class/net; cat /proc/self/cgroup; mkdir /sys/fs/cgroup/escape || echo sys-refused');
  t.is(exec.status, 0, exec.stderr);
  t.deepEqual(exec.stdout.split('\n').filter((l) => l && !l.includes(':') && l !== 'sys-refused').sort(), fs.readdirSync('/sys/class/net').sort(), 'the host\'s interfaces');
  t.regex(exec.stdout, /^0::\/$/m, 'its own cgroup namespace');
  t.regex(exec.stdout, /sys-refused/);
  env.ok(t, 'rm', '-f', 'hostnet');
});
