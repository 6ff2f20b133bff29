/**
 * What SIGHUP means to the monitor: re-read each container's spec file (the
 * file `vigil run` was given, kept in its state) and take over the parts the
 * monitor owns: the restart policy of the container and of each process,
 * escalation and hooks. They are written into the container's state, which
 * every later decision reads. Everything else in the file (command, limits,
 * mounts, processes added or removed) belongs to the launcher and needs the
 * container created again: such a difference is reported, not applied. A
 * file that is gone or refused by the spec check leaves the policy as it was.
 */
import fs from 'node:fs';
import { parseSpec, type ContainerSpec } from '../launcher/spec.js';
import type { Store } from '../state/store.js';
import { VigilError } from '../util/errors.js';

export interface ReloadOutcome {
  /** Containers whose state was read. */
  containers: number;
  /** "svc" for each container whose policy changed. */
  changed: string[];
  /** One sentence per container whose file could not be used or holds changes not applied. */
  notes: string[];
}

/** The spec with `next`'s monitor-owned parts: restart policies, escalation, hooks. Pure. */
export function withReloadedPolicy(current: ContainerSpec, next: ContainerSpec): { spec: ContainerSpec; unapplied: boolean } {
  const byName = new Map(next.processes.map((p) => [p.name, p]));
  const spec: ContainerSpec = {
    ...current,
    restart: next.restart,
    escalation: next.escalation,
    hooks: next.hooks,
    processes: current.processes.map((p) => (byName.has(p.name) ? { ...p, restart: byName.get(p.name)!.restart } : p)),
  };
  // What else differs belongs to the launcher (the name may differ: `vigil run --name`).
  const launcherPart = (s: ContainerSpec) => JSON.stringify({
    ...s, name: '', hostname: s.hostname === s.name ? '' : s.hostname, restart: null, escalation: null, hooks: null,
    processes: s.processes.map((p) => ({ ...p, restart: null })),
  });
  const unapplied = launcherPart(current) !== launcherPart(next);
  return { spec, unapplied };
}

export function reloadSpecs(store: Store): ReloadOutcome {
  const outcome: ReloadOutcome = { containers: 0, changed: [], notes: [] };
  for (const c of store.list()) {
    outcome.containers++;
    if (!c.specFile) continue;
    let next: ContainerSpec;
    try {
      next = parseSpec(fs.readFileSync(c.specFile, 'utf8'), c.specFile);
    } catch (err) {
      const why = err instanceof VigilError ? err.message : (err as Error).message;
      outcome.notes.push(`${c.name}: policy kept: ${why.split('\n').join('; ')}`);
      continue;
    }
    const { spec, unapplied } = withReloadedPolicy(c.spec, next);
    if (unapplied) outcome.notes.push(`${c.name}: ${c.specFile} also changes what only a new container can take (command, limits, mounts or the list of processes): not applied`);
    if (JSON.stringify(spec) === JSON.stringify(c.spec)) continue;
    try {
      store.update(c.name, (s) => {
        s.spec = withReloadedPolicy(s.spec, next).spec;
      });
      outcome.changed.push(c.name);
    } catch (err) {
      outcome.notes.push(`${c.name}: policy not written: ${(err as Error).message}`);
    }
  }
  return outcome;
}

export function describeReload(o: ReloadOutcome): string {
  const changed = o.changed.length ? `; new restart policy for ${o.changed.join(', ')}` : '; no policy changed';
  return `reloaded: ${o.containers} container${o.containers === 1 ? '' : 's'}${changed}${o.notes.length ? `; ${o.notes.join('; ')}` : ''}`;
}
