/** `vigil monitor` option errors come before anything is touched. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../src/paths.js';

const cases: Array<[string[], RegExp]> = [
  [['--metrics', '0.0.0.0:9464'], /^vigil: option --metrics: 0\.0\.0\.0 is not a loopback address; metrics are served on 127\.0\.0\.1 or ::1 only/],
  [['--metrics', 'localhost'], /^vigil: option --metrics: expected HOST:PORT/],
  [['--hook', 'give-up=page'], /^vigil: option --hook: .*must be an absolute path, got "page"/],
  [['--hook', 'oom=/bin/true', '--hook=exit=/bin/true'], /^vigil: option --hook: give it once/],
];

for (const [args, message] of cases) {
  test(`vigil monitor ${args.join(' ')} is a usage error, and leaves nothing behind`, (t) => {
    const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-monitor-')), 'root');
    t.teardown(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));
    const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/vigil'), '--root', root, 'monitor', ...args], { encoding: 'utf8' });
    t.is(r.status, 2);
    t.regex(r.stderr, message);
    t.false(fs.existsSync(root));
  });
}
