import test from 'ava';
import { policyContradictions } from '../../../src/policy/consistency.js';
import { DEFAULT_BACKOFF, type RestartPolicy } from '../../../src/launcher/spec.js';
import { ms } from '../../../src/util/units.js';

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({
  policy: 'on-failure', backoff: DEFAULT_BACKOFF, giveUp: null,
  successCodes: [0], preventCodes: [], forceCodes: [], onOom: 'policy', onFault: 'policy', ...over,
});

test('a sane policy has no contradiction', (t) => {
  t.deepEqual(policyContradictions(policy({ forceCodes: [75], preventCodes: [78], giveUp: { deaths: 5, within: ms(60_000), then: 'alert' } })), []);
});

test('codes in two lists that mean opposite things are refused', (t) => {
  t.deepEqual(policyContradictions(policy({ successCodes: [0, 3], preventCodes: [3] })), [{ field: 'preventCodes', message: 'exit code 3 cannot be both a success and a prevent code' }]);
  t.deepEqual(policyContradictions(policy({ forceCodes: [4, 5], preventCodes: [4, 5] })), [{ field: 'forceCodes', message: 'exit codes 4, 5 cannot both force a restart and prevent one' }]);
  t.deepEqual(policyContradictions(policy({ forceCodes: [0] })), [{ field: 'forceCodes', message: 'exit code 0 cannot both force a restart and count as a success' }]);
});

test('a give-up window too short to ever hold its deaths is refused, on both sides of the edge', (t) => {
  const backoff = { ...DEFAULT_BACKOFF, initial: ms(1000) };
  // 3 deaths need at least 2 waits of 1 s: a window of 2 s can hold them, 1999 ms cannot
  t.deepEqual(policyContradictions(policy({ backoff, giveUp: { deaths: 3, within: ms(2000), then: 'alert' } })), []);
  const short = policyContradictions(policy({ backoff, giveUp: { deaths: 3, within: ms(1999), then: 'alert' } }));
  t.is(short.length, 1);
  t.is(short[0].field, 'giveUp.within');
  t.is(short[0].message, '3 deaths take at least 2 s when each restart waits at least 1 s (backoff.initial), so a window of 1999 ms could never hold them and the give-up rule would never fire');
  // jitter shortens the shortest wait
  t.deepEqual(policyContradictions(policy({ backoff: { ...backoff, jitter: 0.5 }, giveUp: { deaths: 3, within: ms(1000), then: 'alert' } })), []);
  // a single death needs no window
  t.deepEqual(policyContradictions(policy({ backoff, giveUp: { deaths: 1, within: ms(1), then: 'alert' } })), []);
});
