/** The process tree from fork, exec and exit events (pure). */
import test from 'ava';
import type { DecodedEvent, TaskIdentity } from '../../../src/events/decode.js';
import { MAX_PER_CONTAINER, ProcessTree } from '../../../src/monitor/process-tree.js';
import type { MonoNs } from '../../../src/util/units.js';

const task = (pid: number, start: bigint, comm = 'sh'): TaskIdentity => ({ pid, tid: pid, startBoottimeNs: start, comm });
const base = { tsNs: 1n as MonoNs, cgroupId: 7n, taskCgroupId: 8n, version: 2 };
const fork = (child: TaskIdentity, parent: TaskIdentity): DecodedEvent => ({ kind: 'fork', ...base, child, parent });
const exec = (t: TaskIdentity, filename: string): DecodedEvent => ({ kind: 'exec', ...base, task: t, filename });
const exit = (t: TaskIdentity): DecodedEvent => ({ kind: 'exit', ...base, task: t, ppid: 1, exitCode: 0, status: 0, signal: null, coreDumped: false, oomVictim: false, flags: 0 });

test('fork inherits the parent\'s binary, exec replaces it, exit removes the process', (t) => {
  const tree = new ProcessTree();
  tree.seed(7n, { pid: 10, ppid: 1, startBoottimeNs: 100n, comm: 'init', binary: '/sbin/init', cgroupId: 7n });
  tree.apply(fork(task(11, 200n), task(10, 100n, 'init')));
  t.like(tree.view(7n)[1], { pid: 11, ppid: 10, binary: '/sbin/init', cgroupId: '8' });
  tree.apply(exec(task(11, 200n, 'python3'), '/usr/bin/python3'));
  t.like(tree.view(7n)[1], { pid: 11, ppid: 10, comm: 'python3', binary: '/usr/bin/python3' });
  tree.apply(exit(task(11, 999n)));
  t.is(tree.size(7n), 2, 'an exit of another identity with the same pid removes nothing');
  tree.apply(exit(task(11, 200n)));
  t.deepEqual(tree.view(7n).map((n) => n.pid), [10]);
});

test('a seed does not overwrite what events said', (t) => {
  const tree = new ProcessTree();
  tree.apply(exec(task(5, 50n, 'svc'), '/srv/svc'));
  tree.seed(7n, { pid: 5, ppid: 1, startBoottimeNs: 50n, comm: 'svc', binary: null, cgroupId: 7n });
  t.is(tree.view(7n)[0]!.binary, '/srv/svc');
});

test('bounded: a fork storm keeps the newest MAX_PER_CONTAINER processes', (t) => {
  const tree = new ProcessTree();
  for (let i = 0; i < MAX_PER_CONTAINER + 10; i++) tree.apply(fork(task(1000 + i, BigInt(i)), task(1, 0n)));
  t.is(tree.size(7n), MAX_PER_CONTAINER);
  t.is(tree.view(7n)[0]!.pid, 1010);
});

test('retain forgets the trees of containers that are gone', (t) => {
  const tree = new ProcessTree();
  tree.apply(fork(task(11, 1n), task(10, 0n)));
  tree.seed(9n, { pid: 5, ppid: 1, startBoottimeNs: 1n, comm: 'x', binary: null, cgroupId: 9n });
  tree.retain(new Set([9n]));
  t.is(tree.size(7n), 0);
  t.is(tree.size(9n), 1);
});
