import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial } = kernelSerial('benchmark');

// Not a test of speed: it keeps `npm run bench -- --vigil-only` runnable and
// checks that every row is measured and that the run leaves nothing behind.
serial('the benchmark runs vigil alone for a few rounds and prints one table', (t) => {
  const roots = () => ['/tmp', '/dev/shm'].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.startsWith('vigil-test-bench-')).map((n) => `${d}/${n}`) : []));
  const before = new Set(roots());
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'dist/bench/run.js'), '--vigil-only', '--rounds', '1', '--recoveries', '1', '--kills', '3', '--containers', '0,1', '--storm-rate', '2000'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(r.status, 0, r.stderr);
  const num = String.raw`\d+(\.\d+)?`;
  t.regex(r.stdout, new RegExp(String.raw`\| start: command → first process running, ms +\| ${num} \(${num}–${num}\)`));
  t.regex(r.stdout, new RegExp(String.raw`\| start, no Node boot: vigil-helper create \+ exec, ms +\| ${num} `));
  t.regex(r.stdout, new RegExp(String.raw`\| recovery: SIGKILL → replacement running, ms +\| ${num} `));
  t.regex(r.stdout, new RegExp(String.raw`\| detection: kernel exit → decision, idle, p50 / p99, ms +\| ${num} / ${num} `));
  t.regex(r.stdout, new RegExp(String.raw`\| detection, storm of ${num} exits/s elsewhere +\| ${num} / ${num} `));
  t.regex(r.stdout, new RegExp(String.raw`\| memory: management PSS, 1 idle containers, MiB +\| ${num} `));
  t.is(r.stdout.split('\n').filter((l) => l.startsWith('|---')).length, 1, 'one table');
  const left = roots().filter((n) => !before.has(n));
  t.deepEqual(left, [], 'state roots left behind');
  t.false(fs.existsSync(`/sys/fs/cgroup/unified/vigil-bench-storm-${r.pid}`), 'the storm cgroup is removed');
});
