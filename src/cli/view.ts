/** What `inspect` and `ps` show: state files, checked against the live host. */
import { noNewPrivileges, processCapabilities } from '../launcher/isolation-config.js';
import { isAlive } from '../launcher/proc.js';
import type { ContainerState, ProcessState } from '../state/store.js';

/**
 * A process the state calls running but whose (pid, start time) is gone has
 * died while no monitor recorded it: show it as exited, never as running.
 */
function liveProcess(p: ProcessState): ProcessState {
  // A process held back for its dependencies has no live pid yet (supervision).
  if (p.state === 'starting' && p.waiting) return p;
  if ((p.state === 'running' || p.state === 'starting') && !isAlive(p.pid, p.startTime)) return { ...p, state: 'exited' };
  return p;
}

export function inspectView(s: ContainerState): Record<string, unknown> {
  const initAlive = s.init !== null && isAlive(s.init.pid, s.init.startTime);
  const state = s.state === 'running' && !initAlive ? 'stopped' : s.state;
  return {
    name: s.name,
    state,
    pid: initAlive ? s.init!.pid : null,
    cgroup: s.cgroup?.path ?? null,
    cgroupId: s.cgroup?.id ?? null,
    // `cgroup` is the v2 path (identity, what BPF sees); these are every directory joined.
    cgroupDirs: s.cgroup ? [s.cgroup.v2, ...Object.values(s.cgroup.v1)] : [],
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    hostname: s.spec.hostname,
    rootfs: s.spec.rootfs,
    ...(s.spec.oci ? { bundle: s.spec.oci.bundle } : {}),
    ...(s.spec.userns ? { userns: s.spec.userns } : {}),
    network: s.spec.network,
    limits: s.spec.limits,
    // What the container's processes may do, resolved (a process's own changes are in its entry).
    security: { privileged: s.spec.privileged ?? false, capabilities: processCapabilities(s.spec, null), noNewPrivileges: noNewPrivileges(s.spec, null) },
    specFile: s.specFile,
    processes: s.processes.map((raw) => {
      const p = liveProcess(raw);
      return {
        name: p.name,
        pid: p.state === 'running' ? p.pid : null,
        state: p.state,
        restarts: p.restarts,
        startedAt: p.startedAt,
        lastExit: p.lastExit,
        command: s.spec.processes.find((q) => q.name === p.name)?.command ?? [],
        capabilities: processCapabilities(s.spec, s.spec.processes.find((q) => q.name === p.name) ?? null),
        ...supervisionView(s, p),
      };
    }),
  };
}

export function psRow(s: ContainerState): { name: string; state: string; pid: number | null; processes: number; running: number; restarts: number; createdAt: string } {
  const v = inspectView(s) as { state: string; pid: number | null; processes: Array<{ state: string; restarts: number }> };
  return {
    name: s.name,
    state: v.state,
    pid: v.pid,
    processes: v.processes.length,
    running: v.processes.filter((p) => p.state === 'running').length,
    restarts: v.processes.reduce((a, p) => a + p.restarts, 0),
    createdAt: s.createdAt,
  };
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/**
 * Supervision fields of a process: `health` (null without a check; the verdict
 * about the current pid, "starting" until its first check), `watchdog` (what it
 * said over NOTIFY_SOCKET), and `waitingFor` while held back for dependencies.
 */
function supervisionView(s: ContainerState, p: ProcessState): Record<string, unknown> {
  const spec = s.spec.processes.find((q) => q.name === p.name);
  const current = p.state === 'running' && p.health?.pid === p.pid ? p.health : null;
  const health = spec?.health
    ? { status: current?.status ?? 'starting', failingStreak: current?.failures ?? 0, lastCheckAt: current?.lastCheckMs ? new Date(current.lastCheckMs).toISOString() : null, lastResult: current?.lastResult ?? null }
    : null;
  const notify = p.state === 'running' && p.notify?.pid === p.pid ? p.notify : null;
  const watchdog = spec?.watchdog
    ? { intervalMs: spec.watchdog.interval, ready: notify?.ready ?? false, lastPingAt: notify?.lastPingAt ?? null, status: notify?.status ?? null }
    : null;
  return { critical: spec?.critical ?? false, dependsOn: spec?.dependsOn ?? [], health, watchdog, waitingFor: p.state === 'starting' && p.waiting ? p.waiting.for : null };
}
