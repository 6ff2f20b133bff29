/**
 * The TUI under an event storm: the real App (Ink, not in debug mode, so
 * Ink's own throttle applies as on a terminal) on a fake 80x24 terminal, fed
 * RATE records a second for SECONDS by a fake link with real timers. Prints
 * the records fed, the frames written, the heap after each second and the
 * worst event-loop delay, so "bounded rate, bounded memory, never frozen"
 * is a number. Every record differs within the first 80 columns, so every
 * flush changes the screen (Ink writes nothing for an unchanged frame).
 *
 *   node --expose-gc dist/bench/tui.js [RATE] [SECONDS]
 */
import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { render } from 'ink';
import { createElement } from 'react';
import type { Snapshot } from '../src/control/protocol.js';
import type { JournalRecord } from '../src/journal/journal.js';
import { App } from '../tui/app.js';
import type { Link, LinkEvents } from '../tui/link.js';

const RATE = Number(process.argv[2] ?? 10_000);
const SECONDS = Number(process.argv[3] ?? 10);
const TICK_MS = 10;

class StormLink extends EventEmitter<LinkEvents> implements Link {
  start(): void {}
  close(): void {}
  async request(): Promise<unknown> {
    return null;
  }
}

class FakeTerminal extends EventEmitter {
  columns = 80;
  rows = 24;
  frames = 0;
  bytes = 0;
  isTTY = true;
  write(s: string): boolean {
    this.frames++;
    this.bytes += s.length;
    return true;
  }
}

const snapshot: Snapshot = {
  monitor: { pid: 1, version: 'bench', protocol: 1, root: '/run/vigil', startedAt: new Date().toISOString(), uptimeMs: 0, tracerDrops: '0', lastSeq: 0, lastEventAt: null },
  containers: [{ name: 'storm', state: 'running', pid: 2, processes: [{ name: 'p', state: 'running', pid: 3, restarts: 0 }] }],
};

async function main(): Promise<void> {
  const link = new StormLink();
  const stdout = new FakeTerminal();
  const stdin = Object.assign(new EventEmitter(), { isTTY: true, setRawMode() {}, setEncoding() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
  const ink = render(createElement(App, { link, root: '/run/vigil', usage: { sample: () => new Map() } }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await new Promise((r) => setImmediate(r));
  link.emit('status', { kind: 'live' });
  link.emit('snapshot', snapshot, Date.now());
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const gc = (globalThis as { gc?: () => void }).gc;
  const rows: string[][] = [['second', 'records fed', 'frames', 'heap MiB', 'rss MiB']];
  let seq = 0;
  const started = Date.now();
  for (let s = 1; s <= SECONDS; s++) {
    const framesBefore = stdout.frames;
    const seqBefore = seq;
    while (Date.now() - started < s * 1000) {
      // Catch up with the clock: RATE a second however long a tick took.
      const due = Math.round(((Date.now() - started) * RATE) / 1000) - seq;
      for (let i = 0; i < due; i++) {
        seq++;
        const r: JournalRecord = { seq, time: new Date().toISOString(), kind: 'exit', container: 'storm', process: 'p', pid: 3, reason: `#${seq} killed by SIGKILL from pid 9 (bash, host): restart`, action: 'restart', delayMs: 100 };
        link.emit('record', r);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    gc?.();
    rows.push([String(s), String(seq - seqBefore), String(stdout.frames - framesBefore), (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1), (process.memoryUsage().rss / 2 ** 20).toFixed(1)]);
  }
  delay.disable();
  ink.unmount();
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i])).join('  '));
  console.log(`\n${seq} records in ${SECONDS} s (${Math.round(seq / SECONDS)}/s asked ${RATE}/s); event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms${gc ? '' : ' (run with --expose-gc for steady heap figures)'}`);
}

void main();
