/**
 * What `vigil run` makes of a spec file it cannot use, or an option that is
 * not a number: refused as the user's mistake (exit 2) naming the file or the
 * field, before anything is created.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitCodeOf, main } from '../../../src/cli/main.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-run-input-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

async function refusal(argv: string[]): Promise<{ code: number; message: string }> {
  try {
    await main(['--root', root, ...argv]);
  } catch (err) {
    return { code: exitCodeOf(err), message: (err as Error).message };
  }
  throw new Error(`vigil ${argv.join(' ')} was not refused`);
}

test('a spec file that does not exist is a usage error naming it', async (t) => {
  const missing = path.join(root, 'missing.yaml');
  const r = await refusal(['run', missing]);
  t.is(r.code, 2);
  t.is(r.message, `${missing}: cannot be read: no such file`);
});

test('a directory given as the spec file is a usage error naming it', async (t) => {
  const r = await refusal(['create', root]);
  t.is(r.code, 2);
  t.is(r.message, `${root}: cannot be read: it is a directory, not a spec file`);
});

test('--cpus that is not a number shows what was typed', async (t) => {
  const r = await refusal(['run', '--name', 'x', '--cpus', 'abc', '--', '/bin/true']);
  t.is(r.code, 2);
  t.is(r.message, '(command line): limits.cpus: expected a number, got string "abc"');
  t.deepEqual(fs.readdirSync(root).filter((n) => n !== 'lock'), [], 'nothing made');
});

test('run or create with nothing to run names all three forms, the bundle included', async (t) => {
  for (const verb of ['run', 'create']) {
    const r = await refusal([verb]);
    t.is(r.code, 2);
    t.regex(r.message, new RegExp(`vigil ${verb} SPEC\\.yaml \\| vigil ${verb} --name N .* -- CMD ARG\\.\\.\\. \\| vigil ${verb} --bundle DIR \\[--name N\\]`));
  }
});
