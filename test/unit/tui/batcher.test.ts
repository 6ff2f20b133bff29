import test from 'ava';
import { Batcher, FLUSH_MS } from '../../../tui/batcher.js';
import { ManualTimers, record } from '../../helpers/tui-fixtures.js';

test('a record waits at most FLUSH_MS: nothing 1 ms before, one flush at it', (t) => {
  const timers = new ManualTimers();
  const flushes: number[][] = [];
  const b = new Batcher((rs) => flushes.push(rs.map((r) => r.seq)), 1000, timers);
  b.push(record(1));
  timers.advance(FLUSH_MS - 1);
  b.push(record(2));
  t.is(flushes.length, 0);
  timers.advance(1);
  t.deepEqual(flushes, [[1, 2]]);
  timers.advance(10 * FLUSH_MS);
  t.is(flushes.length, 1, 'no flush without records');
});

test('a storm of 10,000 records a second flushes ten times a second, and what waits stays bounded', (t) => {
  const timers = new ManualTimers();
  let flushes = 0;
  let largest = 0;
  const b = new Batcher((rs) => {
    flushes++;
    largest = Math.max(largest, rs.length);
  }, 500, timers);
  let seq = 0;
  let most = 0;
  for (let ms = 0; ms < 1000; ms++) {
    for (let i = 0; i < 10; i++) b.push(record(++seq));
    most = Math.max(most, b.waiting);
    timers.advance(1);
  }
  t.is(seq, 10_000);
  t.is(flushes, 10);
  t.is(largest, 500, 'a flush hands on at most the limit (the newest)');
  t.true(most <= 1000, `at most twice the limit waits (saw ${most})`);
  t.is(b.trimmed, 10_000 - 10 * 500);
});
