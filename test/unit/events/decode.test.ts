/**
 * Golden bytes: records written at literal offsets (not via the layout table,
 * so these pin the ABI independently), decoded into typed events.
 */
import test from 'ava';
import { DecodeError, decodeEvent, type DecodeErrorReason, type ExitEvent, type OomEvent, type SignalEvent } from '../../../src/events/decode.js';

function header(size: number, kind: number, version = 1, length = size): Buffer {
  const b = Buffer.alloc(length);
  b.writeBigUInt64LE(123_456_789_000n, 0); // ts_ns
  b.writeBigUInt64LE(4242n, 8); // cgroup_id
  b.writeUInt16LE(kind, 16);
  b.writeUInt16LE(version, 18);
  b.writeUInt32LE(size, 20);
  return b;
}

function task(b: Buffer, at: number, pid: number, tid: number, start: bigint, comm: string): void {
  b.writeUInt32LE(pid, at);
  b.writeUInt32LE(tid, at + 4);
  b.writeBigUInt64LE(start, at + 8);
  b.write(comm, at + 16, 16, 'latin1');
}

function exitRecord(exitCode: number, flags: number, length = 72): Buffer {
  const b = header(72, 1, 1, length);
  task(b, 24, 1000, 1002, 5_000_000_000n, 'worker');
  b.writeUInt32LE(1, 56); // ppid
  b.writeInt32LE(exitCode, 60);
  b.writeUInt32LE(flags, 64);
  return b;
}

test('exit record: normal exit with status 3', (t) => {
  const e = decodeEvent(exitRecord(3 << 8, 0)) as ExitEvent;
  t.like(e, {
    kind: 'exit',
    tsNs: 123_456_789_000n,
    cgroupId: 4242n,
    version: 1,
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
  b.write('abcdefghijklmnop', 40, 16, 'latin1');
  t.is((decodeEvent(b) as ExitEvent).task.comm, 'abcdefghijklmnop');
});

test('signal record', (t) => {
  const b = header(112, 2);
  task(b, 24, 2000, 2000, 7n, 'sleep');
  task(b, 56, 3000, 3001, 8n, 'node');
  b.writeBigUInt64LE(77n, 88);
  b.writeInt32LE(9, 96);
  b.writeInt32LE(-6, 100); // SI_TKILL
  b.writeInt32LE(0, 104);
  b.writeUInt32LE(1, 108);
  const e = decodeEvent(b) as SignalEvent;
  t.like(e, { kind: 'signal', signal: 9, siCode: -6, result: 0, group: true, senderCgroupId: 77n, cgroupId: 4242n });
  t.deepEqual(e.target, { pid: 2000, tid: 2000, startBoottimeNs: 7n, comm: 'sleep' });
  t.deepEqual(e.sender, { pid: 3000, tid: 3001, startBoottimeNs: 8n, comm: 'node' });
});

test('oom record', (t) => {
  const b = header(64, 3);
  task(b, 24, 4000, 4000, 9n, 'python3');
  b.writeUInt32LE(1001, 56);
  const e = decodeEvent(b) as OomEvent;
  t.like(e, { kind: 'oom', uid: 1001, victim: { pid: 4000, tid: 4000, startBoottimeNs: 9n, comm: 'python3' } });
});

const failures: Array<[string, () => Buffer, DecodeErrorReason]> = [
  ['shorter than a header', () => Buffer.alloc(10), 'truncated'],
  ['header of an exit record with the body cut off', () => exitRecord(0, 0).subarray(0, 40), 'truncated'],
  ['unknown kind', () => header(72, 99), 'unknown-kind'],
  ['reserved kind FORK (not decodable yet)', () => header(72, 4), 'unknown-kind'],
  ['unknown version', () => header(72, 1, 2), 'unknown-version'],
  [
    'header size disagrees with the kind',
    () => {
      const b = exitRecord(0, 0);
      b.writeUInt32LE(80, 20);
      return b;
    },
    'size-mismatch',
  ],
  ['longer than the kind', () => exitRecord(0, 0, 80), 'size-mismatch'],
];

for (const [name, make, reason] of failures) {
  test(`decode error: ${name}`, (t) => {
    const r = decodeEvent(make());
    t.true(r instanceof DecodeError);
    t.is((r as DecodeError).reason, reason);
    t.is((r as DecodeError).code, 'ERR_EVENT_DECODE');
  });
}
