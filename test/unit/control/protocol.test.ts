import test from 'ava';
import { requestProblem } from '../../../src/control/protocol.js';
import { parseSince } from '../../../src/cli/events.js';

test('requests are checked field by field', (t) => {
  t.is(requestProblem({ id: 1, type: 'snapshot' }), null);
  t.is(requestProblem({ id: 2, type: 'subscribe', since: 0 }), null);
  t.is(requestProblem({ id: 3, type: 'stop', container: 'svc', process: 'api', timeoutMs: 1000 }), null);
  t.is(requestProblem([]), 'a request must be a map');
  t.is(requestProblem({ type: 'snapshot' }), 'id: expected an integer');
  t.regex(requestProblem({ id: 1, type: 'reboot' }) ?? '', /^type: expected one of snapshot, subscribe, restart, start, stop, note, got "reboot"/);
  t.is(requestProblem({ id: 1, type: 'subscribe', since: -1 }), 'since: expected a seq (an integer >= 0)');
  t.is(requestProblem({ id: 1, type: 'restart' }), 'container: expected a container name');
  t.is(requestProblem({ id: 4, type: 'start', container: 'svc', process: 'api' }), null);
  t.is(requestProblem({ id: 1, type: 'start' }), 'container: expected a container name');
  t.is(requestProblem({ id: 1, type: 'restart', container: 'svc', process: 5 }), 'process: expected a process name or null');
  t.regex(requestProblem({ id: 1, type: 'stop', container: 'svc', timeoutMs: -5 }) ?? '', /^timeoutMs:/);
  const note = { id: 5, type: 'note', kind: 'start', action: 'restart', container: 'svc', process: 'api', pid: 42, reason: 'operator restart of svc/api done' };
  t.is(requestProblem(note), null);
  t.is(requestProblem({ ...note, process: null, pid: null }), null);
  t.is(requestProblem({ ...note, kind: 'exit' }), 'kind: expected operator, start or stop, got "exit"');
  t.is(requestProblem({ ...note, action: 'kill' }), 'action: expected start, stop or restart, got "kill"');
  t.is(requestProblem({ ...note, container: '' }), 'container: expected a container name');
  t.is(requestProblem({ ...note, process: undefined }), 'process: expected a process name or null');
  t.is(requestProblem({ ...note, pid: -1 }), 'pid: expected a pid or null');
  t.is(requestProblem({ ...note, reason: 'x'.repeat(2001) }), 'reason: expected a sentence (at most 2000 characters)');
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
