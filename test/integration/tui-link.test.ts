/**
 * The TUI's link against a real control server (root for SO_PEERCRED, no
 * kernel features): history on first subscription, then live records; the
 * monitor going away and a new one coming on the same root; the feed
 * resumes from the last seq with no repeat and no gap. The `missed` path
 * resubscribes from the last seq too. Requests reach the monitor as asked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Snapshot } from '../../src/control/protocol.js';
import { ControlServer, type CommandRequest } from '../../src/control/server.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { MonitorLink } from '../../tui/link.js';
import type { LinkStatus } from '../../tui/state.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial } = kernelSerial('TUI link tests');

const record = (seq: number): JournalRecord => ({ seq, time: new Date().toISOString(), kind: 'monitor', container: null, process: null, pid: null, reason: `r${seq} ${'p'.repeat(400)}` });

class FakeMonitor {
  server: ControlServer | null = null;
  commands: CommandRequest[] = [];
  constructor(readonly root: string, readonly journal: JournalRecord[], private readonly pid: number) {}

  listen(queueBytes?: number): this {
    this.server = ControlServer.listen(this.root, {
      snapshot: (): Snapshot => ({ monitor: { pid: this.pid, version: 't', protocol: 1, root: this.root, startedAt: new Date().toISOString(), uptimeMs: 1, tracerDrops: '0', lastSeq: this.journal.at(-1)?.seq ?? 0, lastEventAt: null }, containers: [] }),
      command: async (r) => {
        this.commands.push(r);
        return { seq: 77 };
      },
      backlog: (since) => this.journal.filter((r) => r.seq > since),
      notice: () => undefined,
    }, { queueBytes });
    return this;
  }

  append(seq: number): void {
    const r = record(seq);
    this.journal.push(r);
    this.server?.publish(r);
  }

  close(): void {
    this.server?.close();
    this.server = null;
  }
}

function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`not seen within ${timeoutMs} ms: ${what}`));
      }
    }, 10);
  });
}

serial('history, live records, a monitor restart and a missed range: every seq once, in order', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-tuilink-'));
  const journal = [1, 2, 3, 4, 5].map(record);
  const first = new FakeMonitor(root, journal, 101).listen();
  const link = new MonitorLink(root, { history: 3, retryEveryMs: 100, snapshotEveryMs: 100 });
  const seqs: number[] = [];
  const statuses: LinkStatus[] = [];
  let snapshots = 0;
  link.on('record', (r) => seqs.push(r.seq));
  link.on('status', (s) => statuses.push(s));
  link.on('snapshot', () => snapshots++);
  let second: FakeMonitor | null = null;
  t.teardown(() => {
    link.close();
    first.close();
    second?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  link.start();
  await until('the history', () => seqs.length === 3);
  t.deepEqual(seqs, [3, 4, 5], 'the last `history` records first');
  first.append(6);
  await until('a live record', () => seqs.includes(6));
  await until('snapshots every 100 ms', () => snapshots >= 3);
  t.is((await link.request('start', { container: 'svc', process: 'api' }) as { seq: number }).seq, 77);
  t.deepEqual(first.commands.map((c) => [c.type, c.container, c.process]), [['start', 'svc', 'api']]);

  first.close();
  await until('the monitor gone', () => statuses.some((s) => s.kind === 'no-monitor'));
  t.regex((statuses.find((s) => s.kind === 'no-monitor') as { message: string }).message, /^the monitor went away: no monitor is running/);
  await t.throwsAsync(link.request('restart', { container: 'svc', process: null }), { message: /not connected to a monitor/ });
  // Recorded while no monitor listened (the journal outlives monitors).
  journal.push(record(7), record(8));
  // This one lets little wait for a subscriber, so a burst makes it skip
  // records and say `missed`: the link subscribes again from its last seq.
  // (Above the socket's 16 KiB high-water mark: below it no 'drain' comes.)
  second = new FakeMonitor(root, journal, 102).listen(32 * 1024);
  await until('the records of the gap', () => seqs.includes(8));
  second.append(9);
  await until('live again', () => seqs.includes(9));
  t.deepEqual(seqs, [3, 4, 5, 6, 7, 8, 9]);
  t.is(statuses.at(-1)!.kind, 'live');
  const connections = statuses.filter((s) => s.kind === 'live').length;
  for (let seq = 10; seq <= 2000; seq++) second.append(seq);
  await until('the whole burst', () => seqs.includes(2000), 10_000);
  t.deepEqual(seqs, Array.from({ length: 1998 }, (_, i) => i + 3), 'every seq once, in order');
  t.true(statuses.filter((s) => s.kind === 'live').length > connections, 'it fell behind and subscribed again');
});
