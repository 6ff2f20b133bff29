/**
 * Golden bytes: records written at literal offsets (not via the layout table,
 * so these pin the ABI independently), decoded into typed events.
 */
import test from 'ava';
import {
  DecodeError,
  decodeEvent,
  type DecodeErrorReason,
  type ExecEvent,
  type ExitEvent,
  type ForkEvent,
  type OomEvent,
  type SignalEvent,
} from '../../../src/events/decode.js';

function header(size: number, kind: number, version = 2, length = size): Buffer {
  const b = Buffer.alloc(length);
  b.writeBigUInt64LE(123_456_789_000n, 0); // ts_ns
  b.writeBigUInt64LE(4242n, 8); // cgroup_id (the watched one)
  b.writeBigUInt64LE(4343n, 16); // task_cgroup_id (its own)
  b.writeUInt16LE(kind, 24);
  b.writeUInt16LE(version, 26);
  b.writeUInt32LE(size, 28);
  return b;
}

function task(b: Buffer, at: number, pid: number, tid: number, start: bigint, comm: string): void {
  b.writeUInt32LE(pid, at);
  b.writeUInt32LE(tid, at + 4);
  b.writeBigUInt64LE(start, at + 8);
  b.write(comm, at + 16, 16, 'latin1');
}

function exitRecord(exitCode: number, flags: number, length = 80): Buffer {
  const b = header(80, 1, 2, length);
  task(b, 32, 1000, 1002, 5_000_000_000n, 'worker');
  b.writeUInt32LE(1, 64); // ppid
  b.writeInt32LE(exitCode, 68);
  b.writeUInt32LE(flags, 72);
  return b;
}

test('exit record: normal exit with status 3', (t) => {
  const e = decodeEvent(exitRecord(3 << 8, 0)) as ExitEvent;
  t.like(e, {
    kind: 'exit',
    tsNs: 123_456_789_000n,
    cgroupId: 4242n,
    taskCgroupId: 4343n,
    version: 2,
    ppid: 1,
    exitCode: 0x300,
    status: 3,
    signal: null,
    coreDumped: false,
    oomVictim: false,
  });
  t.deepEqual(e.task, { pid: 1000, tid: 1002, startBoottimeNs: 5_000_000_000n, comm: 'worker' });
});

test('exit record: killed by SIGKILL as an OOM victim', (t) => {
  const e = decodeEvent(exitRecord(9, 1)) as ExitEvent;
  t.like(e, { kind: 'exit', status: null, signal: 9, oomVictim: true, coreDumped: false });
});

test('exit record: SIGSEGV with core dump', (t) => {
  const e = decodeEvent(exitRecord(0x80 | 11, 2)) as ExitEvent;
  t.like(e, { signal: 11, coreDumped: true, oomVictim: false });
});

test('exit record: a comm filling all 16 bytes has no NUL', (t) => {
  const b = exitRecord(0, 0);
  b.write('abcdefghijklmnop', 48, 16, 'latin1');
  t.is((decodeEvent(b) as ExitEvent).task.comm, 'abcdefghijklmnop');
});

test('signal record', (t) => {
  const b = header(128, 2);
  task(b, 32, 2000, 2000, 7n, 'sleep');
  task(b, 64, 3000, 3001, 8n, 'node');
  b.writeBigUInt64LE(77n, 96);
  b.writeBigUInt64LE(78n, 104);
  b.writeInt32LE(9, 112);
  b.writeInt32LE(-6, 116); // SI_TKILL
  b.writeInt32LE(0, 120);
  b.writeUInt32LE(1, 124);
  const e = decodeEvent(b) as SignalEvent;
  t.like(e, { kind: 'signal', signal: 9, siCode: -6, result: 0, group: true, senderCgroupId: 77n, senderWatchedCgroupId: 78n, cgroupId: 4242n });
  t.deepEqual(e.target, { pid: 2000, tid: 2000, startBoottimeNs: 7n, comm: 'sleep' });
  t.deepEqual(e.sender, { pid: 3000, tid: 3001, startBoottimeNs: 8n, comm: 'node' });
});

test('oom record, from either hook, with sizes and scope', (t) => {
  const b = header(120, 3);
  task(b, 32, 4000, 4000, 9n, 'python3');
  b.writeUInt32LE(1001, 64);
  b.writeUInt32LE(2, 68);
  [300_000n, 32_000n, 4_000n, 16n, 120n].forEach((v, i) => b.writeBigUInt64LE(v, 72 + 8 * i));
  b.writeInt32LE(-500, 112);
  b.writeUInt32LE(1, 116);
  const e = decodeEvent(b) as OomEvent;
  t.like(e, { kind: 'oom', uid: 1001, hook: 'fentry', scope: 'memcg', oomScoreAdj: -500, victim: { pid: 4000, tid: 4000, startBoottimeNs: 9n, comm: 'python3' } });
  t.deepEqual(e.sizes, { totalVmKb: 300_000n, anonRssKb: 32_000n, fileRssKb: 4_000n, shmemRssKb: 16n, pgtablesKb: 120n });
  b.writeUInt32LE(1, 68);
  b.writeUInt32LE(0, 116);
  t.like(decodeEvent(b), { hook: 'tracepoint', scope: 'global' });
  b.writeUInt32LE(2, 116);
  t.like(decodeEvent(b), { scope: 'unknown' });
});

test('fork record', (t) => {
  const b = header(96, 4);
  task(b, 32, 5001, 5001, 11n, 'sh');
  task(b, 64, 5000, 5000, 10n, 'sh');
  const e = decodeEvent(b) as ForkEvent;
  t.like(e, { kind: 'fork', cgroupId: 4242n, child: { pid: 5001, startBoottimeNs: 11n }, parent: { pid: 5000, comm: 'sh' } });
});

test('exec record: the filename stops at its NUL', (t) => {
  const b = header(320, 5);
  task(b, 32, 6000, 6000, 12n, 'python3');
  b.write('/usr/bin/python3\0garbage', 64, 'latin1');
  const e = decodeEvent(b) as ExecEvent;
  t.like(e, { kind: 'exec', filename: '/usr/bin/python3', task: { pid: 6000, comm: 'python3' } });
});

const failures: Array<[string, () => Buffer, DecodeErrorReason]> = [
  ['shorter than a header', () => Buffer.alloc(10), 'truncated'],
  ['header of an exit record with the body cut off', () => exitRecord(0, 0).subarray(0, 40), 'truncated'],
  ['unknown kind', () => header(80, 99), 'unknown-kind'],
  ['unknown version (the v1 layout)', () => header(80, 1, 1), 'unknown-version'],
  [
    'header size disagrees with the kind',
    () => {
      const b = exitRecord(0, 0);
      b.writeUInt32LE(88, 28);
      return b;
    },
    'size-mismatch',
  ],
  ['longer than the kind', () => exitRecord(0, 0, 88), 'size-mismatch'],
];

for (const [name, make, reason] of failures) {
  test(`decode error: ${name}`, (t) => {
    const r = decodeEvent(make());
    t.true(r instanceof DecodeError);
    t.is((r as DecodeError).reason, reason);
    t.is((r as DecodeError).code, 'ERR_EVENT_DECODE');
  });
}
