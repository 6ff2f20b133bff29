import test from 'ava';
import { crc32, decodeFrame, decodeFrames, encodeFrame, FRAME_HEADER_BYTES, FrameStream, FrameTooLargeError, MAX_RECORD_BYTES } from '../../../src/journal/frame.js';

test('crc32 matches the IEEE check value', (t) => {
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32(Buffer.alloc(0)), 0);
});

test('a frame is length, checksum, MessagePack; it decodes to the same value', (t) => {
  const value = { seq: 7, kind: 'exit', container: 'svc', process: null, pid: 42, reason: 'exit 1', nested: { a: [1, 'two'] } };
  const frame = encodeFrame(value);
  t.is(frame.readUInt32LE(0), frame.length - FRAME_HEADER_BYTES);
  t.is(frame.readUInt32LE(4), crc32(frame, FRAME_HEADER_BYTES));
  const r = decodeFrame(frame, 0);
  t.is(r.kind, 'frame');
  if (r.kind === 'frame') {
    t.deepEqual(r.value, value);
    t.is(r.next, frame.length);
  }
});

test('frames are independent: each decodes alone (no shared record structures)', (t) => {
  const a = encodeFrame({ kind: 'exit', seq: 1 });
  const b = encodeFrame({ kind: 'exit', seq: 2 });
  const r = decodeFrame(b, 0);
  t.true(r.kind === 'frame' && (r.value as { seq: number }).seq === 2);
  t.deepEqual(decodeFrames(Buffer.concat([a, b])).values, [{ kind: 'exit', seq: 1 }, { kind: 'exit', seq: 2 }]);
});

test('every cut of a frame reads as incomplete, never as a value', (t) => {
  const frame = encodeFrame({ seq: 1, reason: 'x'.repeat(100) });
  for (let cut = 0; cut < frame.length; cut++) t.is(decodeFrame(frame.subarray(0, cut), 0).kind, 'incomplete', `cut at ${cut}`);
});

test('a flipped bit anywhere in the payload or checksum reads as corrupt', (t) => {
  const frame = encodeFrame({ seq: 1, reason: 'operator stop' });
  for (let i = 4; i < frame.length; i++) {
    const bad = Buffer.from(frame);
    bad[i] ^= 0x10;
    t.is(decodeFrame(bad, 0).kind, 'corrupt', `byte ${i}`);
  }
});

test('impossible lengths are corrupt: zero (a zero-filled tail) and above the limit', (t) => {
  t.is(decodeFrame(Buffer.alloc(64), 0).kind, 'corrupt');
  const big = Buffer.alloc(FRAME_HEADER_BYTES);
  big.writeUInt32LE(MAX_RECORD_BYTES + 1, 0);
  const r = decodeFrame(big, 0, MAX_RECORD_BYTES);
  t.is(r.kind, 'corrupt');
  t.regex(r.kind === 'corrupt' ? r.why : '', /impossible frame length/);
});

test('decodeFrames stops at the first bad frame and says where', (t) => {
  const good = Buffer.concat([encodeFrame({ seq: 1 }), encodeFrame({ seq: 2 })]);
  const torn = encodeFrame({ seq: 3 }).subarray(0, 5);
  const r = decodeFrames(Buffer.concat([good, torn]));
  t.deepEqual(r.values, [{ seq: 1 }, { seq: 2 }]);
  t.is(r.end, good.length);
  t.is(r.stop?.kind, 'incomplete');
  t.is(decodeFrames(good).stop, null);
});

test('encoding refuses a value larger than the limit', (t) => {
  t.throws(() => encodeFrame({ reason: 'x'.repeat(MAX_RECORD_BYTES) }, MAX_RECORD_BYTES), { instanceOf: FrameTooLargeError });
});

test('a stream of frames split at every byte yields each value once', (t) => {
  const bytes = Buffer.concat([encodeFrame({ n: 1 }), encodeFrame({ n: 2, s: 'abc' }), encodeFrame({ n: 3 })]);
  for (let split = 1; split < bytes.length; split++) {
    const s = new FrameStream();
    t.deepEqual([...s.push(bytes.subarray(0, split)), ...s.push(bytes.subarray(split))], [{ n: 1 }, { n: 2, s: 'abc' }, { n: 3 }]);
  }
  const s = new FrameStream();
  const bad = Buffer.from(encodeFrame({ n: 1 }));
  bad[bad.length - 1] ^= 1;
  t.throws(() => s.push(bad), { message: /corrupt frame: checksum mismatch/ });
});
