/**
 * The monitor's control socket: messages both ends share. Importable without
 * the monitor (the TUI and `vigil events` are clients).
 *
 * Transport: a Unix stream socket at `<root>/control/monitor.sock` (directory
 * 0700, socket 0600; peers other than uid 0 are refused by their SO_PEERCRED
 * credentials). Each message is one frame (src/journal/frame.ts): u32 length,
 * u32 CRC-32, one MessagePack map.
 *
 * Requests carry an `id` the reply repeats. `subscribe` answers `ok` once,
 * then streams `event` messages (the backlog from the journal with
 * seq > since, then live ones, in seq order, without gaps or repeats). A
 * subscriber that does not read fast enough is sent `missed` (the seq range it
 * lost: read it from the journal or subscribe again from the last seq it saw)
 * once it reads again, or is cut off if it stays stuck.
 */
import path from 'node:path';
import type { JournalRecord } from '../journal/journal.js';

export const PROTOCOL_VERSION = 1;

export function controlDir(root: string): string {
  return path.join(root, 'control');
}

export function controlSocketPath(root: string): string {
  return path.join(controlDir(root), 'monitor.sock');
}

/** The cgroup layout as shown to operators; v1 names where vigil's own v2 tree is, e.g. "v1 (vigil's v2 tree at /run/vigil/cgroup2)". */
export type CgroupLayoutName = 'v2' | 'hybrid' | 'unknown' | `v1 (${string})`;

export type Request =
  | { id: number; type: 'snapshot' }
  | { id: number; type: 'subscribe'; since: number }
  | { id: number; type: 'restart'; container: string; process?: string | null }
  | { id: number; type: 'start'; container: string; process?: string | null }
  | { id: number; type: 'stop'; container: string; process?: string | null; timeoutMs?: number }
  | ({ id: number; type: 'note' } & OperatorNote);

/**
 * An operator's start, stop or restart that the command line performed itself
 * while a monitor ran: the monitor owns the journal, so the CLI hands it the
 * record (`operator` when asked, `start`/`stop` when done) instead of writing.
 */
export interface OperatorNote {
  kind: 'operator' | 'start' | 'stop';
  action: 'start' | 'stop' | 'restart';
  container: string;
  process: string | null;
  pid: number | null;
  reason: string;
  /**
   * When the command line stops waiting for the answer (ms since the epoch):
   * a note read later (a monitor that was stopped, or too busy) is refused,
   * not journaled, as the command line has already said it went unrecorded.
   */
  deadline?: number;
}

/**
 * Set in the environment of the `vigil` commands a monitor runs, to the
 * monitor's pid: the monitor journals those itself, so they hand it no note
 * (cli/commands.ts). A command whose parent is not that pid (the variable
 * set in an operator's shell, say) journals as any other.
 */
export const VIA_MONITOR_ENV = 'VIGIL_VIA_MONITOR';

export type RequestType = Request['type'];
export const REQUEST_TYPES: readonly RequestType[] = ['snapshot', 'subscribe', 'restart', 'start', 'stop', 'note'];

export interface MonitorInfo {
  pid: number;
  version: string;
  protocol: number;
  root: string;
  startedAt: string;
  uptimeMs: number;
  /** Events the tracer could not put in its ring buffer, in all. */
  tracerDrops: string;
  lastSeq: number;
  lastEventAt: string | null;
  /** Where the monitor runs (absent from monitors older than the TUI). */
  host?: { hostname: string; kernel: string; cgroupLayout: CgroupLayoutName };
  /**
   * The tracer as the monitor sees it: its programs attached (link pins
   * present), its maps pinned, and how many kernel events the monitor has
   * read since it started (a client derives events per second from two
   * snapshots); with its mode, build and per-kind counts (monitor/tracer-health.ts
   * TracerView) where the monitor knows them.
   */
  tracer?: { pinDir: string; attached: boolean; pinned: boolean; events: number; [more: string]: unknown };
}

/**
 * As `vigil inspect` shows a container; each process also carries its restart
 * `policy`, its death tally `deaths` (ISO times) and its `logFile`.
 */
export type ContainerView = Record<string, unknown> & { name: string; state: string; processes: Array<Record<string, unknown> & { name: string; state: string }> };

export interface Snapshot {
  monitor: MonitorInfo;
  containers: ContainerView[];
}

export type Reply =
  | { id: number; type: 'ok'; result: unknown }
  | { id: number; type: 'error'; code: string; message: string };

export type ServerMessage =
  | Reply
  | { type: 'event'; event: JournalRecord }
  /** Records from..to (inclusive) were not sent to this subscriber: it fell behind. */
  | { type: 'missed'; from: number; to: number }
  /** The peer is not allowed; the server closes the connection. */
  | { type: 'refused'; message: string };

/** Error codes in `error` replies. */
export const ERR_BAD_REQUEST = 'ERR_BAD_REQUEST';

/** Check a decoded request; returns a sentence naming the field when it is wrong. */
export function requestProblem(v: unknown): string | null {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'a request must be a map';
  if (!Number.isSafeInteger(r.id)) return 'id: expected an integer';
  if (!REQUEST_TYPES.includes(r.type as RequestType)) return `type: expected one of ${REQUEST_TYPES.join(', ')}, got ${JSON.stringify(r.type)}`;
  if (r.type === 'subscribe' && !(Number.isSafeInteger(r.since) && (r.since as number) >= 0)) return 'since: expected a seq (an integer >= 0)';
  if (r.type === 'restart' || r.type === 'start' || r.type === 'stop') {
    if (typeof r.container !== 'string' || !r.container) return 'container: expected a container name';
    if (r.process !== undefined && r.process !== null && (typeof r.process !== 'string' || !r.process)) return 'process: expected a process name or null';
    if (r.type === 'stop' && r.timeoutMs !== undefined && !(typeof r.timeoutMs === 'number' && r.timeoutMs >= 0 && r.timeoutMs <= 3_600_000)) return 'timeoutMs: expected milliseconds between 0 and 3600000';
  }
  if (r.type === 'note') {
    if (!['operator', 'start', 'stop'].includes(r.kind as string)) return `kind: expected operator, start or stop, got ${JSON.stringify(r.kind)}`;
    if (!['start', 'stop', 'restart'].includes(r.action as string)) return `action: expected start, stop or restart, got ${JSON.stringify(r.action)}`;
    if (typeof r.container !== 'string' || !r.container) return 'container: expected a container name';
    if (r.process !== null && (typeof r.process !== 'string' || !r.process)) return 'process: expected a process name or null';
    if (r.pid !== null && !(Number.isSafeInteger(r.pid) && (r.pid as number) > 0)) return 'pid: expected a pid or null';
    if (typeof r.reason !== 'string' || !r.reason || r.reason.length > 2000) return 'reason: expected a sentence (at most 2000 characters)';
    if (r.deadline !== undefined && !Number.isSafeInteger(r.deadline)) return 'deadline: expected a time in ms since the epoch';
  }
  return null;
}
