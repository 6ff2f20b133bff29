import test from 'ava';
import { hostUserNames, topRows, type ProcInfo } from '../../../src/launcher/top.js';
import type { ContainerState } from '../../../src/state/store.js';

const proc = (pid: number, ppid: number, startTime: number, command: string, uid = 0): ProcInfo => ({ pid, containerPid: pid - 99, ppid, uid, state: 'S', startTime, command });

const state = {
  init: { pid: 100, startTime: 1000 },
  processes: [
    { name: 'api', pid: 101, startTime: 1001 },
    { name: 'old', pid: 102, startTime: 999 }, // the pid was reused: not this process any more
  ],
} as unknown as ContainerState;

test('init, named processes, their descendants and the rest are marked; pid reuse is not mistaken', (t) => {
  const rows = topRows(state, [
    proc(104, 103, 1004, 'grandchild'),
    proc(101, 100, 1001, 'api'),
    proc(100, 1, 1000, 'vigil-init'),
    proc(103, 101, 1003, 'child', 1000),
    proc(102, 100, 1002, 'reused'),
  ], 1_700_000_000_000, hostUserNames('root:x:0:0::/root:/bin/sh\nsvc:x:1000:1000::/:/bin/false\n'));
  t.deepEqual(rows.map((r) => [r.pid, r.role, r.user]), [
    [100, 'vigil-init', 'root'],
    [101, 'api', 'root'],
    [102, '-', 'root'],
    [103, 'child of api', 'svc'],
    [104, 'child of api', 'root'],
  ]);
  t.is(rows[0].started, new Date(1_700_000_000_000 + 10_000).toISOString(), 'start ticks are 1/100 s after boot');
  t.is(rows[0].containerPid, 1);
});

test('an unknown uid shows as its number', (t) => {
  t.is(hostUserNames('')(4242), '4242');
});
