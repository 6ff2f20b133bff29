import test from 'ava';
import { describeLayout, detectLayout, ownCgroups, readLayout, resolveParent, VIGIL_V2_MOUNT, weightToShares } from '../../../src/launcher/cgroups.js';
import { UsageError } from '../../../src/util/errors.js';

const HYBRID = `tmpfs /sys/fs/cgroup tmpfs rw 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0
`;
const PURE = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n';

test('hybrid: identity from the v2 tree, controllers from v1', (t) => {
  const l = detectLayout(HYBRID);
  t.is(l.kind, 'hybrid');
  t.is(l.v2Mount, '/sys/fs/cgroup/unified');
  t.deepEqual(l.v1Mounts, { cpu: '/sys/fs/cgroup/cpu,cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' });
});

test('pure v2', (t) => {
  const l = detectLayout(PURE);
  t.is(l.kind, 'v2');
  t.is(l.v2Mount, '/sys/fs/cgroup');
});

test('no v2 tree at all is refused in words', (t) => {
  t.throws(() => detectLayout('cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n'), { message: /no cgroup v2 hierarchy is mounted/ });
});

const V1_ONLY = `tmpfs /sys/fs/cgroup tmpfs ro 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0
`;

test('v1 only: read as v1 with no v2 tree yet, and once vigil mounted its own the layout is v1 with identity from there', (t) => {
  const before = readLayout(V1_ONLY);
  t.is(before.kind, 'v1');
  t.is(before.v2Mount, null);
  const l = detectLayout(`${V1_ONLY}cgroup2 ${VIGIL_V2_MOUNT} cgroup2 rw,nosuid,nodev,noexec 0 0\n`);
  t.is(l.kind, 'v1');
  t.is(l.v2Mount, '/run/vigil/cgroup2');
  t.deepEqual(l.v1Mounts, { memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' });
  t.is(describeLayout(l), "v1 (vigil's v2 tree at /run/vigil/cgroup2)");
});

test('a v2 tree the host mounts wins over vigil\'s own', (t) => {
  const l = detectLayout(`cgroup2 ${VIGIL_V2_MOUNT} cgroup2 rw 0 0\n${HYBRID}`);
  t.is(l.kind, 'hybrid');
  t.is(l.v2Mount, '/sys/fs/cgroup/unified');
  t.is(describeLayout(l), 'hybrid');
  t.is(describeLayout(detectLayout(PURE)), 'v2');
});

test('own cgroups are read per hierarchy', (t) => {
  const own = ownCgroups('9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/user.slice\n');
  t.is(own.v2, '/user.slice');
  t.is(own.v1.get('memory'), '/process_api/abc');
  t.is(own.v1.get('cpu'), '/x');
});

test('a relative parent lies beneath our own cgroup in each hierarchy; an absolute one does not', (t) => {
  const layout = { ...detectLayout(HYBRID), v2Controllers: new Set<string>() };
  const own = { v2: '/', v1: new Map([['memory', '/process_api/abc'], ['pids', '/'], ['cpu', '/']]) };
  const rel = resolveParent(layout, 'vigil-test-1', own);
  t.is(rel.v2, '/sys/fs/cgroup/unified/vigil-test-1');
  t.is(rel.v1.memory, '/sys/fs/cgroup/memory/process_api/abc/vigil-test-1');
  const abs = resolveParent(layout, '/vigil', own);
  t.is(abs.v2, '/sys/fs/cgroup/unified/vigil');
  t.is(abs.v1.memory, '/sys/fs/cgroup/memory/vigil');
});

test('a parent with ".." is refused: it could leave our own cgroup, or the cgroup mount', (t) => {
  const layout = { ...detectLayout(HYBRID), v2Controllers: new Set<string>() };
  const own = { v2: '/', v1: new Map([['memory', '/process_api/abc']]) };
  for (const bad of ['..', '../x', 'a/../..', '/../../tmp/x', '/vigil/..']) {
    t.throws(() => resolveParent(layout, bad, own), { instanceOf: UsageError, message: /^--cgroup-parent: ".." is not allowed, got "/ }, bad);
  }
  t.is(resolveParent(layout, 'a..b', own).v2, '/sys/fs/cgroup/unified/a..b', 'a name with dots in it is fine');
});

test('a controller the v2 tree offers is not used on v1', (t) => {
  const layout = { ...detectLayout(HYBRID), v2Controllers: new Set(['memory']) };
  const p = resolveParent(layout, '/vigil', { v2: '/', v1: new Map() });
  t.is(p.v1.memory, undefined);
  t.is(p.v1.pids, '/sys/fs/cgroup/pids/vigil');
});

test('a v1 cpuset hierarchy is found', (t) => {
  const l = detectLayout(HYBRID + 'cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n');
  t.is(l.v1Mounts.cpuset, '/sys/fs/cgroup/cpuset');
});

test('cpu weight maps to v1 shares proportionally, default to default, clamped to the kernel range', (t) => {
  t.is(weightToShares(100), 1024);
  t.is(weightToShares(200), 2048);
  t.is(weightToShares(1), 10);
  t.is(weightToShares(10_000), 102_400);
  t.is(weightToShares(0), 2);
});
