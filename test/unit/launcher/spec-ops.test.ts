/** The operations extensions of the spec: fault rules, spacing floor, escalation, hooks. */
import test from 'ava';
import { parseSpec, validateSpec } from '../../../src/launcher/spec.js';
import { DEFAULT_ESCALATION, DEFAULT_HOOK_TIMEOUT } from '../../../src/launcher/spec-ops.js';
import { SpecError } from '../../../src/util/errors.js';

const minimal = { name: 'svc', processes: [{ name: 'a', command: ['/bin/true'] }] };

function refused(t: import('ava').ExecutionContext, input: unknown, message: RegExp): void {
  const err = t.throws(() => validateSpec(input), { instanceOf: SpecError });
  t.regex(err!.message, message);
}

test('defaults: fault rules follow the policy, a 50 ms spacing floor, 5 container restarts a minute, no hooks', (t) => {
  const s = validateSpec(minimal);
  const r = s.processes[0].restart;
  t.deepEqual([r.forceCodes, r.onOom, r.onFault, r.backoff.minSpacing], [[], 'policy', 'policy', 50]);
  t.deepEqual(s.escalation, DEFAULT_ESCALATION);
  t.deepEqual(s.hooks, []);
});

test('the extensions parse from YAML and processes inherit the container defaults', (t) => {
  const s = parseSpec(`
name: svc
restart:
  policy: never
  forceCodes: [75]
  onOom: restart
  onFault: restart-container
  backoff: {minSpacing: 1s}
escalation: {containerRestarts: 2, within: 10m}
hooks:
  - {on: [give-up, oom, alert], command: [/usr/local/bin/page, ops], timeout: 2s}
  - {on: [restart], command: [/bin/true]}
processes:
  - {name: a, command: [/bin/true]}
  - {name: b, command: [/bin/true], restart: {onFault: leave}}
`);
  const [a, b] = s.processes.map((p) => p.restart);
  t.deepEqual([a.policy, a.forceCodes, a.onOom, a.onFault, a.backoff.minSpacing], ['never', [75], 'restart', 'restart-container', 1000]);
  t.deepEqual([b.policy, b.forceCodes, b.onOom, b.onFault], ['never', [75], 'restart', 'leave']);
  t.deepEqual(s.escalation, { containerRestarts: 2, within: 600_000 });
  t.deepEqual(s.hooks, [
    { on: ['give-up', 'oom', 'alert'], command: ['/usr/local/bin/page', 'ops'], timeout: 2000 },
    { on: ['restart'], command: ['/bin/true'], timeout: DEFAULT_HOOK_TIMEOUT },
  ]);
});

test('contradictions are refused at the field, with a sentence', (t) => {
  refused(t, { ...minimal, restart: { forceCodes: [3], preventCodes: [3] } }, /restart\.forceCodes: exit code 3 cannot both force a restart and prevent one/);
  refused(t, { ...minimal, restart: { successCodes: [0, 3], preventCodes: [3] } }, /restart\.preventCodes: exit code 3 cannot be both a success and a prevent code/);
  refused(t, { name: 'svc', processes: [{ name: 'a', command: ['/bin/true'], restart: { forceCodes: [0] } }] }, /processes\[0\]\.restart\.forceCodes: exit code 0 cannot both force a restart and count as a success/);
  refused(t, { ...minimal, restart: { backoff: { initial: '2s', max: '2s' }, giveUp: { deaths: 3, within: '1s' } } }, /restart\.giveUp\.within: 3 deaths take at least 4 s .* the give-up rule would never fire/);
});

test('bad values are refused with the path of the field', (t) => {
  refused(t, { ...minimal, restart: { onOom: 'reboot' } }, /restart\.onOom: expected one of policy, restart, leave, restart-container, got string "reboot"/);
  refused(t, { ...minimal, restart: { backoff: { minSpacing: 'soon' } } }, /restart\.backoff\.minSpacing: expected a duration/);
  refused(t, { ...minimal, escalation: { containerRestarts: -1 } }, /escalation\.containerRestarts: must be at least 0/);
  refused(t, { ...minimal, escalation: { within: '500ms' } }, /escalation\.within: must be at least 1s/);
  refused(t, { ...minimal, escalation: { then: 'reboot' } }, /escalation\.then: unknown field/);
  refused(t, { ...minimal, hooks: {} }, /hooks: expected a list of hooks/);
  refused(t, { ...minimal, hooks: [{ on: ['explode'], command: ['/bin/true'] }] }, /hooks\[0\]\.on\[0\]: expected one of exit, .*alert, got string "explode"/);
  refused(t, { ...minimal, hooks: [{ on: [], command: ['/bin/true'] }] }, /hooks\[0\]\.on: expected a non-empty list of events/);
  refused(t, { ...minimal, hooks: [{ on: ['oom'], command: ['page'] }] }, /hooks\[0\]\.command\[0\]: expected an absolute path, got "page"/);
  refused(t, { ...minimal, hooks: [{ on: ['oom'], command: ['/bin/true'], timeout: '2m' }] }, /hooks\[0\]\.timeout: must be between 1ms and 1m/);
  refused(t, { ...minimal, hooks: [{ on: ['oom'], command: ['/bin/true'], shell: true }] }, /hooks\[0\]\.shell: unknown field/);
});
