/** SIGHUP's meaning: the monitor-owned parts of each spec file are taken over; the rest is reported. */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateSpec } from '../../../src/launcher/spec.js';
import { describeReload, reloadSpecs, withReloadedPolicy } from '../../../src/monitor/reload.js';
import { Store, type ContainerState } from '../../../src/state/store.js';

const base = { name: 'svc', processes: [{ name: 'a', command: ['/bin/true'] }, { name: 'b', command: ['/bin/true'], restart: 'never' }] };

function tempStore(t: ExecutionContext): { store: Store; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-reload-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = new Store(path.join(dir, 'root'));
  store.withLock(() => undefined);
  return { store, dir };
}

function stateOf(spec: ReturnType<typeof validateSpec>, specFile: string | null, name = spec.name): ContainerState {
  return {
    version: 1, name, state: 'running', spec: { ...spec, name }, specFile, cgroupParent: 'x', init: null, cgroup: null, lastCgroupId: null,
    createdAt: new Date().toISOString(), startedAt: null, operatorStop: false, processes: [],
  };
}

test('restart policy, escalation and hooks are taken over; other changes are not', (t) => {
  const current = validateSpec(base);
  const next = validateSpec({
    ...base, restart: { policy: 'always', onOom: 'leave' }, escalation: { containerRestarts: 1 }, hooks: [{ on: ['give-up'], command: ['/bin/true'] }],
    processes: [{ ...base.processes[0], command: ['/bin/false'] }, base.processes[1]],
  });
  const { spec, unapplied } = withReloadedPolicy(current, next);
  t.true(unapplied, 'the command changed');
  t.deepEqual(spec.processes.map((p) => [p.command[0], p.restart.policy, p.restart.onOom]), [['/bin/true', 'always', 'leave'], ['/bin/true', 'never', 'leave']]);
  t.is(spec.escalation.containerRestarts, 1);
  t.is(spec.hooks.length, 1);
  t.false(withReloadedPolicy(current, validateSpec({ ...base, restart: 'always' })).unapplied);
  t.false(withReloadedPolicy(current, current).unapplied);
});

test('reloadSpecs writes new policy into the state, keeps it when the file is gone or refused, and says so', (t) => {
  const { store, dir } = tempStore(t);
  const good = path.join(dir, 'good.json');
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(good, JSON.stringify(base));
  fs.writeFileSync(bad, JSON.stringify(base));
  store.withLock(() => {
    store.write(stateOf(validateSpec(base), good));
    store.write(stateOf(validateSpec({ ...base, name: 'two' }), bad, 'two'));
    store.write(stateOf(validateSpec({ ...base, name: 'inline' }), null, 'inline'));
  });
  const unchanged = reloadSpecs(store);
  t.deepEqual(unchanged, { containers: 3, changed: [], notes: [] });
  t.is(describeReload(unchanged), 'reloaded: 3 containers; no policy changed');

  // run --name: the file says "svc" but the container is "two"; both change policy
  fs.writeFileSync(good, JSON.stringify({ ...base, processes: [{ ...base.processes[0], restart: { policy: 'always', forceCodes: [9] } }, base.processes[1]] }));
  fs.writeFileSync(bad, JSON.stringify({ ...base, restart: { policy: 'sometimes' } }));
  const outcome = reloadSpecs(store);
  t.deepEqual(outcome.changed, ['svc']);
  t.is(outcome.notes.length, 1);
  t.regex(outcome.notes[0], /^two: policy kept: .*restart\.policy: expected one of never, on-failure, always, unless-stopped, got string "sometimes"/);
  t.deepEqual(store.read('svc').spec.processes.map((p) => [p.restart.policy, p.restart.forceCodes]), [['always', [9]], ['never', []]]);
  t.is(store.read('two').spec.restart.policy, 'on-failure');
  t.regex(describeReload(outcome), /^reloaded: 3 containers; new restart policy for svc; two: policy kept: /);

  fs.rmSync(good);
  t.regex(reloadSpecs(store).notes[0], /^svc: policy kept: .*ENOENT/);
});
