/**
 * The monitor's source of exits in degraded mode (no BPF tracer here): the
 * netlink process connector, with the state's processes as the only ones it
 * can place. Identity comes from the state (cgroup id, start time), never
 * from a pid alone; see ../tracer/proc-connector.ts.
 */
import { isAlive } from '../launcher/proc.js';
import type { Store } from '../state/store.js';
import { openProcConnector, type KnownProcess } from '../tracer/proc-connector.js';
import type { EventConsumer, EventsHandler } from '../tracer/tracer.js';
import { NS_PER_TICK, startTicks } from './attribute.js';

/** How long the state's pid index may be reused: every exit on the host asks it. */
const INDEX_TTL_MS = 20;

export function openDegradedSource(store: Store, onEvents: EventsHandler, onOverrun: () => void): EventConsumer {
  let index: { at: number; byPid: Map<number, KnownProcess> } | null = null;
  const known = (pid: number): KnownProcess | null => {
    const now = Date.now();
    if (!index || now - index.at > INDEX_TTL_MS) {
      const byPid = new Map<number, KnownProcess>();
      for (const c of store.list()) {
        if (!c.cgroup) continue;
        const cgroupId = BigInt(c.cgroup.id);
        if (c.init) byPid.set(c.init.pid, { cgroupId, startBoottimeNs: BigInt(c.init.startTime) * NS_PER_TICK, comm: 'vigil-init', init: true });
        for (const p of c.processes) {
          if (p.pid !== null && p.startTime !== null) byPid.set(p.pid, { cgroupId, startBoottimeNs: BigInt(p.startTime) * NS_PER_TICK, comm: p.name, init: false });
        }
      }
      index = { at: now, byPid };
    }
    return index.byPid.get(pid) ?? null;
  };
  return openProcConnector(known, (pid, startNs) => isAlive(pid, startTicks(startNs)), onEvents, onOverrun);
}
