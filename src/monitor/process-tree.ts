/**
 * Each watched container's process tree as the tracer's fork, exec and exit
 * events describe it: pid, parent, start time, comm and the binary each
 * process runs. Pure (events in, a view out); seeding from /proc for
 * processes that predate the monitor is the caller's edge. Bounded: at most
 * MAX_PER_CONTAINER processes a container (the oldest entries go first), so a
 * fork storm costs memory only up to that.
 */
import type { DecodedEvent } from '../events/decode.js';

export const MAX_PER_CONTAINER = 4096;

export interface TreeNode {
  pid: number;
  ppid: number;
  /** Start time, ns since boot (identity with pid). */
  startBoottimeNs: bigint;
  comm: string;
  /** What it exec'd, as passed to execve; null when it started before the monitor saw it. */
  binary: string | null;
  /** Its own cgroup v2 id (a sub-cgroup of the container's, or the container's). */
  cgroupId: bigint;
}

/** As the snapshot shows a node (JSON-safe). */
export interface TreeNodeView {
  pid: number;
  ppid: number;
  startBoottimeNs: string;
  comm: string;
  binary: string | null;
  cgroupId: string;
}

export class ProcessTree {
  /** By container cgroup id, then pid; Map order is insertion order (oldest first). */
  private readonly byContainer = new Map<bigint, Map<number, TreeNode>>();

  private nodes(cgroupId: bigint): Map<number, TreeNode> {
    let m = this.byContainer.get(cgroupId);
    if (!m) this.byContainer.set(cgroupId, (m = new Map()));
    return m;
  }

  private put(cgroupId: bigint, n: TreeNode): void {
    const m = this.nodes(cgroupId);
    m.delete(n.pid);
    m.set(n.pid, n);
    if (m.size > MAX_PER_CONTAINER) m.delete(m.keys().next().value as number);
  }

  /** Add a process known some other way (e.g. /proc); an entry the events made wins. */
  seed(cgroupId: bigint, n: TreeNode): void {
    const m = this.nodes(cgroupId);
    if (!m.has(n.pid)) this.put(cgroupId, n);
  }

  /** Apply one tracer event; signals and OOM events change nothing. */
  apply(e: DecodedEvent): void {
    if (e.kind === 'fork') {
      const parent = this.byContainer.get(e.cgroupId)?.get(e.parent.pid);
      this.put(e.cgroupId, {
        pid: e.child.pid, ppid: e.parent.pid, startBoottimeNs: e.child.startBoottimeNs, comm: e.child.comm,
        binary: parent && parent.startBoottimeNs === e.parent.startBoottimeNs ? parent.binary : null, cgroupId: e.taskCgroupId,
      });
    } else if (e.kind === 'exec') {
      const m = this.byContainer.get(e.cgroupId);
      const old = m?.get(e.task.pid);
      const same = old && old.startBoottimeNs === e.task.startBoottimeNs;
      this.put(e.cgroupId, {
        pid: e.task.pid, ppid: same ? old.ppid : 0, startBoottimeNs: e.task.startBoottimeNs, comm: e.task.comm,
        binary: e.filename, cgroupId: e.taskCgroupId,
      });
    } else if (e.kind === 'exit') {
      const m = this.byContainer.get(e.cgroupId);
      const old = m?.get(e.task.pid);
      if (old && old.startBoottimeNs === e.task.startBoottimeNs) m!.delete(e.task.pid);
    }
  }

  /** Forget a container (it was removed or restarted under a new cgroup). */
  drop(cgroupId: bigint): void {
    this.byContainer.delete(cgroupId);
  }

  /** Forget every container whose cgroup id is not in `live`. */
  retain(live: ReadonlySet<bigint>): void {
    for (const id of this.byContainer.keys()) if (!live.has(id)) this.byContainer.delete(id);
  }

  /** The container's processes, parents before children where known. */
  view(cgroupId: bigint): TreeNodeView[] {
    const m = this.byContainer.get(cgroupId);
    if (!m) return [];
    return [...m.values()]
      .sort((a, b) => (a.startBoottimeNs < b.startBoottimeNs ? -1 : a.startBoottimeNs > b.startBoottimeNs ? 1 : a.pid - b.pid))
      .map((n) => ({ pid: n.pid, ppid: n.ppid, startBoottimeNs: n.startBoottimeNs.toString(), comm: n.comm, binary: n.binary, cgroupId: n.cgroupId.toString() }));
  }

  size(cgroupId: bigint): number {
    return this.byContainer.get(cgroupId)?.size ?? 0;
  }
}
