/** `vigil doctor`: can this host run vigil? Each check says what it found in plain words. */
import fs from 'node:fs';
import os from 'node:os';
import { BPF_OBJECT_PATH, HELPER_PATH, INIT_PATH } from '../paths.js';
import { readLayout, VIGIL_V2_MOUNT } from '../launcher/cgroups.js';
import { bpffsMount, btfPath, describeCounts, dropCounts, ensureTracer, removeTracer, tracerInfo, tracerSupport } from '../tracer/tracer.js';
import { openProcConnector } from '../tracer/proc-connector.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Not ok, but vigil runs without it in degraded mode. */
  degraded?: boolean;
}

/** What degraded mode keeps and loses, in plain words. */
export const DEGRADED_MEANS =
  'vigil runs in degraded mode: exits are still detected (through the netlink process connector) and processes are restarted, ' +
  'but signal senders, OOM attribution and fork/exec are not seen, and an exit while no monitor runs is found only by the next ' +
  "monitor's reconciliation (reported as lost)";

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

function attempt(name: string, fn: () => string): Check {
  try {
    return { name, ok: true, detail: fn() };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

export function runChecks(): Check[] {
  const checks: Check[] = [];
  const release = os.release();
  checks.push({
    name: 'kernel',
    ok: kernelAtLeast(release, 5, 8),
    degraded: !kernelAtLeast(release, 5, 8),
    detail: kernelAtLeast(release, 5, 8) ? `Linux ${release} (5.8 or newer: has the BPF ring buffer)` : `Linux ${release} is older than 5.8, which the BPF tracer needs for its ring buffer; ${DEGRADED_MEANS}`,
  });
  checks.push({
    name: 'root',
    ok: process.geteuid?.() === 0,
    detail: process.geteuid?.() === 0 ? 'running as root' : 'vigil must run as root (it creates namespaces, cgroups and BPF programs)',
  });
  let support: ReturnType<typeof tracerSupport> | null = null;
  checks.push(attempt('btf', () => {
    support = tracerSupport();
    if (support.mode === 'degraded') throw new Error(`${support.reason}. ${DEGRADED_MEANS}`);
    return `kernel type information (BTF) at ${btfPath()}, and BPF ring buffers`;
  }));
  const degraded = (support as ReturnType<typeof tracerSupport> | null)?.mode === 'degraded';
  if (degraded) {
    checks[checks.length - 1]!.degraded = true;
    checks.push(attempt('exits', () => {
      const c = openProcConnector(() => null, () => false, () => undefined, () => undefined);
      c.close();
      return 'the netlink process connector can be listened to: exits are detected in degraded mode';
    }));
  }
  checks.push(attempt('cgroups', () => {
    // Only read: doctor changes nothing on the host (vigil's own v2 tree is mounted by the first run).
    const l = readLayout();
    const limits = `limits through v1 ${Object.keys(l.v1Mounts).join(', ') || 'none'}${l.v2Controllers.size ? ` and v2 ${[...l.v2Controllers].join(', ')}` : ''}`;
    if (l.kind === 'v1') {
      return l.v2Mount === null
        ? `v1 only: the host mounts no cgroup v2 tree of its own; vigil mounts one at ${VIGIL_V2_MOUNT} for process identity on its first run (not mounted now); ${limits}`
        : `v1 only: the host mounts no cgroup v2 tree of its own; vigil mounted one at ${VIGIL_V2_MOUNT} (mounted now), identity from there; ${limits}`;
    }
    return l.kind === 'hybrid'
      ? `hybrid: identity from the v2 tree at ${l.v2Mount}; ${limits}`
      : `cgroup v2 at ${l.v2Mount} with ${[...l.v2Controllers].join(', ') || 'no controllers'}`;
  }));
  checks.push(attempt('bpffs', () => (bpffsMount() ? 'mounted bpffs at /sys/fs/bpf' : 'bpffs is mounted at /sys/fs/bpf')));
  for (const [name, file] of [['helper', HELPER_PATH], ['init', INIT_PATH], ['bpf object', BPF_OBJECT_PATH]] as const) {
    const there = fs.existsSync(file);
    checks.push({ name, ok: there, detail: there ? file : `${file} is missing: run \`make\` (or scripts/setup.sh)` });
  }
  if (!degraded && checks.every((c) => c.ok)) {
    checks.push(attempt('bpf', () => {
      const pinDir = `/sys/fs/bpf/vigil-doctor-${process.pid}`;
      let r;
      try {
        r = ensureTracer(BPF_OBJECT_PATH, pinDir);
      } finally {
        removeTracer(pinDir);
      }
      const why = (hook: string) => r.skipped.find((x) => x.hook === hook)?.why ?? 'not available';
      const oom = r.oomHook === 'none'
        ? `no OOM hook (${why('oom')}; OOM kills are still recognised from the exit)`
        : `OOM kills through ${r.oomHook === 'tracepoint' ? 'the mark_victim tracepoint' : 'fentry on mark_oom_victim (this kernel\'s tracepoint lacks the task)'}`;
      const tree = r.skipped.filter((x) => x.hook !== 'oom').map((x) => `no ${x.hook} events (${x.why})`);
      const has = ['exits', 'signals', ...(['fork', 'exec'] as const).filter((h) => !r.skipped.some((x) => x.hook === h)).map((h) => `${h}s`)];
      return `the tracer loads and attaches: ${has.join(', ')} in watched cgroups and their descendants; ${[oom, ...tree].join('; ')}`;
    }));
  }
  return checks;
}

/**
 * The tracer pinned for a state root, if any: its build, OOM hook, and what
 * the kernel could not deliver, per event kind. Null when none is pinned.
 */
export function pinnedTracerCheck(pinDir: string): Check | null {
  if (!fs.existsSync(`${pinDir}/control`)) return null;
  return attempt('tracer', () => {
    const info = tracerInfo(pinDir);
    const c = dropCounts(pinDir);
    return `pinned at ${pinDir}: build ${info.generation}, ${info.programs.length} programs attached, OOM hook ${info.oomHook}; ` +
      `lost: ${describeCounts(c.lost)}; rate-limited: ${describeCounts(c.rateLimited)}`;
  });
}
