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

test('a cpuset must name online cpus; both problems are reported at once', (t) => {
  t.notThrows(() => checkSpecOnHost(spec({ limits: { cpuset: '0-1' } }), null, [0, 1]));
  const err = t.throws(() => checkSpecOnHost(spec({ rootfs: '/no/such', limits: { cpuset: '1-3' } }), null, [0, 1]), { instanceOf: SpecError });
  t.deepEqual(err!.issues.map((i) => i.path), ['rootfs', 'limits.cpuset']);
  t.regex(err!.message, /limits\.cpuset: cpu 2, 3 is not online on this host \(online: 0,1\)/);
});
