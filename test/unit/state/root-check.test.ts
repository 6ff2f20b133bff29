import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../../src/paths.js';
import { stateRootProblem } from '../../../src/state/root-check.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-root-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a plain directory, existing or not yet, is a state root', (t) => {
  const dir = tempDir(t);
  t.is(stateRootProblem(dir), null);
  t.is(stateRootProblem(path.join(dir, 'not', 'yet')), null);
});

test('/dev/shm, a plain tmpfs, may hold state (the benchmarks keep theirs there)', (t) => {
  t.is(stateRootProblem('/dev/shm/vigil-unit-not-made'), null);
});

for (const [root, tree] of [['/proc/self', '/proc'], ['/proc', '/proc'], ['/sys/fs/cgroup', '/sys'], ['/sys/fs/bpf/vigil-x', '/sys'], ['/dev', '/dev'], ['/dev/pts/vigil', '/dev'], ['/dev/shmx', '/dev']]) {
  test(`${root} is refused: it lies under ${tree}`, (t) => {
    t.regex(stateRootProblem(root) ?? '', new RegExp(`^a path under ${tree}, which the kernel serves`));
  });
}

test('a symbolic link into /proc is refused by where it leads', (t) => {
  const link = path.join(tempDir(t), 'state');
  fs.symlinkSync('/proc/self', link);
  t.regex(stateRootProblem(link) ?? '', /^a path under \/proc, which the kernel serves \(it resolves to \/proc\/\d+\)/);
  t.regex(stateRootProblem(path.join(link, 'deeper')) ?? '', /under \/proc/);
});

test('a file, or a path through a file, is refused', (t) => {
  const file = path.join(tempDir(t), 'f');
  fs.writeFileSync(file, '');
  t.is(stateRootProblem(file), 'not a directory');
  t.is(stateRootProblem(path.join(file, 'x')), `${file} is not a directory`);
});

// Found by trying to break it: Node's recursive mkdir retried /proc/PID/containers for ever.
for (const [how, args, env, named] of [
  ['--root', ['--root', '/proc/self'], {}, '--root /proc/self'],
  ['--root=', ['--root=/proc/self'], {}, '--root /proc/self'],
  ['VIGIL_ROOT', [], { VIGIL_ROOT: '/proc/self' }, 'VIGIL_ROOT /proc/self'],
] as const) {
  test(`vigil refuses a state root under /proc given by ${how} at once, naming the option and the path`, (t) => {
    const r = spawnSync(process.execPath, [VIGIL, ...args, 'run', '--name', 'spin', '--', '/bin/true'], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, VIGIL_ROOT: '', ...env },
    });
    t.is(r.signal, null, 'vigil ended by itself (before the fix it span until killed)');
    t.is(r.status, 2);
    t.is(r.stdout, '');
    t.regex(r.stderr, new RegExp(`^vigil: ${named}: a path under /proc, which the kernel serves`));
  });
}
