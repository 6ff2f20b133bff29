import test from 'ava';
import { initialHealth, nextCheckMs, onCheckResult, type CheckResult, type Health } from '../../../src/policy/health.js';
import type { HealthSpec } from '../../../src/launcher/spec.js';
import { ms } from '../../../src/util/units.js';

const spec = (over: Partial<HealthSpec> = {}): HealthSpec => ({ exec: ['check'], interval: ms(1000), timeout: ms(500), retries: 3, startPeriod: ms(5000), onFailure: 'restart', ...over });
const ok: CheckResult = { ok: true, detail: 'exit 0' };
const bad: CheckResult = { ok: false, detail: 'exit 1' };
const START = 1_000_000;

/** Feed results at the given times (ms after START); the steps that came out. */
function run(s: HealthSpec, results: Array<[number, CheckResult]>, from: Health = initialHealth(42)) {
  let h = from;
  return results.map(([at, r]) => {
    const step = onCheckResult(s, h, r, START, START + at);
    h = step.health;
    return step;
  });
}

test('a first success makes a starting process healthy, once', (t) => {
  const [a, b] = run(spec(), [[1000, ok], [2000, ok]]);
  t.is(a.health.status, 'healthy');
  t.is(a.change, 'healthy (exit 0)');
  t.is(b.change, null);
  t.is(a.action, null);
});

test('start period: a failure 1 ms before its end does not count; at its end it does', (t) => {
  const inside = run(spec({ retries: 1 }), [[4999, bad]])[0];
  t.like(inside.health, { status: 'starting', failures: 0, lastResult: 'exit 1', lastCheckMs: START + 4999 });
  t.is(inside.action, null);
  const at = run(spec({ retries: 1 }), [[5000, bad]])[0];
  t.like(at.health, { status: 'unhealthy', failures: 1 });
  t.is(at.action, 'restart');
});

test('retries: retries-1 failures in a row are tolerated, the retries-th is not', (t) => {
  const steps = run(spec({ startPeriod: ms(0) }), [[1000, bad], [2000, bad], [3000, bad]]);
  t.deepEqual(steps.map((s) => s.health.status), ['starting', 'starting', 'unhealthy']);
  t.deepEqual(steps.map((s) => s.action), [null, null, 'restart']);
  t.regex(steps[2].change!, /^unhealthy: 3 failed check\(s\) in a row, the last exit 1; killing it so that its restart policy restarts it$/);
});

test('a success in between starts the count again', (t) => {
  const steps = run(spec({ startPeriod: ms(0) }), [[1000, bad], [2000, bad], [3000, ok], [4000, bad], [5000, bad]]);
  t.deepEqual(steps.map((s) => s.health.status), ['starting', 'starting', 'healthy', 'healthy', 'healthy']);
  t.is(steps[4].health.failures, 2);
  t.true(steps.every((s) => s.action === null));
});

test('a healthy process turns unhealthy after retries failures, even inside the start period', (t) => {
  const steps = run(spec({ retries: 2 }), [[100, ok], [200, bad], [300, bad]]);
  t.deepEqual(steps.map((s) => s.health.status), ['healthy', 'healthy', 'unhealthy']);
  t.is(steps[2].action, 'restart');
});

test('the action fires once; a success recovers it', (t) => {
  const steps = run(spec({ retries: 1, startPeriod: ms(0), onFailure: 'alert' }), [[1, bad], [2, bad], [3, ok]]);
  t.deepEqual(steps.map((s) => s.action), ['alert', null, null]);
  t.regex(steps[0].change!, /alert only, left running/);
  t.is(steps[2].change, 'healthy (exit 0)');
});

test('restart-container is the action asked for', (t) => {
  t.is(run(spec({ retries: 1, startPeriod: ms(0), onFailure: 'restart-container' }), [[1, bad]])[0].action, 'restart-container');
});

test('next check: an interval after the start, then after each check', (t) => {
  const s = spec();
  t.is(nextCheckMs(s, initialHealth(1), START), START + 1000);
  t.is(nextCheckMs(s, { ...initialHealth(1), lastCheckMs: START + 1700 }, START), START + 2700);
});
