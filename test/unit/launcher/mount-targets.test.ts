import test from 'ava';
import { validateSpec } from '../../../src/launcher/spec.js';
import { SpecError } from '../../../src/util/errors.js';

const withMounts = (mounts: unknown[]) => ({ name: 'm', mounts, processes: [{ name: 'a', command: ['/bin/true'] }] });


// Found by trying to break it: /proc and /proc/sys were accepted as bind targets.
for (const [target, why] of [
  ['/proc', /lies in \/proc, which vigil mounts for the container itself with security defaults \(parts masked, \/proc\/sys read-only\)/],
  ['/proc/sys', /lies in \/proc/],
  ['/proc/sys/kernel', /lies in \/proc/],
  ['/proc/', /lies in \/proc/],
  ['//proc/./sys', /lies in \/proc/],
  ['/sys', /lies in \/sys, which vigil mounts for the container itself with security defaults \(read-only, parts masked, the container's own cgroup at \/sys\/fs\/cgroup\)/],
  ['/sys/fs/cgroup', /lies in \/sys/],
  ['/dev', /is the container's \/dev, which vigil makes itself/],
  ['/dev/', /is the container's \/dev/],
  ['/dev/pts', /lies in \/dev\/pts, which vigil makes in the container's \/dev itself/],
  ['/dev/pts/0', /lies in \/dev\/pts/],
  ['/dev/null', /lies in \/dev\/null/],
  ['/dev/fd', /lies in \/dev\/fd/],
  ['/', /cannot mount over the container root/],
  ['/.', /cannot mount over the container root/],
] as const) {
  test(`a bind mount at ${target} is refused by spec validation with the field's path`, (t) => {
    const err = t.throws(() => validateSpec(withMounts([{ source: '/srv', target: '/data' }, { source: '/srv', target }])), { instanceOf: SpecError });
    t.deepEqual(err!.issues.map((i) => i.path), ['mounts[1].target']);
    t.regex(err!.issues[0].message, why);
  });
}

test('SPEC\'s mounts still work: plain binds, and paths under /dev, /tmp and /run vigil does not make', (t) => {
  const s = validateSpec(withMounts([
    { source: '/srv/data', target: '/data', readonly: false },
    { source: '/run/systemd/journal/dev-log', target: '/dev/log' },
    { source: '/dev/fuse', target: '/dev/fuse' },
    { source: '/srv/x', target: '/processes' },
    { source: '/srv/x', target: '/system' },
    { source: '/srv/x', target: '/devices' },
    { source: '/srv/x', target: '/tmp/x', readonly: true },
  ]));
  t.deepEqual(s.mounts.map((m) => m.target), ['/data', '/dev/log', '/dev/fuse', '/processes', '/system', '/devices', '/tmp/x']);
});
