import test from 'ava';
import fs from 'node:fs';
import { isAlive, parseStat } from '../../../src/launcher/proc.js';

test('parseStat survives a comm with spaces and parentheses', (t) => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[1] = '77';
  fields[22 - 3] = '123456';
  t.deepEqual(parseStat(`4242 (evil) (name) x) ${fields.join(' ')}`), { state: 'S', ppid: 77, startTime: 123456 });
  t.is(parseStat('garbage'), null);
});

test('isAlive checks the start time, not just the pid', (t) => {
  const own = parseStat(fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8'))!;
  t.true(isAlive(process.pid, own.startTime));
  t.false(isAlive(process.pid, own.startTime + 1));
  t.false(isAlive(null, own.startTime));
});
