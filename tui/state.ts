/**
 * The TUI's state and its one reducer, pure: records and snapshots in from
 * the monitor link, keys in from the operator, a new state out. No I/O, no
 * clock of its own (times come in with the actions), so every view state is
 * built in tests without a terminal or a monitor.
 *
 * Bounds: the feed keeps the last FEED_LIMIT records (a paused feed keeps a
 * frozen copy of at most as many), and the per-process memory of last exits
 * at most LAST_EXIT_LIMIT entries, whatever the event rate.
 */
import type { Snapshot } from '../src/control/protocol.js';
import type { JournalKind, JournalRecord } from '../src/journal/journal.js';
import { containersOf } from './model.js';

export const FEED_LIMIT = 1000;
const LAST_EXIT_LIMIT = 1000;
/** A snapshot older than this is shown as stale. */
export const STALE_AFTER_MS = 5000;

/** The journal's kinds (a copy: the TUI takes only types from the journal; a test keeps them equal). */
export const EVENT_KINDS = ['exit', 'signal', 'oom', 'restart', 'give-up', 'health', 'operator', 'start', 'stop', 'lost', 'monitor', 'error'] as const satisfies readonly JournalKind[];

export type LinkStatus =
  | { kind: 'connecting' }
  | { kind: 'live' }
  /** No monitor listens (never connected, or it went away). */
  | { kind: 'no-monitor'; message: string; sinceMs: number }
  /** The connection failed for another reason; retried. */
  | { kind: 'disconnected'; message: string; sinceMs: number }
  /** The monitor refused us (not root): retrying will not help. */
  | { kind: 'refused'; message: string };

export type Focus = 'containers' | 'processes';
export type Scope = 'all' | 'container' | 'process';
export type Action = 'restart' | 'stop' | 'start';

export interface Target {
  container: string;
  process: string | null;
}

export interface TuiState {
  link: LinkStatus;
  snapshot: Snapshot | null;
  snapshotAtMs: number | null;
  /** Tracer events per second, from the last two snapshots. */
  eventsPerSecond: number | null;
  feed: JournalRecord[];
  /** The feed as it was when paused (null: live). */
  frozen: JournalRecord[] | null;
  /** Records that came in while paused. */
  newWhilePaused: number;
  lastSeq: number;
  received: number;
  /** The last exit record of each "container/process" (for the next restart time). */
  lastExits: Map<string, JournalRecord>;
  focus: Focus;
  selectedContainer: string | null;
  selectedProcess: string | null;
  view: 'main' | 'detail' | 'help';
  detail: Target | null;
  scope: Scope;
  kinds: string[] | null;
  search: string;
  prompt: { kind: 'search' | 'kinds'; text: string } | null;
  confirm: { action: Action; target: Target } | null;
  message: { text: string; error: boolean; atMs: number } | null;
  /** A monitor this TUI started (pid), or null. */
  ownMonitor: number | null;
}

export function initialState(): TuiState {
  return {
    link: { kind: 'connecting' },
    snapshot: null,
    snapshotAtMs: null,
    eventsPerSecond: null,
    feed: [],
    frozen: null,
    newWhilePaused: 0,
    lastSeq: 0,
    received: 0,
    lastExits: new Map(),
    focus: 'containers',
    selectedContainer: null,
    selectedProcess: null,
    view: 'main',
    detail: null,
    scope: 'all',
    kinds: null,
    search: '',
    prompt: null,
    confirm: null,
    message: null,
    ownMonitor: null,
  };
}

export type TuiAction =
  | { type: 'records'; records: JournalRecord[] }
  | { type: 'snapshot'; snapshot: Snapshot; atMs: number }
  | { type: 'link'; status: LinkStatus }
  | { type: 'move'; by: number }
  | { type: 'focus'; focus?: Focus }
  | { type: 'open' }
  | { type: 'back' }
  | { type: 'help' }
  | { type: 'pause' }
  | { type: 'scope' }
  | { type: 'prompt'; kind: 'search' | 'kinds' }
  | { type: 'prompt-text'; text: string }
  | { type: 'prompt-done'; atMs: number }
  | { type: 'ask'; action: Action; atMs: number }
  | { type: 'confirmed' }
  | { type: 'message'; text: string; error: boolean; atMs: number }
  | { type: 'own-monitor'; pid: number | null };

export function reduce(s: TuiState, a: TuiAction): TuiState {
  switch (a.type) {
    case 'records':
      return addRecords(s, a.records);
    case 'snapshot':
      return withSnapshot(s, a.snapshot, a.atMs);
    case 'link':
      return { ...s, link: a.status };
    case 'move':
      return move(s, a.by);
    case 'focus':
      return { ...s, focus: a.focus ?? (s.focus === 'containers' ? 'processes' : 'containers') };
    case 'open': {
      const target = selectedTarget(s);
      return target ? { ...s, view: 'detail', detail: target } : s;
    }
    case 'back':
      if (s.prompt) return { ...s, prompt: null };
      if (s.confirm) return { ...s, confirm: null };
      return { ...s, view: 'main', detail: null };
    case 'help':
      return { ...s, view: s.view === 'help' ? 'main' : 'help' };
    case 'pause':
      return s.frozen ? { ...s, frozen: null, newWhilePaused: 0 } : { ...s, frozen: s.feed, newWhilePaused: 0 };
    case 'scope':
      return { ...s, scope: s.scope === 'all' ? 'container' : s.scope === 'container' ? 'process' : 'all' };
    case 'prompt':
      return { ...s, prompt: { kind: a.kind, text: a.kind === 'search' ? s.search : (s.kinds ?? []).join(' ') } };
    case 'prompt-text':
      return s.prompt ? { ...s, prompt: { ...s.prompt, text: a.text } } : s;
    case 'prompt-done':
      return promptDone(s, a.atMs);
    case 'ask': {
      const target = s.view === 'detail' && s.detail ? s.detail : selectedTarget(s);
      if (!target) return { ...s, message: { text: 'select a container or process first', error: true, atMs: a.atMs } };
      return { ...s, confirm: { action: a.action, target } };
    }
    case 'confirmed':
      return { ...s, confirm: null };
    case 'message':
      return { ...s, message: { text: a.text, error: a.error, atMs: a.atMs } };
    case 'own-monitor':
      return { ...s, ownMonitor: a.pid };
  }
}

export function key(c: string | null, p: string | null): string {
  return `${c ?? ''}/${p ?? ''}`;
}

/** Append in seq order, never twice (a resubscription may repeat what we hold). */
function addRecords(s: TuiState, records: JournalRecord[]): TuiState {
  let lastSeq = s.lastSeq;
  const fresh: JournalRecord[] = [];
  let lastExits = s.lastExits;
  for (const r of records) {
    if (r.unjournaled !== true) {
      if (r.seq <= lastSeq) continue;
      lastSeq = r.seq;
    }
    fresh.push(r);
    if ((r.kind === 'exit' || r.kind === 'lost') && r.process) {
      if (lastExits === s.lastExits) lastExits = new Map(s.lastExits);
      const k = key(r.container, r.process);
      lastExits.delete(k);
      lastExits.set(k, r);
      if (lastExits.size > LAST_EXIT_LIMIT) lastExits.delete(lastExits.keys().next().value as string);
    }
  }
  if (!fresh.length) return s;
  const all = s.feed.length + fresh.length > FEED_LIMIT ? [...s.feed, ...fresh].slice(-FEED_LIMIT) : [...s.feed, ...fresh];
  return { ...s, feed: all, lastSeq, lastExits, received: s.received + fresh.length, newWhilePaused: s.frozen ? s.newWhilePaused + fresh.length : 0 };
}

function withSnapshot(s: TuiState, snapshot: Snapshot, atMs: number): TuiState {
  let eventsPerSecond = s.eventsPerSecond;
  const before = s.snapshot?.monitor.tracer;
  const now = snapshot.monitor.tracer;
  if (before && now && s.snapshotAtMs !== null && s.snapshot?.monitor.pid === snapshot.monitor.pid && atMs > s.snapshotAtMs) {
    eventsPerSecond = Math.max(0, ((now.events - before.events) * 1000) / (atMs - s.snapshotAtMs));
  } else if (s.snapshot?.monitor.pid !== snapshot.monitor.pid) {
    eventsPerSecond = null;
  }
  let next: TuiState = { ...s, snapshot, snapshotAtMs: atMs, eventsPerSecond };
  // A journal that numbers below what we hold is a new one (the root was
  // cleared): start the feed again rather than ignore everything.
  if (snapshot.monitor.lastSeq < s.lastSeq) next = { ...next, feed: [], frozen: null, lastSeq: 0, lastExits: new Map() };
  return fixSelection(next);
}

/** Keep the selection on something that exists (by name, so it survives reordering). */
function fixSelection(s: TuiState): TuiState {
  const cs = containersOf(s.snapshot);
  const c = cs.find((x) => x.name === s.selectedContainer) ?? cs[0] ?? null;
  const p = c?.processes.find((x) => x.name === s.selectedProcess) ?? c?.processes[0] ?? null;
  if (c?.name === s.selectedContainer && (p?.name ?? null) === s.selectedProcess) return s;
  return { ...s, selectedContainer: c?.name ?? null, selectedProcess: p?.name ?? null };
}

function move(s: TuiState, by: number): TuiState {
  const cs = containersOf(s.snapshot);
  if (!cs.length) return s;
  if (s.focus === 'containers') {
    const i = Math.max(0, cs.findIndex((c) => c.name === s.selectedContainer));
    const c = cs[clamp(i + by, 0, cs.length - 1)];
    return { ...s, selectedContainer: c.name, selectedProcess: c.processes[0]?.name ?? null };
  }
  const c = cs.find((x) => x.name === s.selectedContainer);
  if (!c || !c.processes.length) return s;
  const i = Math.max(0, c.processes.findIndex((p) => p.name === s.selectedProcess));
  return { ...s, selectedProcess: c.processes[clamp(i + by, 0, c.processes.length - 1)].name };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** What an action or the detail view applies to: the selected process when the process list has the focus. */
export function selectedTarget(s: TuiState): Target | null {
  if (!s.selectedContainer) return null;
  if (s.focus === 'processes' && s.selectedProcess) return { container: s.selectedContainer, process: s.selectedProcess };
  return { container: s.selectedContainer, process: null };
}

function promptDone(s: TuiState, atMs: number): TuiState {
  if (!s.prompt) return s;
  const text = s.prompt.text.trim();
  if (s.prompt.kind === 'search') return { ...s, prompt: null, search: text };
  if (!text) return { ...s, prompt: null, kinds: null };
  const kinds = text.split(/[\s,]+/).filter(Boolean);
  const unknown = kinds.filter((k) => !(EVENT_KINDS as readonly string[]).includes(k));
  if (unknown.length) {
    return { ...s, message: { text: `unknown event kind ${unknown.map((k) => JSON.stringify(k)).join(', ')}: kinds are ${EVENT_KINDS.join(', ')}`, error: true, atMs } };
  }
  return { ...s, prompt: null, kinds };
}

/** The feed as the operator asked to see it: scope, kinds and search applied. */
export function visibleFeed(s: TuiState): JournalRecord[] {
  const source = s.frozen ?? s.feed;
  const needle = s.search.toLowerCase();
  return source.filter((r) => {
    if (s.scope !== 'all' && r.container !== s.selectedContainer) return false;
    if (s.scope === 'process' && r.process !== s.selectedProcess) return false;
    if (s.kinds && !s.kinds.includes(r.kind)) return false;
    if (needle && !`${r.kind} ${r.container ?? ''}/${r.process ?? ''} ${r.pid ?? ''} ${r.reason}`.toLowerCase().includes(needle)) return false;
    return true;
  });
}

/** When the monitor will restart a process that is backing off (from its last exit record). */
export function nextRestartAtMs(s: TuiState, container: string, process: string): number | null {
  const r = s.lastExits.get(key(container, process));
  if (!r || r.action !== 'restart' || typeof r.delayMs !== 'number') return null;
  return Date.parse(r.time) + r.delayMs;
}

/** Whether the numbers on screen can be trusted as current. */
export function isStale(s: TuiState, nowMs: number): boolean {
  return s.link.kind !== 'live' || s.snapshotAtMs === null || nowMs - s.snapshotAtMs > STALE_AFTER_MS;
}
