/**
 * What the monitor says about the tracer itself: records the kernel could not
 * deliver (per event kind, lost or rate-limited), the build in use, and the
 * mode (BPF, or degraded with its reason). Also seeds the process tree from
 * /proc for processes that predate the monitor.
 */
import fs from 'node:fs';
import { containerProcs } from '../launcher/top.js';
import type { ContainerState } from '../state/store.js';
import { describeCounts, dropCounts, tracerInfo, type DropCounts, type KindCounts } from '../tracer/tracer.js';
import type { ProcessTree } from './process-tree.js';

export interface TracerView {
  mode: 'bpf' | 'degraded';
  /** Why the mode is degraded, in plain words. */
  reason: string | null;
  generation: number | null;
  oomHook: string | null;
  /** Per kind, as decimal strings: records lost (ring buffer full) and rate-limited. */
  lost: Record<keyof KindCounts, string> | null;
  rateLimited: Record<keyof KindCounts, string> | null;
}

const strings = (c: KindCounts): Record<keyof KindCounts, string> =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k, (v as bigint).toString()])) as Record<keyof KindCounts, string>;

function minus(a: KindCounts, b: KindCounts): KindCounts {
  return { exit: a.exit - b.exit, signal: a.signal - b.signal, oom: a.oom - b.oom, fork: a.fork - b.fork, exec: a.exec - b.exec };
}

const ZERO: KindCounts = { exit: 0n, signal: 0n, oom: 0n, fork: 0n, exec: 0n };

export class TracerHealth {
  private seen: DropCounts = { lost: ZERO, rateLimited: ZERO };
  private degraded: string | null = null;

  constructor(private readonly pinDir: string) {}

  setDegraded(reason: string): void {
    this.degraded = reason;
  }

  /** Sentences about counts that grew since the last check. */
  check(): string[] {
    if (this.degraded) return [];
    const now = dropCounts(this.pinDir);
    const news: string[] = [];
    const lost = minus(now.lost, this.seen.lost);
    const limited = minus(now.rateLimited, this.seen.rateLimited);
    if (Object.values(lost).some((n) => n > 0n)) {
      news.push(`the tracer lost ${describeCounts(lost)} event(s) (ring buffer full; in all: ${describeCounts(now.lost)}); reconciliation covers lost exits`);
    }
    if (Object.values(limited).some((n) => n > 0n)) {
      news.push(`the tracer rate-limited ${describeCounts(limited)} event(s) from a container's storm (in all: ${describeCounts(now.rateLimited)}); exits are never limited`);
    }
    this.seen = now;
    return news;
  }

  view(): TracerView {
    if (this.degraded) return { mode: 'degraded', reason: this.degraded, generation: null, oomHook: null, lost: null, rateLimited: null };
    try {
      const c = dropCounts(this.pinDir);
      const info = tracerInfo(this.pinDir);
      return { mode: 'bpf', reason: null, generation: info.generation, oomHook: info.oomHook, lost: strings(c.lost), rateLimited: strings(c.rateLimited) };
    } catch (err) {
      return { mode: 'bpf', reason: `tracer not readable: ${(err as Error).message}`, generation: null, oomHook: null, lost: null, rateLimited: null };
    }
  }
}

/** Add a running container's current processes (from /proc) to the tree. */
export function seedTree(tree: ProcessTree, c: ContainerState): void {
  if (!c.cgroup) return;
  const id = BigInt(c.cgroup.id);
  for (const p of containerProcs(c)) {
    let binary: string | null = null;
    try {
      binary = fs.readlinkSync(`/proc/${p.pid}/exe`);
    } catch {
      // gone, or a kernel thread
    }
    tree.seed(id, { pid: p.pid, ppid: p.ppid, startBoottimeNs: BigInt(p.startTime) * 10_000_000n, comm: p.command.split(' ')[0] ?? '', binary, cgroupId: id });
  }
}
