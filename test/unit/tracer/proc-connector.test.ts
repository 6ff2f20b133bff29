/** Degraded mode's pure step: a process-connector exit becomes an exit event only for a known identity that is gone. */
import test from 'ava';
import { procExitToEvent, type KnownProcess, type ProcExit } from '../../../src/tracer/proc-connector.js';

const known = new Map<number, KnownProcess>([[100, { cgroupId: 77n, startBoottimeNs: 5_000_000_000n, comm: 'api', init: false }]]);
const rec = (over: Partial<ProcExit> = {}): ProcExit => ({ pid: 100, tid: 100, exitCode: 42 << 8, ppid: 1, tsNs: 9_000_000_000n, ...over });
const dead = () => false;

test('the leader of a known process: exit code, cgroup and identity from the state', (t) => {
  const e = procExitToEvent(rec(), (p) => known.get(p) ?? null, dead, 0n);
  t.like(e, { kind: 'exit', cgroupId: 77n, status: 42, signal: null, coreDumped: false, task: { pid: 100, startBoottimeNs: 5_000_000_000n, comm: 'api' } });
});

test('killed by a signal, with a core dump', (t) => {
  t.like(procExitToEvent(rec({ exitCode: 0x80 | 6 }), (p) => known.get(p) ?? null, dead, 0n), { status: null, signal: 6, coreDumped: true });
});

test('not an exit of a known process: another thread, an unknown pid, a reused pid, an identity still alive', (t) => {
  const k = (p: number) => known.get(p) ?? null;
  t.is(procExitToEvent(rec({ tid: 101 }), k, dead, 0n), null, 'a thread');
  t.is(procExitToEvent(rec({ pid: 200, tid: 200 }), k, dead, 0n), null, 'unknown');
  t.is(procExitToEvent(rec({ tsNs: 4_000_000_000n }), k, dead, 0n), null, 'the known process started after this exit: another process had the pid');
  t.not(procExitToEvent(rec({ tsNs: 4_000_000_000n }), k, dead, 1_000_000_000n), null, 'unless boottime runs ahead of monotonic by that much');
  t.is(procExitToEvent(rec(), k, () => true, 0n), null, 'the identity is still alive (the leader ended before its threads)');
});
