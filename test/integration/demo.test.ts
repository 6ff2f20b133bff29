/**
 * The README's first quick-start command ends in the demo: it must inject its
 * three faults, see each detected and recovered, and leave nothing behind.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { detectLayout, resolveParent } from '../../src/launcher/cgroups.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial } = kernelSerial('the demo');

serial('the demo detects and recovers its three faults, prints a clean table, and leaves nothing behind', (t) => {
  const before = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('vigil-demo-')));
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist/src/demo/demo.js')], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /faults injected 3, detected 3, recovered 3/);
  for (const fault of ['signaled SIGKILL', 'signaled SIGSEGV', 'oom-killed SIGKILL']) t.regex(r.stdout, new RegExp(`${fault}\\s+[\\d.]+ ms\\s+[\\d.]+ ms`));
  t.false(/^ +$/m.test(r.stdout), 'no line of spaces only');
  const summary = r.stdout.slice(r.stdout.indexOf('vigil ps'));
  t.false(/monitor/.test(summary.slice(0, summary.indexOf('summary'))), 'nothing between the ps table and the summary');
  // Its state root and its cgroup parent are gone, in every hierarchy.
  t.deepEqual(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('vigil-demo-') && !before.has(n)), []);
  const layout = detectLayout();
  const parent = `vigil-demo-${r.pid}`;
  const dirs = resolveParent(layout, parent);
  for (const dir of [dirs.v2, ...Object.values(dirs.v1)]) t.false(fs.existsSync(dir!), `${dir} removed`);
});
