import test from 'ava';
import { parseNotify, watchdogExpired, watchdogOverdueMs } from '../../../src/policy/watchdog.js';

const base = { intervalMs: 1000, lastPingMs: null, seenSinceMs: 10_000, monitorStartMs: 5_000, nowMs: 0 };

test('from the moment the process was seen: expired 1 ms after one interval, not at it', (t) => {
  t.false(watchdogExpired({ ...base, nowMs: 11_000 }));
  t.true(watchdogExpired({ ...base, nowMs: 11_001 }));
});

test('a ping moves the deadline', (t) => {
  t.false(watchdogExpired({ ...base, lastPingMs: 10_500, nowMs: 11_500 }));
  t.true(watchdogExpired({ ...base, lastPingMs: 10_500, nowMs: 11_501 }));
  t.is(watchdogOverdueMs({ ...base, lastPingMs: 10_500, nowMs: 11_750 }), 250);
});

test('a monitor that just started gives a full interval of grace, whatever the last ping', (t) => {
  const restarted = { ...base, lastPingMs: 1_000, seenSinceMs: 1_000, monitorStartMs: 20_000 };
  t.false(watchdogExpired({ ...restarted, nowMs: 21_000 }));
  t.true(watchdogExpired({ ...restarted, nowMs: 21_001 }));
});

test('notify messages: assignments, one a line', (t) => {
  t.deepEqual([...parseNotify('READY=1\nSTATUS=serving 3 clients\nnonsense\n=x\nWATCHDOG=1')], [['READY', '1'], ['STATUS', 'serving 3 clients'], ['WATCHDOG', '1']]);
});
