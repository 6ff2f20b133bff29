import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store, type ContainerState } from '../../../src/state/store.js';

function tempStore(t: ExecutionContext): Store {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-store-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const store = new Store(root);
  store.withLock(() => undefined);
  return store;
}

function minimalState(name: string): ContainerState {
  return {
    version: 1, name, state: 'created', spec: { name } as ContainerState['spec'], specFile: null, cgroupParent: 'x',
    init: null, cgroup: null, lastCgroupId: null, createdAt: new Date().toISOString(), startedAt: null, operatorStop: false, processes: [],
  };
}

test('the first write creates the directory whole, replacing debris without a state file', (t) => {
  const store = tempStore(t);
  fs.mkdirSync(path.join(store.containerDir('a'), 'logs'), { recursive: true });
  fs.writeFileSync(path.join(store.containerDir('a'), 'logs', 'old.log'), 'x');
  t.deepEqual(store.names(), [], 'a directory without state is not a container');
  store.withLock(() => store.write(minimalState('a')));
  t.deepEqual(store.names(), ['a']);
  t.false(fs.existsSync(path.join(store.containerDir('a'), 'logs', 'old.log')));
  t.true(fs.existsSync(path.join(store.containerDir('a'), 'logs')));
  t.deepEqual(fs.readdirSync(path.dirname(store.containerDir('a'))), ['a'], 'no staging directory remains');
});

test('sweepDebris removes staging directories of dead processes and stateless directories, and keeps containers', (t) => {
  const store = tempStore(t);
  store.withLock(() => store.write(minimalState('keep')));
  const dir = path.dirname(store.containerDir('keep'));
  const deadPid = 2 ** 22 + 1; // above pid_max's ceiling: never a live process
  fs.mkdirSync(path.join(dir, `.new-gone-${deadPid}`, 'logs'), { recursive: true });
  fs.mkdirSync(path.join(dir, `.new-busy-${process.ppid}`), { recursive: true });
  fs.mkdirSync(path.join(dir, 'stateless', 'logs'), { recursive: true });
  store.withLock(() => store.sweepDebris());
  t.deepEqual(fs.readdirSync(dir).sort(), [`.new-busy-${process.ppid}`, 'keep'], 'a live process keeps its staging directory');
});
