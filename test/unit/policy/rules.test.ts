/**
 * Exit-code and fault rules, the spacing floor and the wording of reasons,
 * on a fake clock (plain numbers of ms), with both sides of each boundary.
 */
import test from 'ava';
import { decide, spacingFloor, type Death, type History } from '../../../src/policy/restart.js';
import { formatDuration } from '../../../src/policy/describe.js';
import { DEFAULT_BACKOFF, type RestartPolicy } from '../../../src/launcher/spec.js';
import { ms } from '../../../src/util/units.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({
  policy: 'on-failure',
  backoff: { ...DEFAULT_BACKOFF, initial: ms(100), factor: 2, max: ms(1000), resetAfter: ms(10_000), minSpacing: ms(0) },
  giveUp: null,
  successCodes: [0],
  preventCodes: [],
  forceCodes: [],
  onOom: 'policy',
  onFault: 'policy',
  ...over,
});
const fresh: History = { attempt: 0, startedAtMs: null, deathsMs: [] };
const exit = (code: number): Death => ({ kind: 'exited', code });
const oom: Death = { kind: 'oom-killed' };
const segv: Death = { kind: 'signaled', signal: 11, fault: true, coreDumped: true, sender: null };
const abrt: Death = { kind: 'signaled', signal: 6, fault: true, coreDumped: false, sender: null };
const term: Death = { kind: 'signaled', signal: 15, fault: false, coreDumped: false, sender: 'pid 7 (sh, host)' };
const run = (p: RestartPolicy, death: Death, history: History = fresh, nowMs = 1_000_000, operatorStop = false) =>
  decide({ policy: p, death, history, operatorStop, nowMs }).decision;

test('a force code restarts under never and counts as a failure under on-failure', (t) => {
  const never = run(policy({ policy: 'never', forceCodes: [75] }), exit(75));
  t.like(never, { action: 'restart', delay: 100 });
  t.is(never.reason, 'exit 75, force code 75, attempt 1, next in 100 ms');
  t.like(run(policy({ policy: 'never', forceCodes: [75] }), exit(74)), { action: 'leave', state: 'exited' });
});

test('a force code does not override an operator stop', (t) => {
  const d = run(policy({ policy: 'never', forceCodes: [75] }), exit(75), fresh, 1, true);
  t.like(d, { action: 'leave', state: 'stopped' });
  t.is(d.reason, 'exit 75, operator stop: not restarted');
});

test('forced restarts still obey the give-up rule', (t) => {
  const p = policy({ policy: 'never', forceCodes: [75], giveUp: { deaths: 2, within: ms(1000), then: 'stop' } });
  const d = run(p, exit(75), { attempt: 1, startedAtMs: 0, deathsMs: [0] }, 1000);
  t.like(d, { action: 'give-up', then: 'stop' });
  t.is(d.reason, 'exit 75, force code 75: 2 deaths within 1 s, giving up (then stop)');
  t.like(run(p, exit(75), { attempt: 1, startedAtMs: 0, deathsMs: [0] }, 1001), { action: 'restart' });
});

test('onOom and onFault: policy follows the condition; restart, leave and restart-container override it', (t) => {
  t.like(run(policy({ policy: 'never' }), oom), { action: 'leave' });
  t.like(run(policy({ policy: 'never', onOom: 'restart' }), oom), { action: 'restart' });
  t.is(run(policy({ policy: 'never', onOom: 'restart' }), oom).reason, 'OOM-killed, onOom restart, attempt 1, next in 100 ms');
  const left = run(policy({ policy: 'always', onOom: 'leave' }), oom);
  t.like(left, { action: 'leave', state: 'exited' });
  t.is(left.reason, 'OOM-killed, onOom leave: not restarted');
  const whole = run(policy({ policy: 'always', onFault: 'restart-container' }), segv);
  t.like(whole, { action: 'restart-container' });
  t.is(whole.reason, 'crashed with SIGSEGV (core dumped), onFault restart-container: the container is restarted');
  t.like(run(policy({ policy: 'always', onFault: 'leave' }), abrt), { action: 'leave' });
  // a SIGTERM from someone is no fault: onFault does not apply
  t.like(run(policy({ policy: 'always', onFault: 'leave' }), term), { action: 'restart' });
  // an OOM kill is not a fault, a fault is not an OOM kill
  t.like(run(policy({ policy: 'always', onFault: 'leave' }), oom), { action: 'restart' });
  t.like(run(policy({ policy: 'always', onOom: 'leave' }), segv), { action: 'restart' });
});

test('a prevent code wins over everything but the operator', (t) => {
  t.like(run(policy({ policy: 'always', preventCodes: [78] }), exit(78)), { action: 'leave', reason: 'exit 78, prevent code 78: not restarted' });
});

test('policy written by an older build (no fault fields) behaves as "policy"', (t) => {
  const old = policy();
  const legacy = { ...old, forceCodes: undefined, onOom: undefined, onFault: undefined, backoff: { ...old.backoff, minSpacing: undefined } } as unknown as RestartPolicy;
  t.like(run(legacy, oom), { action: 'restart', delay: 100 });
  t.like(run(legacy, exit(0)), { action: 'leave' });
});

test('the spacing floor holds a restart to minSpacing after the last start, both sides of the edge', (t) => {
  const b = { ...policy().backoff, minSpacing: ms(500) };
  t.is(spacingFloor(b, 1000, 1499), 1);
  t.is(spacingFloor(b, 1000, 1500), 0);
  t.is(spacingFloor(b, 1000, 1501), 0);
  t.is(spacingFloor(b, null, 1000), 0);
  t.is(spacingFloor({ ...b, minSpacing: ms(0) }, 1000, 1000), 0);
  const p = policy({ policy: 'always', backoff: { ...b, initial: ms(0), factor: 1, max: ms(0) } });
  // started at 1000, died at 1100: the back-off says 0 ms, the floor 400 ms
  const held = run(p, exit(1), { attempt: 0, startedAtMs: 1000, deathsMs: [] }, 1100);
  t.like(held, { action: 'restart', delay: 400 });
  t.is(held.reason, 'exit 1, always, attempt 1, next in 400 ms (held to one start per 500 ms)');
  // died 500 ms after its start: no wait at all, and no mention of the floor
  const free = run(p, exit(1), { attempt: 0, startedAtMs: 1000, deathsMs: [] }, 1500);
  t.like(free, { action: 'restart', delay: 0 });
  t.is(free.reason, 'exit 1, always, attempt 1, next in 0 ms');
  // a back-off longer than the floor is not changed
  const p2 = policy({ policy: 'always', backoff: { ...policy().backoff, minSpacing: ms(50) } });
  t.like(run(p2, exit(1), { attempt: 0, startedAtMs: 1000, deathsMs: [] }, 1001), { delay: 100 });
});

test('reasons count attempts against the give-up rule', (t) => {
  const p = policy({ giveUp: { deaths: 5, within: ms(60_000), then: 'alert' } });
  const h: History = { attempt: 2, startedAtMs: 29_000, deathsMs: [10_000, 20_000] };
  const d = run(p, exit(1), h, 30_000);
  t.like(d, { action: 'restart', attempt: 3, delay: 400 });
  t.is(d.reason, 'exit 1, on-failure, attempt 3 of 4 within 1 m, next in 400 ms');
});

test('every leave reason names the rule that left it', (t) => {
  t.is(run(policy({ policy: 'never' }), exit(1)).reason, 'exit 1, never: not restarted');
  t.is(run(policy(), exit(0)).reason, 'exit 0, on-failure: a success, not restarted');
  t.is(run(policy({ successCodes: [0, 3] }), exit(3)).reason, 'exit 3, on-failure: a success, not restarted');
});

test('durations read as an operator would say them', (t) => {
  t.deepEqual([0, 400, 999, 1000, 1500, 59_999, 60_000, 90_000, 3_600_000].map(formatDuration),
    ['0 ms', '400 ms', '999 ms', '1 s', '1.5 s', '59999 ms', '1 m', '1.5 m', '1 h']);
});
