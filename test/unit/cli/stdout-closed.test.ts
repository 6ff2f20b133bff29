import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../../src/paths.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');

// Found by a newcomer: `vigil logs NAME PROCESS | head -2` printed an EPIPE stack trace.
test('a reader that closes stdout early ends vigil quietly with 128+SIGPIPE, no stack trace', async (t) => {
  const child = spawn(process.execPath, [VIGIL, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Close our read end at once: Node's boot takes far longer, so the help is written into a pipe with no reader.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.is(stderr, '');
  t.is(status, 141);
});
