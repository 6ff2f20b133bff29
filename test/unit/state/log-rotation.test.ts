import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateSpec } from '../../../src/launcher/spec.js';
import { generation, readLog, rotateContainerLogs, rotateIfLarge } from '../../../src/state/log-rotation.js';
import { flock } from '../../../src/tracer/native.js';
import { SpecError } from '../../../src/util/errors.js';

function tmpLog(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-logrot-'));
  return path.join(dir, 'p.log');
}

/** A writer as vigil-helper gives a process: the log opened O_APPEND. */
function appender(file: string): (text: string) => void {
  const fd = fs.openSync(file, 'a');
  return (text) => fs.writeSync(fd, text);
}

test('below the size nothing happens; at it, the contents move to .1 and the writer goes on at offset 0 with no hole', (t) => {
  const file = tmpLog();
  const write = appender(file);
  write('x'.repeat(999));
  t.false(rotateIfLarge(file, { maxBytes: 1000, keep: 2 }));
  write('y\n');
  t.true(rotateIfLarge(file, { maxBytes: 1000, keep: 2 }));
  t.is(fs.readFileSync(generation(file, 1), 'utf8'), `${'x'.repeat(999)}y\n`);
  t.is(fs.statSync(file).size, 0);
  write('after\n');
  t.is(fs.readFileSync(file, 'utf8'), 'after\n', 'the same descriptor appends at the new end');
  t.is(fs.statSync(file).size, 6);
});

test('generations shift, the oldest beyond keep is dropped, and readLog gives them oldest first', (t) => {
  const file = tmpLog();
  const write = appender(file);
  for (const gen of ['a', 'b', 'c', 'd']) {
    write(`${gen.repeat(10)}\n`);
    t.true(rotateIfLarge(file, { maxBytes: 5, keep: 2 }));
  }
  write('now\n');
  t.is(fs.readFileSync(generation(file, 1), 'utf8'), 'dddddddddd\n');
  t.is(fs.readFileSync(generation(file, 2), 'utf8'), 'cccccccccc\n');
  t.false(fs.existsSync(generation(file, 3)));
  t.is(readLog(file, 2), 'cccccccccc\ndddddddddd\nnow\n');
});

test('keep 0 truncates without keeping anything; a missing file is left alone', (t) => {
  const file = tmpLog();
  const write = appender(file);
  write('0123456789');
  t.true(rotateIfLarge(file, { maxBytes: 5, keep: 0 }));
  t.is(fs.statSync(file).size, 0);
  t.false(fs.existsSync(generation(file, 1)));
  t.false(rotateIfLarge(`${file}.absent`, { maxBytes: 5, keep: 1 }));
});

test('a log another rotator holds is not rotated twice', (t) => {
  const file = tmpLog();
  appender(file)('0123456789');
  const other = fs.openSync(file, 'r');
  t.true(flock(other, true, false));
  t.false(rotateIfLarge(file, { maxBytes: 5, keep: 1 }));
  fs.closeSync(other);
  t.true(rotateIfLarge(file, { maxBytes: 5, keep: 1 }));
});

test('rotateContainerLogs covers every process and exec, with the spec\'s policy or the default', (t) => {
  const file = tmpLog();
  const dir = path.dirname(file);
  const logFile = (p: string) => path.join(dir, `${p}.log`);
  for (const p of ['a', 'b', 'exec']) fs.writeFileSync(logFile(p), 'z'.repeat(2000));
  const spec = { processes: [{ name: 'a' }, { name: 'b' }], logs: { maxBytes: 1024, keep: 1 } };
  t.deepEqual(rotateContainerLogs(logFile, spec), ['a', 'b', 'exec'].map(logFile));
  t.deepEqual(rotateContainerLogs(logFile, { processes: [{ name: 'a' }] }), [], 'the default (10M) is far above 2000 bytes');
});

test('spec: logs takes maxSize and keep, checked with their paths', (t) => {
  const base = { name: 'svc', processes: [{ name: 'a', command: ['/bin/true'] }] };
  t.deepEqual(validateSpec(base).logs, { maxBytes: 10 * 1024 * 1024, keep: 3 });
  t.deepEqual(validateSpec({ ...base, logs: { maxSize: '64K', keep: 0 } }).logs, { maxBytes: 65536, keep: 0 });
  const err = t.throws(() => validateSpec({ ...base, logs: { maxSize: '10', keep: -1, rotate: true } }), { instanceOf: SpecError }) as SpecError;
  t.deepEqual(err.issues.map((i) => i.path).sort(), ['logs.keep', 'logs.maxSize', 'logs.rotate']);
});
