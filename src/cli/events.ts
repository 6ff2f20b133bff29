/**
 * `vigil events [--json] [--follow] [--since SEQ|TIME]`: the monitor's
 * journal, then (with --follow) live events over the control socket, or by
 * polling the journal while no monitor runs.
 */
import { ControlClient, ControlError, MonitorNotRunningError } from '../control/client.js';
import { journalDir, JournalReader, type JournalRecord } from '../journal/journal.js';
import { formatRecord } from '../monitor/report.js';
import { UsageError } from '../util/errors.js';
import { parseDuration } from '../util/units.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';

const POLL_MS = 500;
/** While polling, try the socket again this often (a monitor may have started). */
const RECONNECT_EVERY_POLLS = 4;

export type Since = { seq: number } | { timeMs: number } | null;

/** "42" (seq 42 and later), an ISO time, or a duration ago ("10m"). */
export function parseSince(text: string | undefined, nowMs: number): Since {
  if (text === undefined) return null;
  if (/^\d+$/.test(text)) {
    const seq = Number(text);
    if (Number.isSafeInteger(seq)) return { seq };
  }
  const ago = parseDuration(text);
  if (ago !== null) return { timeMs: nowMs - ago };
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return { timeMs: t };
  }
  throw new UsageError(`option --since expects a seq (42), an ISO time (2026-12-03T18:00:00Z) or a duration ago (10m), got ${JSON.stringify(text)}`);
}

export async function cmdEvents(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { json: 'boolean', follow: 'boolean', since: 'string' }, { '-f': 'follow' });
  expectPositionals(p, 0, 0, 'vigil events [--json] [--follow] [--since SEQ|TIME]');
  const since = parseSince(p.flags.since as string | undefined, Date.now());
  const dir = journalDir(ctx.store.root);
  const err = (t: string) => process.stderr.write(`vigil events: ${t}\n`);
  const wanted = (r: JournalRecord) => since === null || ('seq' in since ? r.seq >= since.seq : Date.parse(r.time) >= since.timeMs);
  let last = since && 'seq' in since ? Math.max(0, since.seq - 1) : 0;
  const show = (r: JournalRecord) => {
    if (r.seq <= last) return;
    last = r.seq;
    if (wanted(r)) ctx.out(p.flags.json ? `${JSON.stringify(r)}\n` : formatRecord(r, true));
  };
  const reader = new JournalReader(dir, last);
  reader.poll().forEach(show);
  for (const problem of reader.problems) err(`journal: ${problem}`);
  reader.close();
  if (!p.flags.follow) return 0;
  return follow(ctx.store.root, dir, () => last, show, err);
}

/** Follow forever: over the socket while a monitor runs, else by polling the journal. */
async function follow(root: string, dir: string, last: () => number, show: (r: JournalRecord) => void, err: (t: string) => void): Promise<number> {
  let toldNoMonitor = false;
  for (;;) {
    let client: ControlClient | null = null;
    try {
      client = await ControlClient.connect(root);
    } catch (e) {
      if (!(e instanceof MonitorNotRunningError)) throw e;
    }
    if (client) {
      toldNoMonitor = false;
      const closed = new Promise<Error | null>((resolve) => client!.once('close', resolve));
      client.on('event', show);
      client.on('missed', ({ from, to }) => fillGap(dir, from, to, last, show, err));
      try {
        await client.subscribe(last());
      } catch (e) {
        if (e instanceof ControlError && e.code === 'ERR_REFUSED') throw e;
        if (!client.closed) err(`the monitor did not take the subscription (${(e as Error).message})`);
        client.close();
      }
      const why = await closed;
      if (why instanceof ControlError && why.code === 'ERR_REFUSED') throw why;
      err('the monitor went away; following the journal until one runs again');
    } else if (!toldNoMonitor) {
      err(`no monitor is running for ${root}: following the journal file until one runs`);
      toldNoMonitor = true;
    }
    // Poll the journal; every few polls, look for a monitor again.
    const reader = new JournalReader(dir, last());
    try {
      for (let i = 0; i < RECONNECT_EVERY_POLLS; i++) {
        reader.poll().forEach(show);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      reader.poll().forEach(show);
    } finally {
      reader.close();
    }
  }
}

/** The monitor skipped from..to for us (we fell behind): read them from the journal. */
function fillGap(dir: string, from: number, to: number, last: () => number, show: (r: JournalRecord) => void, err: (t: string) => void): void {
  const first = Math.max(from, last() + 1);
  if (first > to) return;
  const reader = new JournalReader(dir, first - 1);
  const found = reader.poll().filter((r) => r.seq <= to);
  reader.close();
  if (found.length !== to - first + 1) err(`fell behind the monitor: seq ${first}..${to} were skipped and ${to - first + 1 - found.length} of them are no longer in the journal`);
  found.forEach(show);
}
