import test from 'ava';
import type { ExitEvent, SignalEvent, TaskIdentity } from '../../../src/events/decode.js';
import { attributeExit, findProcess, processOfDeath, senderOf, startTicks } from '../../../src/monitor/attribute.js';
import type { ContainerState } from '../../../src/state/store.js';
import type { MonoNs } from '../../../src/util/units.js';

const task = (pid: number, startTick: number, comm = 'svc'): TaskIdentity => ({ pid, tid: pid, startBoottimeNs: BigInt(startTick) * 10_000_000n + 1234n, comm });
const at = new Date('2026-12-03T18:00:00.000Z');

function exitEvent(over: Partial<ExitEvent>): ExitEvent {
  return { kind: 'exit', tsNs: 1n as MonoNs, cgroupId: 77n, taskCgroupId: 77n, version: 2, task: task(100, 5000), ppid: 1, exitCode: 0, status: 0, signal: null, coreDumped: false, oomVictim: false, flags: 0, ...over };
}

function signalEvent(sig: number, siCode: number, sender = task(42, 10, 'bash'), senderWatchedCgroupId = 0n): SignalEvent {
  return { kind: 'signal', tsNs: 1n as MonoNs, cgroupId: 77n, taskCgroupId: 77n, version: 2, target: task(100, 5000), sender, senderCgroupId: 1n, senderWatchedCgroupId, signal: sig, siCode, result: 0, group: true, flags: 1 };
}

test('start times match /proc ticks (ns since boot / 10^7)', (t) => {
  t.is(startTicks(123_456_789_012n), 12345);
});

test('a process is found by pid and start time, never by pid alone', (t) => {
  const state = { processes: [{ name: 'api', pid: 100, startTime: 5000 }] } as ContainerState;
  t.is(findProcess(state, 100, task(100, 5000).startBoottimeNs)?.name, 'api');
  t.is(findProcess(state, 100, task(100, 5001).startBoottimeNs), null, 'a reused pid is another process');
  t.is(findProcess(state, 101, task(101, 5000).startBoottimeNs), null);
});

test('exit code', (t) => {
  const a = attributeExit(exitEvent({ status: 3, exitCode: 3 << 8 }), null, false, null, at);
  t.deepEqual(a.death, { kind: 'exited', code: 3 });
  t.deepEqual(a.lastExit, { code: 3, signal: null, reason: 'exited', sender: null, coreDumped: false, at: at.toISOString() });
});

test('SIGKILL from a user: signaled, with the sender', (t) => {
  const sig = signalEvent(9, 0);
  const sender = senderOf(sig, () => null);
  t.deepEqual(sender, { pid: 42, comm: 'bash', container: null });
  const a = attributeExit(exitEvent({ status: null, signal: 9, exitCode: 9 }), sig, false, sender, at);
  t.like(a.death, { kind: 'signaled', signal: 9, fault: false, sender: 'pid 42 (bash, host)' });
  t.like(a.lastExit, { signal: 'SIGKILL', reason: 'signaled', sender: { pid: 42, comm: 'bash', container: null } });
});

test('the sender is named with its container when it has one, even from a sub-cgroup of it', (t) => {
  const names = (id: bigint) => (id === 5n ? 'other' : null);
  t.deepEqual(senderOf(signalEvent(15, 0, task(42, 10, 'bash'), 5n), names), { pid: 42, comm: 'bash', container: 'other' });
  t.deepEqual(senderOf(signalEvent(15, 0), names), { pid: 42, comm: 'bash', container: null }, 'a sender in no watched cgroup is the host');
});

test('SIGSEGV raised by the kernel is a crash with no sender', (t) => {
  const sig = signalEvent(11, 1 /* SEGV_MAPERR */);
  t.is(senderOf(sig, () => null), null);
  const a = attributeExit(exitEvent({ status: null, signal: 11, exitCode: 11 | 0x80, coreDumped: true }), sig, false, null, at);
  t.like(a.death, { kind: 'signaled', signal: 11, fault: true, coreDumped: true, sender: null });
  t.like(a.lastExit, { signal: 'SIGSEGV', reason: 'signaled', sender: null, coreDumped: true });
});

test('SIGSEGV sent with kill(1) is not a crash', (t) => {
  const sig = signalEvent(11, 0);
  const a = attributeExit(exitEvent({ status: null, signal: 11, exitCode: 11 }), sig, false, senderOf(sig, () => null), at);
  t.like(a.death, { kind: 'signaled', fault: false, sender: 'pid 42 (bash, host)' });
});

test('SIGKILL from the kernel (e.g. the pid namespace ending) says so', (t) => {
  const sig = signalEvent(9, 0x80);
  const a = attributeExit(exitEvent({ status: null, signal: 9, exitCode: 9 }), sig, false, null, at);
  t.like(a.death, { kind: 'signaled', fault: false, sender: 'the kernel' });
});

test('OOM: from the exit flag, or from an OOM event for that pid; never "signal 9"', (t) => {
  const flagged = attributeExit(exitEvent({ status: null, signal: 9, exitCode: 9, oomVictim: true }), signalEvent(9, 0x80), false, null, at);
  t.deepEqual(flagged.death, { kind: 'oom-killed' });
  t.like(flagged.lastExit, { reason: 'oom-killed', signal: 'SIGKILL', sender: null });
  const marked = attributeExit(exitEvent({ status: null, signal: 9, exitCode: 9 }), null, true, null, at);
  t.deepEqual(marked.death, { kind: 'oom-killed' });
});

test('a signal event for another signal does not name the sender of the fatal one', (t) => {
  const a = attributeExit(exitEvent({ status: null, signal: 9, exitCode: 9 }), signalEvent(15, 0), false, { pid: 42, comm: 'bash', container: null }, at);
  t.like(a.lastExit, { signal: 'SIGKILL', sender: null });
});

test('a signal seen for an earlier holder of the pid is not the cause of this process\'s death', (t) => {
  // pid 100 was held by another process (start tick 4000) when a host shell
  // sent SIGSEGV; the process now holding pid 100 crashes on its own, and its
  // own signal record is missing (dropped, or the buffer was half full).
  const stale: SignalEvent = { ...signalEvent(11, 0), target: task(100, 4000) };
  const a = attributeExit(exitEvent({ status: null, signal: 11, exitCode: 11 | 0x80, coreDumped: true }), stale, false, senderOf(stale, () => null), at);
  t.like(a.death, { kind: 'signaled', signal: 11, fault: true, sender: null });
  t.like(a.lastExit, { signal: 'SIGSEGV', sender: null });
});

test('a death found without an event is placed by pid and recorded start time, never on another process now holding that pid', (t) => {
  // "a" died unseen at pid 100 (start 5000); "b" was restarted since and got pid 100 again (start 7000).
  const state = { processes: [{ name: 'b', pid: 100, startTime: 7000 }, { name: 'a', pid: 100, startTime: 5000 }] } as ContainerState;
  t.is(processOfDeath(state, 100, { ticks: 5000 })?.name, 'a');
  t.is(processOfDeath(state, 100, { ticks: 7000 })?.name, 'b');
  t.is(processOfDeath(state, 100, { ns: task(100, 5000).startBoottimeNs })?.name, 'a');
  t.is(processOfDeath(state, 100, { ticks: 6000 }), null);
});
