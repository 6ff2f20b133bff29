import test from 'ava';
import { OPERATOR_SIGNAL_GRACE_MS, decide, isOperatorsDeath, longestRestartDelay, restartBackoff, type Death, type History } from '../../../src/policy/restart.js';
import { DEFAULT_BACKOFF, type RestartPolicy } from '../../../src/launcher/spec.js';
import { ms } from '../../../src/util/units.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({
  policy: 'on-failure',
  backoff: { ...DEFAULT_BACKOFF, initial: ms(100), factor: 2, max: ms(1000), resetAfter: ms(10_000) },
  giveUp: null,
  successCodes: [0],
  preventCodes: [],
  forceCodes: [],
  onOom: 'policy',
  onFault: 'policy',
  ...over,
});
const fresh: History = { attempt: 0, startedAtMs: 0, deathsMs: [] };
const exit = (code: number): Death => ({ kind: 'exited', code });
const kill: Death = { kind: 'signaled', signal: 9, fault: false, coreDumped: false, sender: 'pid 1 (bash, host)' };

test('back-off doubles from initial and stops at max', (t) => {
  const b = policy().backoff;
  t.deepEqual([1, 2, 3, 4, 5, 6].map((n) => restartBackoff(b, n)), [100, 200, 400, 800, 1000, 1000]);
});

test('jitter spreads the delay both ways within its fraction', (t) => {
  const b = { ...policy().backoff, jitter: 0.1 };
  t.is(Number(restartBackoff(b, 1, () => 0)), 90);
  t.is(Number(restartBackoff(b, 1, () => 0.5)), 100);
  t.is(Number(restartBackoff(b, 1, () => 0.999999)), 110);
});

test('the longest restart delay is max at its most jittered, or the spacing floor', (t) => {
  const b = policy().backoff;
  t.is(Number(longestRestartDelay({ ...b, jitter: 0.1 })), 1100);
  t.is(Number(longestRestartDelay({ ...b, minSpacing: ms(5000) })), 5000);
  for (let n = 1; n < 12; n++) t.true(restartBackoff({ ...b, jitter: 0.5 }, n, () => 0.999999) <= longestRestartDelay({ ...b, jitter: 0.5 }));
});

test('on-failure: exit 3 restarts, exit 0 does not', (t) => {
  const a = decide({ policy: policy(), death: exit(3), history: fresh, operatorStop: false, nowMs: 5 });
  t.like(a.decision, { action: 'restart', delay: 100, attempt: 1 });
  t.regex(a.decision.reason, /^exit 3, on-failure, attempt 1, next in 100 ms$/);
  const b = decide({ policy: policy(), death: exit(0), history: fresh, operatorStop: false, nowMs: 5 });
  t.like(b.decision, { action: 'leave', state: 'exited' });
});

test('successCodes count as success under on-failure', (t) => {
  t.like(decide({ policy: policy({ successCodes: [0, 3] }), death: exit(3), history: fresh, operatorStop: false, nowMs: 1 }).decision, { action: 'leave' });
});

test('never leaves every death alone; always restarts even a clean exit', (t) => {
  t.like(decide({ policy: policy({ policy: 'never' }), death: kill, history: fresh, operatorStop: false, nowMs: 1 }).decision, { action: 'leave', state: 'exited' });
  t.like(decide({ policy: policy({ policy: 'always' }), death: exit(0), history: fresh, operatorStop: false, nowMs: 1 }).decision, { action: 'restart' });
});

test('a prevent code is never restarted, even under always', (t) => {
  const d = decide({ policy: policy({ policy: 'always', preventCodes: [78] }), death: exit(78), history: fresh, operatorStop: false, nowMs: 1 });
  t.like(d.decision, { action: 'leave', state: 'exited' });
  t.regex(d.decision.reason, /prevent code/);
});

test('an operator stop is never answered, whatever the policy', (t) => {
  for (const p of ['always', 'unless-stopped', 'on-failure'] as const) {
    const d = decide({ policy: policy({ policy: p }), death: kill, history: fresh, operatorStop: true, nowMs: 1 });
    t.like(d.decision, { action: 'leave', state: 'stopped' });
    t.regex(d.decision.reason, /^killed by SIGKILL from pid 1 \(bash, host\), operator stop: not restarted$/);
  }
});

test('attempts grow while the process keeps dying, and reset after resetAfter of running', (t) => {
  const p = policy();
  const h: History = { attempt: 3, startedAtMs: 1000, deathsMs: [] };
  // ran 9,999 ms: one short of resetAfter -> attempt 4
  t.like(decide({ policy: p, death: exit(1), history: h, operatorStop: false, nowMs: 10_999 }).decision, { action: 'restart', attempt: 4, delay: 800 });
  // ran exactly resetAfter -> back to attempt 1
  t.like(decide({ policy: p, death: exit(1), history: h, operatorStop: false, nowMs: 11_000 }).decision, { action: 'restart', attempt: 1, delay: 100 });
});

test('give-up counts deaths inside the window, on both sides of its edge', (t) => {
  const p = policy({ giveUp: { deaths: 3, within: ms(60_000), then: 'alert' } });
  const h = (deathsMs: number[]): History => ({ attempt: 2, startedAtMs: null, deathsMs });
  // deaths at 0 and 30s, now 60s: the one at 0 is exactly within 60s -> 3 deaths
  const at = decide({ policy: p, death: exit(1), history: h([0, 30_000]), operatorStop: false, nowMs: 60_000 });
  t.like(at.decision, { action: 'give-up', then: 'alert' });
  t.regex(at.decision.reason, /^exit 1, on-failure: 3 deaths within 1 m, giving up \(then alert\)$/);
  // 1 ms later the first death has left the window -> restart
  t.like(decide({ policy: p, death: exit(1), history: h([0, 30_000]), operatorStop: false, nowMs: 60_001 }).decision, { action: 'restart' });
});

test('the death tally is bounded', (t) => {
  const many = Array.from({ length: 100 }, (_, i) => i);
  const { history } = decide({ policy: policy(), death: exit(1), history: { attempt: 1, startedAtMs: null, deathsMs: many }, operatorStop: false, nowMs: 100 });
  t.is(history.deathsMs.length, 64);
  t.is(history.deathsMs.at(-1), 100);
});

test('reasons say what happened', (t) => {
  const r = (death: Death) => decide({ policy: policy({ policy: 'always' }), death, history: fresh, operatorStop: false, nowMs: 1 }).decision.reason;
  t.regex(r(kill), /^killed by SIGKILL from pid 1 \(bash, host\), always, attempt 1, next in 100 ms$/);
  t.regex(r({ kind: 'signaled', signal: 11, fault: true, coreDumped: true, sender: null }), /^crashed with SIGSEGV \(core dumped\)/);
  t.regex(r({ kind: 'oom-killed' }), /^OOM-killed/);
  t.regex(r({ kind: 'lost' }), /^gone without an exit event/);
});

test('the tally keeps what a give-up rule of more than 64 deaths needs', (t) => {
  const p = policy({ policy: 'always', giveUp: { deaths: 100, within: ms(60_000), then: 'alert' } });
  const deaths = Array.from({ length: 99 }, (_, i) => i);
  const d = decide({ policy: p, death: exit(1), history: { attempt: 1, startedAtMs: null, deathsMs: deaths }, operatorStop: false, nowMs: 100 });
  t.like(d.decision, { action: 'give-up' });
  t.is(d.history.deathsMs.length, 100);
});

test('a container that is down is not restarted into', (t) => {
  const d = decide({ policy: policy({ policy: 'always' }), death: kill, history: fresh, operatorStop: false, containerDown: true, nowMs: 1 });
  t.like(d.decision, { action: 'leave', state: 'exited' });
  t.regex(d.decision.reason, /^killed by SIGKILL from pid 1 \(bash, host\), container down \(vigil-init is gone\): not restarted on its own$/);
});

test('a failed restart is a failure like a death', (t) => {
  const d = decide({ policy: policy(), death: { kind: 'start-failed', why: 'fork: EAGAIN' }, history: { attempt: 2, startedAtMs: 0, deathsMs: [] }, operatorStop: false, nowMs: 1 });
  t.like(d.decision, { action: 'restart', attempt: 3, delay: 400 });
  t.regex(d.decision.reason, /^restart failed \(fork: EAGAIN\)/);
});

test('operator intent: a stop always; a kill only for its own signal, or an exit within the grace period', (t) => {
  const at = '2026-12-03T18:00:00.000Z';
  const t0 = Date.parse(at);
  t.true(isOperatorsDeath(true, null, { signal: 'SIGKILL' }, t0));
  t.false(isOperatorsDeath(false, null, { signal: 'SIGKILL' }, t0));
  const hup = { signal: 'SIGHUP', at };
  t.true(isOperatorsDeath(false, hup, { signal: 'SIGHUP' }, t0 + 60_000), 'killed by the operator\'s signal');
  t.false(isOperatorsDeath(false, hup, { signal: 'SIGKILL' }, t0 + 100), 'survived it, then killed by someone else');
  t.true(isOperatorsDeath(false, hup, { signal: null }, t0 + OPERATOR_SIGNAL_GRACE_MS), 'a graceful exit at the edge of the grace period');
  t.false(isOperatorsDeath(false, hup, { signal: null }, t0 + OPERATOR_SIGNAL_GRACE_MS + 1), 'an exit after it');
});

test('operator intent: a lost death after the operator\'s SIGKILL is the operator\'s however late it is found; after another signal, only within the grace', (t) => {
  const at = '2026-12-03T18:00:00.000Z';
  const t0 = Date.parse(at);
  const late = t0 + OPERATOR_SIGNAL_GRACE_MS + 60_000;
  t.true(isOperatorsDeath(false, { signal: 'SIGKILL', at }, { signal: null, reason: 'lost' }, late));
  t.false(isOperatorsDeath(false, { signal: 'SIGTERM', at }, { signal: null, reason: 'lost' }, late), 'it may have survived SIGTERM');
  t.false(isOperatorsDeath(false, { signal: 'SIGKILL', at }, { signal: null, reason: 'exited' }, late), 'an exit code is not a SIGKILL');
  t.false(isOperatorsDeath(false, null, { signal: null, reason: 'lost' }, late));
});
