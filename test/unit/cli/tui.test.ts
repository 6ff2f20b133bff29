import { spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../../src/paths.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');

test('vigil tui without a terminal says what to use instead; extra arguments are refused', (t) => {
  const piped = spawnSync(process.execPath, [VIGIL, '--root', '/nonexistent-vigil-root', 'tui'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  t.is(piped.status, 2);
  t.is(piped.stderr, 'vigil: vigil tui needs a terminal on stdin and stdout (for a stream of events, use vigil events --follow)\n');
  const extra = spawnSync(process.execPath, [VIGIL, 'tui', 'now'], { encoding: 'utf8' });
  t.is(extra.status, 2);
  t.regex(extra.stderr, /usage: vigil tui/);
});
