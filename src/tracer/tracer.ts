/**
 * The tracer as the rest of vigil sees it: ensure it is loaded and pinned,
 * choose the cgroups it watches, read decoded events, read drop counters,
 * remove it. Thin over ./native.ts; decoding is ../events/decode.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DecodeError, decodeEvent, type DecodedEvent, type MonoNs } from '../events/decode.js';
import * as native from './native.js';

export const BPFFS = '/sys/fs/bpf';
export const DEFAULT_PIN_DIR = `${BPFFS}/vigil`;

export type { TracerEnsureOptions } from './native.js';

/** Mount bpffs at /sys/fs/bpf unless something is mounted there. Returns true if it mounted. */
export function bpffsMount(): boolean {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  const mounted = mounts.split('\n').some((line) => {
    const [, target, type] = line.split(' ');
    return target === BPFFS && type === 'bpf';
  });
  if (mounted) return false;
  execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { stdio: ['ignore', 'ignore', 'pipe'] });
  return true;
}

/** Load, attach and pin the tracer in pinDir unless it is there already. */
export function ensureTracer(objPath: string, pinDir: string, options?: native.TracerEnsureOptions): { loaded: boolean } {
  return native.tracerEnsure(objPath, pinDir, options);
}

/** Unpin everything in pinDir (the programs detach) and remove it. */
export function removeTracer(pinDir: string): void {
  native.tracerRemove(pinDir);
}

export function watch(pinDir: string, cgroupId: bigint): void {
  native.watch(pinDir, cgroupId);
}

export function unwatch(pinDir: string, cgroupId: bigint): void {
  native.unwatch(pinDir, cgroupId);
}

/** Records lost because the ring buffer was full, indexed by event kind (0..7). */
export function drops(pinDir: string): bigint[] {
  return native.drops(pinDir);
}

/** CLOCK_MONOTONIC now, comparable with event tsNs. */
export function monoNow(): MonoNs {
  return native.monotonicNs() as MonoNs;
}

export interface EventConsumer {
  /** Deliver what is waiting now (use once at start-up to drain). Returns records read. */
  poll(): number;
  close(): void;
  readonly closed: boolean;
}

export type EventsHandler = (events: DecodedEvent[], decodeErrors: number) => void;

/**
 * Read pinDir's ring buffer on the main loop. onEvents gets each batch, in
 * kernel order, with the number of records that failed to decode. The open
 * consumer keeps the process alive until close().
 */
export function openConsumer(pinDir: string, onEvents: EventsHandler): EventConsumer {
  return native.openNativeConsumer(pinDir, (records) => {
    const events: DecodedEvent[] = [];
    let errors = 0;
    for (const r of records) {
      const e = decodeEvent(r);
      if (e instanceof DecodeError) errors++;
      else events.push(e);
    }
    onEvents(events, errors);
  });
}
