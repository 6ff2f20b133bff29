import test from 'ava';
import { criticalReason, isCriticalDeath } from '../../../src/policy/critical.js';

test('only a critical process, not stopped by the operator, in a container still up, takes its container along', (t) => {
  t.true(isCriticalDeath({ critical: true }, false, false));
  t.false(isCriticalDeath({ critical: true }, true, false), 'the operator asked for it');
  t.false(isCriticalDeath({ critical: true }, false, true), 'the container is down already: its init death is answered');
  t.false(isCriticalDeath({ critical: false }, false, false));
  t.false(isCriticalDeath({}, false, false), 'state from older builds has no critical field');
});

test('the reason names the process and what happened', (t) => {
  t.is(criticalReason('boss', 'exit 3'), 'exit 3: boss is critical, restarting the container');
});
