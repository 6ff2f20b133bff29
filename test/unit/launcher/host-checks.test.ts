import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSpecOnHost } from '../../../src/launcher/host-checks.js';
import { validateSpec } from '../../../src/launcher/spec.js';
import { SpecError } from '../../../src/util/errors.js';

const spec = (extra: Record<string, unknown>) => validateSpec({ name: 'c', processes: [{ name: 'a', command: ['x'] }], ...extra });

test('a directory rootfs that exists passes; a missing one or a file is refused naming rootfs', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-hc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'f'), '');
  t.notThrows(() => checkSpecOnHost(spec({ rootfs: dir }), 's.yaml', [0]));
  t.throws(() => checkSpecOnHost(spec({ rootfs: path.join(dir, 'nope') }), 's.yaml', [0]), { instanceOf: SpecError, message: /^s\.yaml: rootfs: ".*nope" cannot be used: ENOENT$/ });
  t.throws(() => checkSpecOnHost(spec({ rootfs: path.join(dir, 'f') }), 's.yaml', [0]), { instanceOf: SpecError, message: /rootfs: ".*\/f" is not a directory/ });
});

test('a bind source must exist; in image-less mode a target must exist on the host unless under /tmp, /run or /dev', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-hc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.notThrows(() => checkSpecOnHost(spec({ mounts: [{ source: dir, target: '/tmp/made-by-vigil' }, { source: dir, target: dir }] }), 's.yaml', [0]));
  const err = t.throws(() => checkSpecOnHost(spec({ mounts: [{ source: path.join(dir, 'nope'), target: '/tmp/x' }, { source: dir, target: '/no/such/target' }] }), 's.yaml', [0]), { instanceOf: SpecError });
  t.deepEqual(err!.issues.map((i) => i.path), ['mounts[0].source', 'mounts[1].target']);
  t.regex(err!.message, /mounts\[0\]\.source: ".*nope" cannot be used: ENOENT/);
  t.regex(err!.message, /mounts\[1\]\.target: "\/no\/such\/target" does not exist on the host, and the host's root is read-only in image-less mode \(targets under \/tmp, \/run or \/dev are made\)/);
  // a directory rootfs is the container's own: vigil makes missing targets in it
  t.notThrows(() => checkSpecOnHost(spec({ rootfs: dir, mounts: [{ source: dir, target: '/no/such/target' }] }), 's.yaml', [0]));
});

test('a cpuset must name online cpus; both problems are reported at once', (t) => {
  t.notThrows(() => checkSpecOnHost(spec({ limits: { cpuset: '0-1' } }), null, [0, 1]));
  const err = t.throws(() => checkSpecOnHost(spec({ rootfs: '/no/such', limits: { cpuset: '1-3' } }), null, [0, 1]), { instanceOf: SpecError });
  t.deepEqual(err!.issues.map((i) => i.path), ['rootfs', 'limits.cpuset']);
  t.regex(err!.message, /limits\.cpuset: cpu 2, 3 is not online on this host \(online: 0,1\)/);
});
