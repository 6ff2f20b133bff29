/**
 * Bad inputs to the monitor and the tracer it loads (found by trying to break
 * them): each is refused with a sentence naming what is wrong, never a stack
 * trace, and nothing is left behind (no pinned tracer, no container, no cgroup).
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { KernelEnv } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('monitor input tests');
const env = missing ? null! : new KernelEnv('monitor-inputs');
test.after.always(() => env?.cleanup());

const noStack = (stderr: string) => !/\n\s+at /.test(stderr);

serial('a state root that is a regular file: the monitor says so in one line', (t) => {
  const file = path.join(env.root, 'not-a-dir');
  fs.writeFileSync(file, '');
  for (const root of [file, path.join(file, 'sub')]) {
    const r = env.cli('--root', root, 'monitor');
    // Refused by the CLI before the monitor starts: a bad option value (2).
    t.is(r.status, 2, r.stderr);
    t.true(noStack(r.stderr), `no stack trace: ${r.stderr}`);
    t.true(r.stderr.startsWith(`vigil: --root ${root}: `), r.stderr);
    t.regex(r.stderr, /not a directory/);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

serial('VIGIL_BTF_PATH naming a file that is not BTF: refused with the variable named, nothing pinned or made', (t) => {
  const bogus = path.join(env.root, 'vmlinux.txt');
  fs.writeFileSync(bogus, 'this is not BTF\n');
  const cli = (...args: string[]) => {
    const saved = process.env.VIGIL_BTF_PATH;
    process.env.VIGIL_BTF_PATH = bogus;
    try {
      return env.cli(...args);
    } finally {
      if (saved === undefined) delete process.env.VIGIL_BTF_PATH;
      else process.env.VIGIL_BTF_PATH = saved;
    }
  };
  for (const args of [['monitor'], ['run', '--name', 'btf', '--', '/bin/true']]) {
    const r = cli(...args);
    t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    t.true(noStack(r.stderr), `no stack trace: ${r.stderr}`);
    t.regex(r.stderr, /VIGIL_BTF_PATH/);
    t.regex(r.stderr, /not BTF/);
  }
  t.false(fs.existsSync(env.store.pinDir), 'no tracer pinned');
  t.deepEqual(env.leftovers(['btf']), []);
});

serial('--hook naming a command that cannot run: refused at start, not at the first alarm', (t) => {
  const plain = path.join(env.root, 'not-executable.sh');
  fs.writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
  const fresh = path.join(env.root, 'hooks-root');
  for (const [cmd, why] of [['/nonexistent/page', /no such file/], [plain, /is not executable/], [env.root, /is not a file/]] as const) {
    const r = env.cli('--root', fresh, 'monitor', '--hook', `give-up=${cmd}`);
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, new RegExp(`^vigil: option --hook: ${cmd.replace(/[/.-]/g, '\\$&')}`));
    t.regex(r.stderr, why);
  }
  t.false(fs.existsSync(fresh), 'refused before the monitor made anything');
});
