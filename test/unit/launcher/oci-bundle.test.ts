import test from 'ava';
import { MS, OCI_PROCESS_NAME, translateBundle } from '../../../src/launcher/oci-bundle.js';
import { ociLayoutConfig } from '../../../src/launcher/oci-config.js';
import { SpecError } from '../../../src/util/errors.js';

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** What `runc spec` (1.1) writes, with terminal false and a command of our own. */
function runcSpec(): Record<string, any> {
  return JSON.parse(JSON.stringify({
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', 'echo hi'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  }));
}

const translate = (config: unknown, name = 'box') => translateBundle(config, '/srv/bundles/box', name);

test('an unmodified runc spec (terminal false) becomes a one-process container', (t) => {
  const s = translate(runcSpec());
  t.is(s.name, 'box');
  t.is(s.rootfs, '/srv/bundles/box/rootfs');
  t.is(s.hostname, 'runc');
  t.is(s.network, 'none');
  t.false(s.privileged);
  t.deepEqual(s.security, { capabilities: { drop: ['ALL'], add: ['AUDIT_WRITE', 'KILL', 'NET_BIND_SERVICE'] }, noNewPrivileges: true });
  t.deepEqual(s.mounts, []);
  t.is(s.processes.length, 1);
  const p = s.processes[0];
  t.is(p.name, OCI_PROCESS_NAME);
  t.deepEqual(p.command, ['sh', '-c', 'echo hi']);
  t.deepEqual(p.env, { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'xterm' });
  t.is(p.cwd, '/');
  t.is(p.user, '0:0');
  t.deepEqual(p.rlimits, { nofile: { soft: 1024, hard: 1024 } });
  const oci = s.oci!;
  t.true(oci.rootReadonly);
  t.deepEqual(oci.namespaces, { ipc: true, uts: true, cgroup: false });
  t.deepEqual(oci.mounts.map((m) => [m.destination, m.kind, m.fstype]), [
    ['/proc', 'filesystem', 'proc'], ['/dev', 'filesystem', 'tmpfs'], ['/dev/pts', 'filesystem', 'devpts'],
    ['/dev/shm', 'filesystem', 'tmpfs'], ['/dev/mqueue', 'filesystem', 'mqueue'], ['/sys', 'filesystem', 'sysfs'],
    ['/sys/fs/cgroup', 'cgroup', null],
  ]);
  const dev = oci.mounts[1];
  t.is(dev.flags, MS.NOSUID | MS.STRICTATIME);
  t.is(dev.data, 'mode=755,size=65536k');
  t.is(oci.mounts[2].data, 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  t.is(oci.mounts[5].flags, MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  t.is(oci.maskedPaths.length, 10);
  t.deepEqual(oci.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
});

test('absent namespaces: network means the host\'s, ipc/uts/cgroup follow; hostname falls back to the name', (t) => {
  const c = runcSpec();
  c.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'cgroup' }];
  delete c.hostname;
  const s = translate(c);
  t.is(s.network, 'host');
  t.is(s.hostname, 'box');
  t.deepEqual(s.oci!.namespaces, { ipc: false, uts: false, cgroup: true });
});

test('resources map to vigil\'s limits', (t) => {
  const c = runcSpec();
  c.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 50_000, period: 200_000, cpus: '0' } };
  t.deepEqual(translate(c).limits, { memory: 64 * 1024 * 1024, pids: 32, cpus: 0.25, oomGroup: false, cpuWeight: 50, cpuset: '0', cpuPeriod: 200_000 });
  c.linux.resources = { memory: { limit: -1 }, pids: { limit: 0 }, cpu: { quota: -1 } };
  t.deepEqual(translate(c).limits, { memory: null, pids: null, cpus: null, oomGroup: false, cpuWeight: null, cpuset: null, cpuPeriod: null });
});

test('bind mounts: a relative source is the bundle\'s, "bind" is flat, and a deny-all device rule adds nodev', (t) => {
  const c = runcSpec();
  c.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'rprivate'] });
  c.mounts.push({ destination: '/etc/hosts', source: '/etc/hosts', options: ['bind'] });
  const m = translate(c).oci!.mounts;
  t.like(m[7], { kind: 'bind', source: '/srv/bundles/box/data', flat: false, flags: MS.RDONLY | MS.NODEV, propagation: MS.PRIVATE | MS.REC });
  t.like(m[8], { kind: 'bind', source: '/etc/hosts', flat: true, flags: MS.NODEV });
  delete c.linux.resources;
  t.is(translate(c).oci!.mounts[8].flags, 0);
});

test('rlimits of RLIM_INFINITY are unlimited; additional groups and umask reach the process', (t) => {
  const c = runcSpec();
  c.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 }];
  c.process.user = { uid: 1000, gid: 100, additionalGids: [20, 44], umask: 0o27 };
  const p = translate(c).processes[0];
  t.deepEqual(p.rlimits, { core: { soft: 0, hard: 'unlimited' } });
  t.is(p.user, '1000:100');
  t.deepEqual(p.groups, [20, 44]);
  t.is(p.umask, '0027');
});

/** Each broken config: what to change, and the field path the refusal must name. */
const broken: Array<[string, (c: Record<string, any>) => void, RegExp]> = [
  ['terminal true', (c) => (c.process.terminal = true), /^process\.terminal: true needs a console/],
  ['hooks', (c) => (c.hooks = { prestart: [] }), /^hooks: not supported by vigil/],
  ['an unknown top-level field', (c) => (c.frobnicate = 1), /^frobnicate: not supported by vigil$/],
  ['seccomp', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' }), /^linux\.seccomp: not supported by vigil/],
  ['a user name', (c) => (c.process.user.username = 'root'), /^process\.user\.username: not supported/],
  ['a user namespace without mappings', (c) => c.linux.namespaces.push({ type: 'user' }), /^linux\.uidMappings: expected a non-empty list/],
  ['mappings without a user namespace', (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]), /^linux\.uidMappings: given without a user namespace/],
  ['a user not mapped', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }];
    c.process.user = { uid: 1000, gid: 0 };
  }, /^process\.user: uid 1000 is not mapped in the user namespace/],
  ['sysfs in a user namespace without a network namespace', (c) => {
    c.linux.namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }];
    c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  }, /^mounts\[5\]: sysfs in a user namespace needs a network namespace/],
  ['a namespace path', (c) => (c.linux.namespaces[1].path = '/proc/1/ns/net'), /^linux\.namespaces\[1\]\.path: joining an existing namespace/],
  ['no pid namespace', (c) => c.linux.namespaces.shift(), /^linux\.namespaces: vigil always gives a container its own pid namespace/],
  ['an overlay mount', (c) => c.mounts.push({ destination: '/x', type: 'overlay', source: 'overlay' }), /^mounts\[7\]\.type: "overlay" is not supported/],
  ['an unknown bind option', (c) => c.mounts.push({ destination: '/x', source: '/x', options: ['rbind', 'frob'] }), /^mounts\[7\]\.options\[1\]: "frob" is not a mount option vigil supports for a bind mount/],
  ['a relative destination', (c) => (c.mounts[0].destination = 'proc'), /^mounts\[0\]\.destination: expected an absolute path/],
  ['a memory limit too small', (c) => (c.linux.resources.memory = { limit: 1000 }), /^linux\.resources\.memory\.limit: must be at least 4194304, got 1000/],
  ['a memory swap limit', (c) => (c.linux.resources.memory = { limit: 2 ** 30, swap: 2 ** 30 }), /^linux\.resources\.memory\.swap: not supported by vigil/],
  ['a pids limit that is not a number', (c) => (c.linux.resources.pids = { limit: 'lots' }), /^linux\.resources\.pids\.limit: expected a number/],
  ['cpu.mems', (c) => (c.linux.resources.cpu = { mems: '0' }), /^linux\.resources\.cpu\.mems: not supported by vigil/],
  ['blockIO', (c) => (c.linux.resources.blockIO = { weight: 10 }), /^linux\.resources\.blockIO: not supported by vigil/],
  ['a device allow rule', (c) => c.linux.resources.devices.push({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }), /^linux\.resources\.devices\[1\]: device rules other than deny-all/],
  ['MKNOD with deny-all devices', (c) => c.process.capabilities.bounding.push('CAP_MKNOD'), /^linux\.resources\.devices: vigil enforces a deny-all device rule/],
  ['inheritable capabilities', (c) => (c.process.capabilities.inheritable = ['CAP_KILL']), /^process\.capabilities\.inheritable: not supported by vigil/],
  ['effective outside bounding', (c) => c.process.capabilities.effective.push('CAP_SYS_ADMIN'), /^process\.capabilities\.effective: SYS_ADMIN not in the bounding set/],
  ['an unknown capability', (c) => c.process.capabilities.bounding.push('CAP_FLY'), /^process\.capabilities\.bounding\[3\]: unknown capability "CAP_FLY"/],
  ['ambient outside bounding', (c) => c.process.capabilities.ambient.push('CAP_CHOWN'), /^process\.capabilities\.ambient: CHOWN not in the bounding set/],
  ['an unknown rlimit', (c) => (c.process.rlimits[0].type = 'RLIMIT_FROGS'), /^process\.rlimits\[0\]\.type: unknown rlimit "RLIMIT_FROGS"/],
  ['an env entry without =', (c) => c.process.env.push('JUSTNAME'), /^process\.env\[2\]: expected "NAME=value"/],
  ['a relative cwd', (c) => (c.process.cwd = 'srv'), /^process\.cwd: expected an absolute path/],
  ['empty args', (c) => (c.process.args = []), /^process\.args: must name the program/],
  ['a hostname without a uts namespace', (c) => c.linux.namespaces.splice(3, 1), /^hostname: a hostname needs a uts namespace/],
  ['runtime-spec 2', (c) => (c.ociVersion = '2.0.0'), /^ociVersion: runtime-spec "2\.0\.0" is not supported/],
  ['no root', (c) => delete c.root, /^root: expected an object/],
  ['sysctl', (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }), /^linux\.sysctl: not supported by vigil/],
  ['a cgroupsPath', (c) => (c.linux.cgroupsPath = '/x'), /^linux\.cgroupsPath: not supported by vigil: vigil places the cgroup/],
];

for (const [what, change, expected] of broken) {
  test(`refused by its field: ${what}`, (t) => {
    const c = runcSpec();
    change(c);
    const err = t.throws(() => translate(c), { instanceOf: SpecError }) as SpecError;
    t.true(err.issues.some((i) => expected.test(`${i.path}: ${i.message}`)), err.message);
    t.true(err.message.startsWith('/srv/bundles/box/config.json: '), err.message);
  });
}

test('a user namespace with its mappings', (t) => {
  const c = runcSpec();
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  t.deepEqual(translate(c).userns, { uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 200000, size: 65536 }] });
  t.is(translate(runcSpec()).userns, null);
});

test('every problem is reported at once', (t) => {
  const c = runcSpec();
  c.hooks = {};
  c.process.terminal = true;
  const err = t.throws(() => translate(c), { instanceOf: SpecError }) as SpecError;
  t.deepEqual(err.issues.map((i) => i.path).sort(), ['hooks', 'process.terminal']);
});

test('a name that is not a container name is refused, asking for --name', (t) => {
  const err = t.throws(() => translate(runcSpec(), 'My Bundle'), { instanceOf: SpecError }) as SpecError;
  t.regex(err.message, /--name: "My Bundle" is not a container name/);
});

test('helper config: the cgroup mount is a cgroup2 mount in a cgroup namespace, else a flat read-only bind of the container\'s v2 cgroup', (t) => {
  const cgroup = { path: '/p/box', v2: '/sys/fs/cgroup/unified/p/box', v1: {}, id: '1' };
  const pairs = (config: Array<[string, string]>) => config.filter(([k]) => k.startsWith('mount_'));
  const without = pairs(ociLayoutConfig(translate(runcSpec()).oci!, cgroup));
  const i = without.findIndex(([k, v]) => k === 'mount_target' && v === '/sys/fs/cgroup');
  t.deepEqual(without.slice(i - 1, i + 6), [
    ['mount_source', cgroup.v2], ['mount_target', '/sys/fs/cgroup'], ['mount_type', 'bind'],
    ['mount_flags', String(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY)], ['mount_propagation', '0'], ['mount_data', ''], ['mount_flat', '1'],
  ]);
  const c = runcSpec();
  c.linux.namespaces.push({ type: 'cgroup' });
  const config = ociLayoutConfig(translate(c).oci!, cgroup);
  const withNs = pairs(config);
  t.deepEqual(withNs.slice(i - 1, i + 3), [['mount_source', 'cgroup2'], ['mount_target', '/sys/fs/cgroup'], ['mount_type', 'cgroup2'], withNs[i + 2]]);
  t.deepEqual(config.slice(0, 5), [['layout', 'explicit'], ['rootfs_readonly', '1'], ['new_ipc', '1'], ['new_uts', '1'], ['new_cgroupns', '1']]);
  t.is(config.filter(([k]) => k === 'masked_path').length, 10);
});
