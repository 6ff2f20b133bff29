/**
 * The control server's queue bound on its own (needs root for SO_PEERCRED to
 * name uid 0, no kernel features): a subscriber that stays stuck is cut off,
 * and publishing to it never waits.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { controlSocketPath } from '../../src/control/protocol.js';
import { ControlServer } from '../../src/control/server.js';
import { encodeFrame, FrameStream } from '../../src/journal/frame.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial } = kernelSerial('control server tests');

const record = (seq: number): JournalRecord => ({ seq, time: new Date().toISOString(), kind: 'monitor', container: null, process: null, pid: null, reason: `r${seq} ${'p'.repeat(500)}` });

serial('a stuck subscriber is cut off after stallMs; publishing never waits for it', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-control-'));
  const notices: string[] = [];
  const server = ControlServer.listen(root, {
    snapshot: () => { throw new Error('not asked'); },
    command: () => Promise.reject(new Error('not asked')),
    backlog: () => [],
    notice: (m) => notices.push(m),
  }, { queueBytes: 4096, stallMs: 300 });
  t.teardown(() => {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const stuck = net.createConnection(controlSocketPath(root));
  await new Promise((r) => stuck.once('connect', r));
  stuck.pause();
  stuck.write(encodeFrame({ id: 1, type: 'subscribe', since: 0 }));
  await new Promise((r) => setTimeout(r, 100));
  t.is(server.subscriberCount, 1);
  // Publishing never waits for the subscriber: all 4000 happen within one turn
  // of the event loop (a callback queued before them has not run after them),
  // and what is held for it never grows past the bound plus one frame, however
  // fast or slow this machine is.
  let loopTurned = false;
  setImmediate(() => { loopTurned = true; });
  const frameBytes = encodeFrame({ type: 'event', event: record(4000) }).length;
  let maxQueued = 0;
  for (let seq = 1; seq <= 4000; seq++) {
    server.publish(record(seq));
    maxQueued = Math.max(maxQueued, server.queuedBytes);
  }
  t.false(loopTurned, 'the publishes did not yield to the event loop');
  t.true(maxQueued <= 4096 + frameBytes, `at most the bound plus one frame waits for the stuck subscriber (most: ${maxQueued} bytes)`);
  t.true(maxQueued > 0, 'the subscriber was sent something before it fell behind');
  t.log(`most bytes held for the stuck subscriber: ${maxQueued} (bound 4096 + a ${frameBytes}-byte frame)`);
  await new Promise((r) => setTimeout(r, 600));
  t.is(server.subscriberCount, 0);
  t.truthy(notices.find((n) => /cut off subscriber pid \d+: it read nothing for 300 ms/.test(n)));
  // What it was sent before the cut is whole, in order, from seq 1.
  const frames = new FrameStream();
  const seqs: number[] = [];
  stuck.on('data', (c: Buffer) => {
    for (const m of frames.push(c) as Array<{ type: string; event?: JournalRecord }>) if (m.type === 'event') seqs.push(m.event!.seq);
  });
  stuck.resume();
  await new Promise((r) => stuck.once('close', r));
  t.true(seqs.length > 0 && seqs.length < 4000, `it got ${seqs.length} of 4000`);
  t.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
});

serial('a peer that sends requests and never reads the replies holds a bounded amount of the monitor; once it reads, every request is answered', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-control-'));
  let asked = 0;
  const big = 'x'.repeat(10_000);
  const server = ControlServer.listen(root, {
    snapshot: () => {
      asked++;
      return { big } as never;
    },
    command: () => Promise.reject(new Error('not asked')),
    backlog: () => [],
    notice: () => undefined,
  });
  t.teardown(() => {
    server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const peer = net.createConnection(controlSocketPath(root));
  await new Promise((r) => peer.once('connect', r));
  peer.pause();
  const total = 3000;
  for (let id = 1; id <= total; id++) peer.write(encodeFrame({ id, type: 'snapshot' }));
  await new Promise((r) => setTimeout(r, 1000));
  // 3000 replies of 10 kB would be 30 MB held for a peer that reads nothing.
  t.true(asked * 10_000 < 4 * 1024 * 1024, `answered ${asked} of ${total} unread`);
  const frames = new FrameStream();
  let replies = 0;
  const all = new Promise<void>((resolve) => {
    peer.on('data', (chunk: Buffer) => {
      replies += frames.push(chunk).length;
      if (replies === total) resolve();
    });
  });
  peer.resume();
  await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
  t.is(replies, total, 'every request answered once the peer reads');
  peer.destroy();
});
