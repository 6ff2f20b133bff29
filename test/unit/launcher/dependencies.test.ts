import test from 'ava';
import { heldAtStart } from '../../../src/launcher/dependencies.js';
import { validateSpec } from '../../../src/launcher/spec.js';

const spec = (...processes: Array<Record<string, unknown>>) => validateSpec({ name: 'svc', processes: processes.map((p) => ({ command: ['/bin/true'], ...p })) });

test('nothing is held when every dependency is ready once running', (t) => {
  t.deepEqual([...heldAtStart(spec({ name: 'a' }, { name: 'b', dependsOn: ['a'] }))], []);
});

test('dependents of a health-checked or watchdog process are held, and theirs in turn', (t) => {
  const s = spec(
    { name: 'web', dependsOn: ['api'] },
    { name: 'api', dependsOn: ['db'] },
    { name: 'db', health: { exec: ['/bin/true'] } },
    { name: 'log', watchdog: true },
    { name: 'shipper', dependsOn: ['log'] },
    { name: 'free' },
  );
  t.deepEqual([...heldAtStart(s)].sort(), ['api', 'shipper', 'web']);
});
