import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeFrame } from '../../../src/journal/frame.js';
import { CURRENT_SEGMENT, JournalReader, JournalWriter, PREVIOUS_SEGMENT, readJournal, type JournalEntry } from '../../../src/journal/journal.js';

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-journal-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'journal');
}

const entry = (reason: string, extra: Record<string, unknown> = {}): JournalEntry => ({ kind: 'exit', container: 'svc', process: 'api', pid: 10, reason, ...extra });
const seqs = (dir: string, after = 0) => readJournal(dir, after).records.map((r) => r.seq);

test('records are numbered from 1, stamped, stored and read back in order', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir);
  t.deepEqual(j.recovery, { lastSeq: 0, cutBytes: 0, cutWhy: null });
  const a = j.append(entry('one', { big: 12345678901234567890n }));
  j.append(entry('two'));
  j.close();
  t.is(a.seq, 1);
  t.false(Number.isNaN(Date.parse(a.time)));
  t.is(a.big, '12345678901234567890', 'bigints are stored as JSON shows them');
  const { records, problems } = readJournal(dir);
  t.deepEqual(records.map((r) => [r.seq, r.reason]), [[1, 'one'], [2, 'two']]);
  t.deepEqual(problems, []);
  t.is((fs.statSync(dir).mode & 0o777), 0o700);
  t.is((fs.statSync(path.join(dir, CURRENT_SEGMENT)).mode & 0o777), 0o600);
});

test('a torn last frame is cut off at the next open; numbering continues after the last good seq', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir);
  for (let i = 0; i < 3; i++) j.append(entry(`r${i}`));
  j.close();
  const file = path.join(dir, CURRENT_SEGMENT);
  const goodSize = fs.statSync(file).size;
  // A monitor killed mid-write: half of the frame for seq 4.
  const frame = encodeFrame({ seq: 4, time: new Date().toISOString(), ...entry('torn') });
  fs.appendFileSync(file, frame.subarray(0, frame.length - 3));
  t.deepEqual(seqs(dir), [1, 2, 3], 'a reader never misreads the torn frame');
  const k = JournalWriter.open(dir);
  t.is(k.recovery.lastSeq, 3);
  t.is(k.recovery.cutBytes, frame.length - 3);
  t.is(k.recovery.cutWhy, 'a frame cut short');
  t.is(fs.statSync(file).size, goodSize);
  t.is(k.append(entry('after')).seq, 4);
  k.close();
  t.deepEqual(readJournal(dir).records.map((r) => [r.seq, r.reason]), [[1, 'r0'], [2, 'r1'], [3, 'r2'], [4, 'after']]);
});

test('a tail with a bad checksum is cut too, and the reason says so', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir);
  j.append(entry('a'));
  j.append(entry('b'));
  j.close();
  const file = path.join(dir, CURRENT_SEGMENT);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 2] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const k = JournalWriter.open(dir);
  t.is(k.recovery.lastSeq, 1);
  t.regex(k.recovery.cutWhy ?? '', /checksum mismatch/);
  t.is(k.append(entry('c')).seq, 2);
  k.close();
  t.deepEqual(readJournal(dir).records.map((r) => r.reason), ['a', 'c']);
});

test('segments rotate at their bound; two are kept; seq continues across a reopen after rotation', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir, 1024);
  for (let i = 0; i < 40; i++) j.append(entry(`record ${i} ${'x'.repeat(40)}`));
  j.close();
  t.true(fs.statSync(path.join(dir, CURRENT_SEGMENT)).size <= 1024);
  t.true(fs.statSync(path.join(dir, PREVIOUS_SEGMENT)).size <= 1024);
  const kept = seqs(dir);
  t.is(kept[kept.length - 1], 40);
  t.true(kept.length < 40, 'the oldest records were dropped with the older segment');
  t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 41 - kept.length + i), 'what is kept has no gaps');
  // A new monitor finds the last seq even when the current segment is empty.
  fs.writeFileSync(path.join(dir, CURRENT_SEGMENT), '');
  const k = JournalWriter.open(dir, 1024);
  t.true(k.recovery.lastSeq >= kept[0]);
  k.close();
});

test('a follower sees each record once, in order, across rotations, without gaps', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir, 600);
  const reader = new JournalReader(dir, 0);
  const seen: number[] = [];
  for (let i = 0; i < 60; i++) {
    j.append(entry(`r${i} ${'y'.repeat(30)}`));
    // Poll now and then, so rotations happen between polls (up to one per poll).
    if (i % 3 === 0) seen.push(...reader.poll().map((r) => r.seq));
  }
  seen.push(...reader.poll().map((r) => r.seq));
  reader.close();
  j.close();
  t.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i + 1));
});

test('a reader leaves a partly written frame for later and reads it once whole', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir);
  j.append(entry('a'));
  const reader = new JournalReader(dir, 0);
  t.deepEqual(reader.poll().map((r) => r.seq), [1]);
  const file = path.join(dir, CURRENT_SEGMENT);
  const frame = encodeFrame({ seq: 2, time: new Date().toISOString(), ...entry('b') });
  fs.appendFileSync(file, frame.subarray(0, 10));
  t.deepEqual(reader.poll(), []);
  fs.appendFileSync(file, frame.subarray(10));
  t.deepEqual(reader.poll().map((r) => r.reason), ['b']);
  t.deepEqual(reader.problems, []);
  reader.close();
  j.close();
});

test('readJournal after a seq returns only later records; an absent journal is empty', (t) => {
  const dir = tempDir(t);
  t.deepEqual(readJournal(dir).records, []);
  const j = JournalWriter.open(dir);
  for (let i = 0; i < 5; i++) j.append(entry(`r${i}`));
  j.close();
  t.deepEqual(seqs(dir, 3), [4, 5]);
  t.deepEqual(seqs(dir, 5), []);
});

test('a record too large for a frame keeps its identity and a cut reason', (t) => {
  const dir = tempDir(t);
  const j = JournalWriter.open(dir);
  const r = j.append(entry('z'.repeat(100_000), { stack: 'q'.repeat(100_000) }));
  j.close();
  const [stored] = readJournal(dir).records;
  t.is(stored.seq, r.seq);
  t.is(stored.container, 'svc');
  t.is(stored.stack, undefined);
  t.regex(stored.reason, /cut: the record exceeded/);
});

// Found by trying to break it: `signal` records carried the number, `exit` records the name.
test('a record\'s signal is a name as SPEC shows it: appended, and read back from a journal written before the rule', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(dir, { recursive: true });
  const old = { seq: 1, time: new Date().toISOString(), kind: 'signal', container: 'svc', process: 'api', pid: 10, reason: 'old', signal: 9, siCode: 0 };
  fs.writeFileSync(path.join(dir, CURRENT_SEGMENT), encodeFrame(old));
  const j = JournalWriter.open(dir);
  const appended = j.append({ kind: 'signal', container: 'svc', process: 'api', pid: 10, reason: 'new', signal: 15, siCode: 0 });
  j.append(entry('named', { signal: 'SIGABRT' }));
  j.append(entry('none', { signal: null, code: 0 }));
  j.append(entry('no field'));
  j.close();
  t.is(appended.signal, 'SIGTERM');
  const { records } = readJournal(dir);
  t.deepEqual(records.map((r) => [r.seq, r.signal, r.siCode]), [[1, 'SIGKILL', 0], [2, 'SIGTERM', 0], [3, 'SIGABRT', undefined], [4, null, undefined], [5, undefined, undefined]]);
});
