/**
 * The frame: how one MessagePack value is stored in the journal and sent on
 * the control socket. Pure: bytes in, values out.
 *
 *   u32 LE  payload length (1 .. maxPayload)
 *   u32 LE  CRC-32 (IEEE) of the payload
 *   payload MessagePack, one value
 *
 * A frame cut short (a writer killed mid-write) reads as `incomplete`; a
 * frame whose length is impossible or whose checksum does not match reads as
 * `corrupt`. Neither is ever decoded into a value.
 */
import { createRequire } from 'node:module';
import type { Packr } from 'msgpackr';

export const FRAME_HEADER_BYTES = 8;
/** Journal records are small; snapshots on the socket may be larger. */
export const MAX_RECORD_BYTES = 64 * 1024;
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

// Plain maps only: msgpackr's record extension would make a frame depend on
// the frames before it, so one lost frame could spoil the rest.
// Loaded on first use: CLI commands that never touch a frame skip its load time.
let packrInstance: Packr | null = null;
function packr(): Packr {
  if (!packrInstance) {
    const { Packr: PackrClass } = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
    packrInstance = new PackrClass({ useRecords: false, mapsAsObjects: true, moreTypes: false });
  }
  return packrInstance;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and gzip), over bytes [start, end). */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class FrameTooLargeError extends Error {
  constructor(readonly bytes: number, readonly max: number) {
    super(`a frame of ${bytes} bytes exceeds the limit of ${max}`);
  }
}

export function encodeFrame(value: unknown, maxPayload = MAX_MESSAGE_BYTES): Buffer {
  const payload = packr().pack(value);
  if (payload.length === 0 || payload.length > maxPayload) throw new FrameTooLargeError(payload.length, maxPayload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameResult =
  | { kind: 'frame'; value: unknown; next: number }
  | { kind: 'incomplete' }
  | { kind: 'corrupt'; why: string };

/** Decode the frame that starts at `offset`. */
export function decodeFrame(buf: Buffer, offset: number, maxPayload = MAX_MESSAGE_BYTES): FrameResult {
  if (buf.length - offset < FRAME_HEADER_BYTES) return { kind: 'incomplete' };
  const length = buf.readUInt32LE(offset);
  if (length === 0 || length > maxPayload) return { kind: 'corrupt', why: `impossible frame length ${length}` };
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buf.length) return { kind: 'incomplete' };
  const expected = buf.readUInt32LE(offset + 4);
  const actual = crc32(buf, offset + FRAME_HEADER_BYTES, end);
  if (expected !== actual) return { kind: 'corrupt', why: `checksum mismatch (stored ${hex(expected)}, computed ${hex(actual)})` };
  try {
    return { kind: 'frame', value: packr().unpack(buf.subarray(offset + FRAME_HEADER_BYTES, end)), next: end };
  } catch (err) {
    return { kind: 'corrupt', why: `undecodable MessagePack (${(err as Error).message})` };
  }
}

/** Every whole frame in `buf` from `offset`; stops at the first incomplete or corrupt one. */
export function decodeFrames(buf: Buffer, offset = 0, maxPayload = MAX_MESSAGE_BYTES): { values: unknown[]; end: number; stop: FrameResult | null } {
  const values: unknown[] = [];
  let at = offset;
  for (;;) {
    if (at === buf.length) return { values, end: at, stop: null };
    const r = decodeFrame(buf, at, maxPayload);
    if (r.kind !== 'frame') return { values, end: at, stop: r };
    values.push(r.value);
    at = r.next;
  }
}

/** Frames from a byte stream (a socket): chunks in, whole values out. */
export class FrameStream {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly maxPayload = MAX_MESSAGE_BYTES) {}

  /** The values completed by this chunk; throws on a corrupt frame (the peer must be dropped). */
  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const { values, end, stop } = decodeFrames(this.pending, 0, this.maxPayload);
    if (stop?.kind === 'corrupt') throw new Error(`corrupt frame: ${stop.why}`);
    this.pending = this.pending.subarray(end);
    return values;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
