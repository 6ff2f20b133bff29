import test from 'ava';
import { parseSpec, validateSpec } from '../../../src/launcher/spec.js';
import { DEFAULT_WATCHDOG_INTERVAL, HEALTH_DEFAULTS } from '../../../src/launcher/spec-supervision.js';
import { SpecError } from '../../../src/util/errors.js';

const proc = (name: string, extra: Record<string, unknown> = {}) => ({ name, command: ['/bin/true'], ...extra });
const spec = (...processes: unknown[]) => ({ name: 'svc', processes });

test('the SPEC example fields parse', (t) => {
  const s = parseSpec(`
name: dispatch
processes:
  - name: historian
    command: ["/bin/sleep", "1"]
    watchdog: true
  - name: frontend
    command: ["/usr/bin/node", "server.js"]
    critical: true
    dependsOn: [historian]
    health:
      exec: ["/usr/local/bin/check"]
      interval: 5s
      timeout: 1s
      retries: 3
      startPeriod: 10s
      onFailure: restart
`);
  const [historian, frontend] = s.processes;
  t.deepEqual(historian.watchdog, { interval: DEFAULT_WATCHDOG_INTERVAL });
  t.deepEqual([historian.critical, historian.dependsOn, historian.health], [false, [], null]);
  t.true(frontend.critical);
  t.deepEqual(frontend.dependsOn, ['historian']);
  t.deepEqual(frontend.health, { exec: ['/usr/local/bin/check'], interval: 5000, timeout: 1000, retries: 3, startPeriod: 10_000, onFailure: 'restart' });
  t.is(frontend.watchdog, null);
});

test('health defaults, and the watchdog interval extension', (t) => {
  const s = validateSpec(spec(proc('a', { health: { exec: ['/bin/true'] }, watchdog: { interval: '2s' } }), proc('b', { watchdog: false })));
  t.deepEqual(s.processes[0].health, { exec: ['/bin/true'], ...HEALTH_DEFAULTS });
  t.deepEqual(s.processes[0].watchdog, { interval: 2000 });
  t.is(s.processes[1].watchdog, null);
});

test('dependsOn may name a process listed later', (t) => {
  t.deepEqual(validateSpec(spec(proc('a', { dependsOn: ['b'] }), proc('b'))).processes[0].dependsOn, ['b']);
});

const refused = test.macro((t, input: unknown, expected: RegExp) => {
  const err = t.throws(() => validateSpec(input, 'x.yaml'), { instanceOf: SpecError });
  t.regex(err!.message, expected);
});

test('unknown dependency', refused, spec(proc('a'), proc('b'), proc('c', { dependsOn: ['x'] })), /x\.yaml: processes\[2\]\.dependsOn\[0\]: unknown process "x" \(the container has: a, b, c\)/);
test('self dependency', refused, spec(proc('a', { dependsOn: ['a'] })), /processes\[0\]\.dependsOn\[0\]: "a" cannot depend on itself/);
test('two-process cycle', refused, spec(proc('a', { dependsOn: ['b'] }), proc('b', { dependsOn: ['a'] })), /processes\[0\]\.dependsOn\[0\]: dependency cycle a -> b -> a/);
test('longer cycle, found from its first member', refused, spec(proc('z'), proc('a', { dependsOn: ['z', 'b'] }), proc('b', { dependsOn: ['c'] }), proc('c', { dependsOn: ['a'] })), /processes\[1\]\.dependsOn\[1\]: dependency cycle a -> b -> c -> a/);
test('dependency listed twice', refused, spec(proc('a'), proc('b', { dependsOn: ['a', 'a'] })), /processes\[1\]\.dependsOn\[1\]: "a" is listed twice/);
test('dependsOn not a list', refused, spec(proc('a'), proc('b', { dependsOn: 'a' })), /processes\[1\]\.dependsOn: expected a list of process names, got string "a"/);
test('critical not a boolean', refused, spec(proc('a', { critical: 'yes' })), /processes\[0\]\.critical: expected true or false, got string "yes"/);
test('health without exec', refused, spec(proc('a', { health: { interval: '5s' } })), /processes\[0\]\.health\.exec: expected a non-empty argv list/);
test('health exec as a string', refused, spec(proc('a', { health: { exec: 'check' } })), /processes\[0\]\.health\.exec: expected a non-empty argv list.*string "check"/);
test('health unknown field', refused, spec(proc('a', { health: { exec: ['c'], every: '5s' } })), /processes\[0\]\.health\.every: unknown field/);
test('health timeout equal to the interval', refused, spec(proc('a', { health: { exec: ['c'], interval: '1s', timeout: '1s' } })), /processes\[0\]\.health\.timeout: must be shorter than health\.interval \(1000 ms\), got 1000 ms/);
test('health timeout longer than the default interval', refused, spec(proc('a', { health: { exec: ['c'], timeout: '20s' } })), /health\.timeout: must be shorter than health\.interval \(10000 ms\)/);
test('health interval too short', refused, spec(proc('a', { health: { exec: ['c'], interval: '50ms', timeout: '10ms' } })), /health\.interval: must be at least 100ms/);
test('health retries zero', refused, spec(proc('a', { health: { exec: ['c'], retries: 0 } })), /health\.retries: must be at least 1, got 0/);
test('health bad duration', refused, spec(proc('a', { health: { exec: ['c'], startPeriod: 'soon' } })), /health\.startPeriod: expected a duration/);
test('health bad action', refused, spec(proc('a', { health: { exec: ['c'], onFailure: 'reboot' } })), /health\.onFailure: expected one of restart, restart-container, alert/);
test('health restart under restart never', refused, spec(proc('a', { restart: 'never', health: { exec: ['c'] } })), /processes\[0\]\.health\.onFailure: is "restart" but this process's restart policy is "never"/);
test('watchdog as a number', refused, spec(proc('a', { watchdog: 5 })), /processes\[0\]\.watchdog: expected true, false or \{interval: DURATION\}, got number 5/);
test('watchdog interval too short', refused, spec(proc('a', { watchdog: { interval: '10ms' } })), /processes\[0\]\.watchdog\.interval: must be at least 200ms/);
test('watchdog unknown field', refused, spec(proc('a', { watchdog: { usec: 5 } })), /processes\[0\]\.watchdog\.usec: unknown field/);

test('under restart never, a health check may still restart the container or alert', (t) => {
  const s = validateSpec(spec(proc('a', { restart: 'never', health: { exec: ['c'], onFailure: 'alert' } })));
  t.is(s.processes[0].health?.onFailure, 'alert');
});
