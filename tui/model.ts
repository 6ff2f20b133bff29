/**
 * What the TUI reads out of a snapshot, typed. The snapshot's containers are
 * `vigil inspect`'s open-ended JSON (protocol.ts), so every field is read
 * defensively here, once, and the components see plain typed rows.
 */
import type { ContainerView, Snapshot } from '../src/control/protocol.js';

export interface ExitView {
  code: number | null;
  signal: string | null;
  reason: string;
  sender: { pid: number; comm: string; container: string | null } | null;
  at: string;
}

export interface PolicyView {
  policy: string;
  backoff: { initial: number; factor: number; max: number; jitter: number; resetAfter: number } | null;
  giveUp: { deaths: number; within: number; then: string } | null;
  successCodes: number[];
  preventCodes: number[];
}

export interface ProcessRow {
  name: string;
  pid: number | null;
  state: string;
  restarts: number;
  startedAt: string | null;
  lastExit: ExitView | null;
  health: string | null;
  command: string[];
  policy: PolicyView | null;
  deaths: string[];
  logFile: string | null;
}

export interface ContainerRow {
  name: string;
  state: string;
  pid: number | null;
  cgroupId: string | null;
  cgroupDirs: string[];
  startedAt: string | null;
  limits: { memory: number | null; cpus: number | null; pids: number | null };
  processes: ProcessRow[];
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

function exitOf(v: unknown): ExitView | null {
  const o = obj(v);
  if (!o) return null;
  const s = obj(o.sender);
  return {
    code: num(o.code),
    signal: str(o.signal),
    reason: str(o.reason) ?? 'exited',
    sender: s ? { pid: num(s.pid) ?? 0, comm: str(s.comm) ?? '?', container: str(s.container) } : null,
    at: str(o.at) ?? '',
  };
}

function policyOf(v: unknown): PolicyView | null {
  const o = obj(v);
  if (!o) return null;
  const b = obj(o.backoff);
  const g = obj(o.giveUp);
  const nums = (a: unknown) => (Array.isArray(a) ? a.filter((x): x is number => typeof x === 'number') : []);
  return {
    policy: str(o.policy) ?? '?',
    backoff: b ? { initial: num(b.initial) ?? 0, factor: num(b.factor) ?? 1, max: num(b.max) ?? 0, jitter: num(b.jitter) ?? 0, resetAfter: num(b.resetAfter) ?? 0 } : null,
    giveUp: g ? { deaths: num(g.deaths) ?? 0, within: num(g.within) ?? 0, then: str(g.then) ?? 'alert' } : null,
    successCodes: nums(o.successCodes),
    preventCodes: nums(o.preventCodes),
  };
}

function processOf(p: ContainerView['processes'][number]): ProcessRow {
  const health = obj(p.health);
  return {
    name: p.name,
    pid: num(p.pid),
    state: p.state,
    restarts: num(p.restarts) ?? 0,
    startedAt: str(p.startedAt),
    lastExit: exitOf(p.lastExit),
    health: typeof p.health === 'string' ? p.health : health ? str(health.status) : null,
    command: Array.isArray(p.command) ? p.command.map(String) : [],
    policy: policyOf(p.policy),
    deaths: Array.isArray(p.deaths) ? p.deaths.filter((d): d is string => typeof d === 'string') : [],
    logFile: str(p.logFile),
  };
}

export function containerOf(c: ContainerView): ContainerRow {
  const limits = obj(c.limits) ?? {};
  return {
    name: c.name,
    state: c.state,
    pid: num(c.pid),
    cgroupId: str(c.cgroupId),
    cgroupDirs: Array.isArray(c.cgroupDirs) ? c.cgroupDirs.filter((d): d is string => typeof d === 'string') : [],
    startedAt: str(c.startedAt),
    limits: { memory: num(limits.memory), cpus: num(limits.cpus), pids: num(limits.pids) },
    processes: (Array.isArray(c.processes) ? c.processes : []).map(processOf),
  };
}

export function containersOf(s: Snapshot | null): ContainerRow[] {
  if (!s) return [];
  return s.containers.map(containerOf).sort((a, b) => a.name.localeCompare(b.name));
}

/** A process needs attention: how, in a word the operator can read without colour. */
export type Trouble = 'given-up' | 'backing-off' | 'failing' | null;

export function processTrouble(p: ProcessRow): Trouble {
  if (p.state === 'given-up') return 'given-up';
  if (p.state === 'backing-off' || p.state === 'starting') return p.state === 'backing-off' ? 'backing-off' : null;
  if (p.state === 'exited') return 'failing';
  return null;
}

/** The worst trouble among a container's processes (or the container being down unasked). */
export function containerTrouble(c: ContainerRow): Trouble {
  const ts = c.processes.map(processTrouble);
  if (ts.includes('given-up')) return 'given-up';
  if (ts.includes('backing-off')) return 'backing-off';
  if (ts.includes('failing')) return 'failing';
  return null;
}

export const TROUBLE_MARK: Record<Exclude<Trouble, null>, string> = { 'given-up': 'X', 'backing-off': '~', failing: '!' };
