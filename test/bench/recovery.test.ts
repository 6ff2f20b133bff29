import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial } = kernelSerial('recovery benchmark');

// The benchmark is not a test of speed; this only keeps `npm run bench` runnable.
serial('the recovery benchmark runs a few rounds and prints its table', (t) => {
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist/bench/recovery.js'), '3'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\| detection: kernel exit -> decision +\| +\d+\.\d+ \|/);
  t.regex(r.stdout, /\| recovery: kernel exit -> replacement running +\| +\d+\.\d+ \|/);
  t.regex(r.stdout, /\| detection, host fork\/exit storm \(\d+ loops\) +\| +\d+\.\d+ \|/);
});
