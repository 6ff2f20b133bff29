import test from 'ava';
import { requestProblem } from '../../../src/control/protocol.js';
import { parseSince } from '../../../src/cli/events.js';

test('requests are checked field by field', (t) => {
  t.is(requestProblem({ id: 1, type: 'snapshot' }), null);
  t.is(requestProblem({ id: 2, type: 'subscribe', since: 0 }), null);
  t.is(requestProblem({ id: 3, type: 'stop', container: 'svc', process: 'api', timeoutMs: 1000 }), null);
  t.is(requestProblem([]), 'a request must be a map');
  t.is(requestProblem({ type: 'snapshot' }), 'id: expected an integer');
  t.regex(requestProblem({ id: 1, type: 'reboot' }) ?? '', /^type: expected one of snapshot, subscribe, restart, start, stop, got "reboot"/);
  t.is(requestProblem({ id: 1, type: 'subscribe', since: -1 }), 'since: expected a seq (an integer >= 0)');
  t.is(requestProblem({ id: 1, type: 'restart' }), 'container: expected a container name');
  t.is(requestProblem({ id: 4, type: 'start', container: 'svc', process: 'api' }), null);
  t.is(requestProblem({ id: 1, type: 'start' }), 'container: expected a container name');
  t.is(requestProblem({ id: 1, type: 'restart', container: 'svc', process: 5 }), 'process: expected a process name or null');
  t.regex(requestProblem({ id: 1, type: 'stop', container: 'svc', timeoutMs: -5 }) ?? '', /^timeoutMs:/);
});

test('--since takes a seq, an ISO time or a duration ago, and names what it got otherwise', (t) => {
  const now = Date.parse('2026-12-03T18:00:00.000Z');
  t.deepEqual(parseSince('42', now), { seq: 42 });
  t.deepEqual(parseSince('2026-12-03T17:00:00Z', now), { timeMs: Date.parse('2026-12-03T17:00:00Z') });
  t.deepEqual(parseSince('10m', now), { timeMs: now - 600_000 });
  t.is(parseSince(undefined, now), null);
  t.throws(() => parseSince('yesterday', now), { message: /option --since expects a seq .* got "yesterday"/ });
  t.throws(() => parseSince('2026-13-45T99:00:00Z', now), { message: /--since/ });
});
