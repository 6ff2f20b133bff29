import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../../src/paths.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');

function vigil(t: { teardown(fn: () => void): void }, ...args: string[]) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-detach-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return spawnSync(process.execPath, [VIGIL, '--root', root, ...args], { encoding: 'utf8', timeout: 60_000 });
}

// Found by trying to break it: run's -d was accepted and did nothing, unsaid.
test('run -d and --detach are plain flags: they take no value and change nothing (the same answer as without)', (t) => {
  const missing = path.join(os.tmpdir(), 'vigil-no-such-spec.yaml');
  const plain = vigil(t, 'run', missing);
  for (const flag of ['-d', '--detach']) {
    const detached = vigil(t, 'run', flag, missing);
    t.is(detached.status, 2);
    t.is(detached.stderr, plain.stderr, `${flag} did not take the spec file as its value`);
  }
  t.regex(plain.stderr, /vigil-no-such-spec\.yaml/);
});

test('create -d is refused: create starts nothing, so a detach flag would only mislead', (t) => {
  const r = vigil(t, 'create', '-d', 'spec.yaml');
  t.is(r.status, 2);
  t.regex(r.stderr, /^vigil: vigil create starts nothing, so -d\/--detach means nothing there \(vigil run always returns once started\)/);
});

test('vigil --help says run always returns and -d changes nothing', (t) => {
  const r = vigil(t, '--help');
  t.is(r.status, 0);
  t.regex(r.stdout, /run \[-d\] SPEC\.yaml\s+create and start a container; print its name and\n\s+return \(always: -d, as Docker's, changes nothing\)/);
});
