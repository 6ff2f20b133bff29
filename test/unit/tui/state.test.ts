import test from 'ava';
import { JOURNAL_KINDS } from '../../../src/journal/journal.js';
import { EVENT_KINDS, FEED_LIMIT, initialState, isStale, nextRestartAtMs, reduce, STALE_AFTER_MS, visibleFeed, type TuiAction, type TuiState } from '../../../tui/state.js';
import { container, NOW, proc, record, snapshot } from '../../helpers/tui-fixtures.js';

function run(...actions: TuiAction[]): TuiState {
  return actions.reduce(reduce, initialState());
}

test('records are kept in seq order, never twice, and at most FEED_LIMIT of them', (t) => {
  let s = run({ type: 'records', records: [record(1), record(2), record(3)] });
  s = reduce(s, { type: 'records', records: [record(2), record(3), record(4)] });
  t.deepEqual(s.feed.map((r) => r.seq), [1, 2, 3, 4]);
  t.is(s.lastSeq, 4);
  const many = Array.from({ length: 3 * FEED_LIMIT }, (_, i) => record(10 + i));
  s = reduce(s, { type: 'records', records: many });
  t.is(s.feed.length, FEED_LIMIT);
  t.is(s.feed[0].seq, 10 + 2 * FEED_LIMIT);
  t.is(s.feed.at(-1)!.seq, 9 + 3 * FEED_LIMIT);
  t.is(s.received, 4 + 3 * FEED_LIMIT);
});

test('a record the monitor could not journal (it repeats the last seq) is still shown', (t) => {
  const s = run({ type: 'records', records: [record(5), record(5, { unjournaled: true, kind: 'error', reason: 'journal: ENOSPC' }), record(5)] });
  t.deepEqual(s.feed.map((r) => r.reason), ['record 5', 'journal: ENOSPC']);
  t.is(s.lastSeq, 5);
});

test('a paused feed keeps what it showed and counts what came meanwhile', (t) => {
  let s = run({ type: 'records', records: [record(1)] }, { type: 'pause' });
  s = reduce(s, { type: 'records', records: [record(2), record(3)] });
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [1]);
  t.is(s.newWhilePaused, 2);
  s = reduce(s, { type: 'pause' });
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [1, 2, 3]);
});

test('filters: scope follows the selection, kinds are checked, search reads the whole line', (t) => {
  const snap = snapshot([container('alpha', [proc('api'), proc('db')]), container('beta', [proc('web')])]);
  let s = run(
    { type: 'snapshot', snapshot: snap, atMs: NOW },
    { type: 'records', records: [record(1, { container: 'alpha', process: 'api' }), record(2, { container: 'alpha', process: 'db', kind: 'restart' }), record(3, { container: 'beta', process: 'web', reason: 'killed by SIGKILL from pid 7 (bash, host)' })] },
  );
  t.is(s.selectedContainer, 'alpha');
  s = reduce(s, { type: 'scope' });
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [1, 2]);
  s = reduce(reduce(s, { type: 'focus' }), { type: 'move', by: 1 });
  s = reduce(s, { type: 'scope' });
  t.is(s.scope, 'process');
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [2]);
  s = reduce(s, { type: 'scope' });
  s = reduce(reduce(s, { type: 'prompt', kind: 'kinds' }), { type: 'prompt-text', text: 'exit, bogus' });
  s = reduce(s, { type: 'prompt-done', atMs: NOW });
  t.truthy(s.prompt, 'a wrong kind keeps the prompt open');
  t.regex(s.message!.text, /unknown event kind "bogus": kinds are exit, signal/);
  s = reduce(reduce(s, { type: 'prompt-text', text: 'exit' }), { type: 'prompt-done', atMs: NOW });
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [1, 3]);
  s = reduce(reduce(reduce(s, { type: 'prompt', kind: 'search' }), { type: 'prompt-text', text: 'BASH' }), { type: 'prompt-done', atMs: NOW });
  t.deepEqual(visibleFeed(s).map((r) => r.seq), [3]);
});

test('the selection stays on a name across snapshots, and moves to what exists when it goes', (t) => {
  const two = snapshot([container('alpha', [proc('api')]), container('beta', [proc('web')])]);
  let s = run({ type: 'snapshot', snapshot: two, atMs: NOW }, { type: 'move', by: 1 });
  t.is(s.selectedContainer, 'beta');
  s = reduce(s, { type: 'snapshot', snapshot: snapshot([container('aaa', [proc('x')]), ...two.containers]), atMs: NOW + 1000 });
  t.is(s.selectedContainer, 'beta');
  s = reduce(s, { type: 'snapshot', snapshot: snapshot([container('aaa', [proc('x')])]), atMs: NOW + 2000 });
  t.is(s.selectedContainer, 'aaa');
  t.is(s.selectedProcess, 'x');
});

test('events per second come from the tracer counts of two snapshots of one monitor', (t) => {
  let s = run({ type: 'snapshot', snapshot: snapshot([], { tracer: { pinDir: '/p', attached: true, pinned: true, events: 100 } }), atMs: NOW });
  t.is(s.eventsPerSecond, null);
  s = reduce(s, { type: 'snapshot', snapshot: snapshot([], { tracer: { pinDir: '/p', attached: true, pinned: true, events: 350 } }), atMs: NOW + 500 });
  t.is(s.eventsPerSecond, 500);
  s = reduce(s, { type: 'snapshot', snapshot: snapshot([], { pid: 4001, tracer: { pinDir: '/p', attached: true, pinned: true, events: 3 } }), atMs: NOW + 1000 });
  t.is(s.eventsPerSecond, null, 'a new monitor starts counting again');
});

test('stale: on both sides of STALE_AFTER_MS, and whenever the link is down', (t) => {
  let s = run({ type: 'link', status: { kind: 'live' } }, { type: 'snapshot', snapshot: snapshot([]), atMs: NOW });
  t.false(isStale(s, NOW + STALE_AFTER_MS));
  t.true(isStale(s, NOW + STALE_AFTER_MS + 1));
  s = reduce(s, { type: 'link', status: { kind: 'disconnected', message: 'x', sinceMs: NOW } });
  t.true(isStale(s, NOW));
});

test('the next restart time comes from the last exit record that decided a restart', (t) => {
  const s = run({ type: 'records', records: [record(1, { action: 'restart', delayMs: 3200, time: new Date(NOW).toISOString() })] });
  t.is(nextRestartAtMs(s, 'dispatch', 'frontend'), NOW + 3200);
  t.is(nextRestartAtMs(s, 'dispatch', 'other'), null);
});

test('a journal numbering below what is held (a new root) starts the feed again', (t) => {
  let s = run({ type: 'records', records: [record(50)] });
  s = reduce(s, { type: 'snapshot', snapshot: snapshot([], { lastSeq: 3 }), atMs: NOW });
  t.is(s.lastSeq, 0);
  t.deepEqual(s.feed, []);
});

test('actions ask first; what they apply to depends on the focus', (t) => {
  let s = run({ type: 'snapshot', snapshot: snapshot([container('alpha', [proc('api'), proc('db')])]), atMs: NOW });
  s = reduce(s, { type: 'ask', action: 'stop', atMs: NOW });
  t.deepEqual(s.confirm, { action: 'stop', target: { container: 'alpha', process: null } });
  s = reduce(reduce(s, { type: 'back' }), { type: 'focus', focus: 'processes' });
  s = reduce(reduce(s, { type: 'move', by: 1 }), { type: 'ask', action: 'restart', atMs: NOW });
  t.deepEqual(s.confirm, { action: 'restart', target: { container: 'alpha', process: 'db' } });
  t.regex(reduce(initialState(), { type: 'ask', action: 'restart', atMs: NOW }).message!.text, /select a container/);
});

test('the kinds the filter knows are the journal\'s', (t) => {
  t.deepEqual([...EVENT_KINDS], [...JOURNAL_KINDS]);
});
