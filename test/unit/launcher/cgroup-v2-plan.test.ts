import test from 'ava';
import { LEAF, ownBase, planV2Controllers, type V2Level } from '../../../src/launcher/cgroup-v2-plan.js';
import { resolveParent, detectLayout } from '../../../src/launcher/cgroups.js';
import { UnsupportedError } from '../../../src/util/errors.js';

const ALL = ['cpuset', 'cpu', 'io', 'memory', 'pids'];

function level(dir: string, over: Partial<V2Level> = {}): V2Level {
  return { dir, root: false, available: ALL, enabled: [], hasProcesses: false, ours: true, own: false, ...over };
}

test('a relative parent under a busy own cgroup: its processes move to the leaf first, then controllers are enabled down the chain', (t) => {
  const steps = planV2Controllers([
    level('/sys/fs/cgroup', { root: true, hasProcesses: true, ours: false, enabled: ['memory', 'pids'] }),
    level('/sys/fs/cgroup/user.slice', { ours: false, enabled: ['memory', 'pids'] }),
    level('/sys/fs/cgroup/user.slice/session-1.scope', { own: true, hasProcesses: true }),
    level('/sys/fs/cgroup/user.slice/session-1.scope/vigil-test'),
  ], ['memory', 'pids']);
  t.deepEqual(steps, [
    { kind: 'evacuate', from: '/sys/fs/cgroup/user.slice/session-1.scope', to: `/sys/fs/cgroup/user.slice/session-1.scope/${LEAF}` },
    { kind: 'enable', dir: '/sys/fs/cgroup/user.slice/session-1.scope', controllers: ['memory', 'pids'] },
    { kind: 'enable', dir: '/sys/fs/cgroup/user.slice/session-1.scope/vigil-test', controllers: ['memory', 'pids'] },
  ]);
});

test('the root cgroup is exempt from the rule; what is enabled already is left alone', (t) => {
  t.deepEqual(planV2Controllers([
    level('/sys/fs/cgroup', { root: true, hasProcesses: true, enabled: ['pids'] }),
    level('/sys/fs/cgroup/vigil', { enabled: ['memory', 'pids'] }),
  ], ['memory', 'pids']), [{ kind: 'enable', dir: '/sys/fs/cgroup', controllers: ['memory'] }]);
  t.deepEqual(planV2Controllers([level('/sys/fs/cgroup', { root: true, enabled: ALL })], ['memory']), []);
});

test('a cgroup above vigil\'s own is never written: a missing controller there is refused, naming it', (t) => {
  const err = t.throws(() => planV2Controllers([
    level('/sys/fs/cgroup', { root: true, ours: false, enabled: [] }),
  ], ['memory']), { instanceOf: UnsupportedError });
  t.regex(err!.message, /^\/sys\/fs\/cgroup does not enable memory for its children, and it lies above vigil's own cgroup/);
});

test('a controller that was not delegated is refused, naming the cgroup and Delegate=yes', (t) => {
  const err = t.throws(() => planV2Controllers([
    level('/sys/fs/cgroup/system.slice/vigil.service', { own: true, available: ['pids'] }),
  ], ['memory', 'pids']), { instanceOf: UnsupportedError });
  t.regex(err!.message, /the memory controller is not available in \/sys\/fs\/cgroup\/system\.slice\/vigil\.service .*Delegate=yes/);
});

test('processes in a cgroup vigil does not own as its own (an absolute parent) are refused with the rule named', (t) => {
  const err = t.throws(() => planV2Controllers([
    level('/sys/fs/cgroup', { root: true, enabled: ['memory'] }),
    level('/sys/fs/cgroup/vigil', { hasProcesses: true }),
  ], ['memory']), { instanceOf: UnsupportedError });
  t.regex(err!.message, /\/sys\/fs\/cgroup\/vigil holds processes, so cgroup v2 lets it enable no controllers for its children \("no internal processes"\)/);
});

test('after the move, a relative parent still resolves beneath the cgroup above the leaf', (t) => {
  t.is(ownBase(`/user.slice/s.scope/${LEAF}`), '/user.slice/s.scope');
  t.is(ownBase(`/${LEAF}`), '/');
  t.is(ownBase('/user.slice/s.scope'), '/user.slice/s.scope');
  const layout = detectLayout('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n');
  const own = { v2: `/user.slice/s.scope/${LEAF}`, v1: new Map<string, string>() };
  t.is(resolveParent(layout, 'vigil-test', own).v2, '/sys/fs/cgroup/user.slice/s.scope/vigil-test');
  t.is(resolveParent(layout, '/vigil', own).v2, '/sys/fs/cgroup/vigil');
});
