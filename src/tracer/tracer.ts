/**
 * The tracer as the rest of vigil sees it: ensure it is loaded and pinned,
 * choose the cgroups it watches, read decoded events, read drop counters,
 * remove it. Thin over ./native.ts; decoding is ../events/decode.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DecodeError, decodeEvent, type DecodedEvent, type MonoNs } from '../events/decode.js';
import { EventKind, VIGIL_EVENT_VERSION } from '../events/layout.js';
import { UnsupportedError, UsageError } from '../util/errors.js';
import * as native from './native.js';

export const BPFFS = '/sys/fs/bpf';
export const DEFAULT_PIN_DIR = `${BPFFS}/vigil`;
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

export type { TracerEnsureOptions, TracerEnsureResult, TracerInfo, OomHookName } from './native.js';

/**
 * Where vigil looks for the kernel's BTF: VIGIL_BTF_PATH, else the kernel's
 * own. A path that does not exist puts vigil in degraded mode (the tests use
 * that to prove the fallback on a kernel that has BTF).
 */
export function btfPath(): string {
  return process.env.VIGIL_BTF_PATH || KERNEL_BTF_PATH;
}

export type TracerSupport = { mode: 'bpf' } | { mode: 'degraded'; reason: string };

/** Can the BPF tracer run here? If not, why, in plain words. */
export function tracerSupport(): TracerSupport {
  const path = btfPath();
  const k = native.kernelSupport(path);
  if (!k.btf) {
    return {
      mode: 'degraded',
      reason: path === KERNEL_BTF_PATH
        ? `the kernel has no BTF type information (${path} is missing; a kernel built with CONFIG_DEBUG_INFO_BTF=y has it), so the BPF tracer cannot load`
        : `no BTF type information at ${path} (VIGIL_BTF_PATH), so the BPF tracer cannot load`,
    };
  }
  if (path !== KERNEL_BTF_PATH) checkBtfFile(path);
  if (!k.ringbuf) return { mode: 'degraded', reason: 'the kernel has no BPF ring buffer (Linux 5.8 or newer has it), so the BPF tracer cannot load' };
  return { mode: 'bpf' };
}

/** Raw BTF starts with 0xeB9F (little-endian here); an ELF vmlinux carries it in a section, which libbpf reads. */
const BTF_MAGIC = Buffer.from([0x9f, 0xeb]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/**
 * VIGIL_BTF_PATH names a file that exists: it must be BTF (raw, or an ELF
 * vmlinux), else libbpf fails deep in the load with a bare errno.
 */
function checkBtfFile(path: string): void {
  const head = Buffer.alloc(4);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new UsageError(`VIGIL_BTF_PATH: ${path} is not BTF type information (cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if ((n >= 2 && head.subarray(0, 2).equals(BTF_MAGIC)) || (n === 4 && head.equals(ELF_MAGIC))) return;
  throw new UsageError(`VIGIL_BTF_PATH: ${path} is not BTF type information (neither raw BTF, as /sys/kernel/btf/vmlinux, nor an ELF vmlinux)`);
}

const identities = new Map<string, string>();

/** The identity of a build: the object's bytes, the event version and the settings. */
export function buildIdentity(objPath: string, options: native.TracerEnsureOptions = {}): string {
  const settings = JSON.stringify({ v: VIGIL_EVENT_VERSION, m: options.signalMask?.toString(), r: options.signalRate, b: options.signalBurst, o: options.oomHook, s: options.skip, p: options.btfPath });
  const key = `${objPath}\0${settings}`;
  let id = identities.get(key);
  if (!id) {
    id = createHash('sha256').update(readFileSync(objPath)).update(settings).digest('hex').slice(0, 40);
    identities.set(key, id);
  }
  return id;
}

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

/**
 * Load, attach and pin the tracer in pinDir unless this build (object and
 * settings) is there already; a different build pinned there is replaced
 * without a gap. Throws UnsupportedError where the tracer cannot run.
 */
export function ensureTracer(objPath: string, pinDir: string, options: native.TracerEnsureOptions = {}): native.TracerEnsureResult {
  const support = tracerSupport();
  if (support.mode === 'degraded') throw new UnsupportedError('bpf-tracer', support.reason);
  const withBtf = process.env.VIGIL_BTF_PATH && options.btfPath === undefined ? { ...options, btfPath: process.env.VIGIL_BTF_PATH } : options;
  return native.tracerEnsure(objPath, pinDir, { ...withBtf, identity: withBtf.identity ?? buildIdentity(objPath, withBtf) });
}

/** The pinned build's generation, OOM hook, identity and per-program kernel run time. */
export function tracerInfo(pinDir: string): native.TracerInfo {
  return native.tracerInfo(pinDir);
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
  return native.counters(pinDir, 'drops');
}

export interface KindCounts {
  exit: bigint;
  signal: bigint;
  oom: bigint;
  fork: bigint;
  exec: bigint;
}

export interface DropCounts {
  /** Lost: the ring buffer was full (exits, OOM) or half full (signals, forks, execs). */
  readonly lost: KindCounts;
  /** Not written on purpose: a container's signal rate limit. */
  readonly rateLimited: KindCounts;
}

function byKind(slots: bigint[]): KindCounts {
  return {
    exit: slots[EventKind.Exit] ?? 0n,
    signal: slots[EventKind.Signal] ?? 0n,
    oom: slots[EventKind.Oom] ?? 0n,
    fork: slots[EventKind.Fork] ?? 0n,
    exec: slots[EventKind.Exec] ?? 0n,
  };
}

/** The kernel's counts of records not delivered, per event kind. */
export function dropCounts(pinDir: string): DropCounts {
  return { lost: byKind(native.counters(pinDir, 'drops')), rateLimited: byKind(native.counters(pinDir, 'limited')) };
}

/** "exit 2, signal 5" for the non-zero counts, or "none". */
export function describeCounts(c: KindCounts): string {
  const parts = Object.entries(c).filter(([, n]) => n > 0n).map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
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
