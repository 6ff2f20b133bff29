/**
 * The tracer as the monitor exposes it, on the real kernel: the snapshot
 * carries the tracer's mode, build and per-kind counts, and each container's
 * process tree with the binary each process runs (from fork and exec events,
 * including a process started later with `vigil exec -d`); a newer tracer
 * build pinned while the monitor runs takes over without the monitor missing
 * an exit.
 */
import test from 'ava';
import { ControlClient } from '../../src/control/client.js';
import { BPF_OBJECT_PATH } from '../../src/paths.js';
import { ensureTracer, tracerInfo } from '../../src/tracer/tracer.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('monitor and tracer');
const env = missing ? null! : new KernelEnv('montracer');
let monitor: MonitorProcess;
test.after.always(() => env?.cleanup());

interface TreeNode { pid: number; ppid: number; comm: string; binary: string | null }
interface TracerView { mode: string; generation: number; oomHook: string; lost: Record<string, string>; rateLimited: Record<string, string> }

async function snapshot(): Promise<{ tracer: TracerView; tree: TreeNode[] }> {
  const client = await ControlClient.connect(env.root);
  try {
    const snap = await client.snapshot();
    const c = snap.containers.find((x) => x.name === 'mt')!;
    return { tracer: (snap.monitor as unknown as { tracer: TracerView }).tracer, tree: c.tree as TreeNode[] };
  } finally {
    client.close();
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

serial('the snapshot shows the tracer and the container\'s process tree with binaries', async (t) => {
  const file = env.writeSpec('mt', env.spec('mt', [{ name: 'api', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: { policy: 'always', backoff: { initial: '10ms' } } }]));
  const r = env.cli('run', file);
  t.is(r.status, 0, r.stderr);
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
  const api = env.inspect(t, 'mt').processes[0]!;
  const { tracer, tree } = await snapshot();
  t.like(tracer, { mode: 'bpf', oomHook: 'tracepoint', lost: { exit: '0', signal: '0', oom: '0', fork: '0', exec: '0' }, rateLimited: { signal: '0' } });
  t.true(tracer.generation >= 1);
  const node = tree.find((n) => n.pid === api.pid);
  t.truthy(node, `api (pid ${api.pid}) in the tree: ${JSON.stringify(tree)}`);
  t.regex(node!.binary ?? '', /testbin/, 'seeded from /proc at monitor start');

  const exec = env.cli('exec', '-d', 'mt', '--', TESTBIN_IN_CONTAINER, 'sleep', '30');
  t.is(exec.status, 0, exec.stderr);
  const later = await until('the exec in the tree', async () => (await snapshot()).tree.find((n) => n.pid !== api.pid && n.binary === TESTBIN_IN_CONTAINER && n.comm === 'testbin'));
  t.true(later.ppid > 0, 'with its parent');
});

serial('a newer tracer build pinned while the monitor runs: the next exit is still seen and answered', async (t) => {
  const before = tracerInfo(env.store.pinDir);
  const up = ensureTracer(BPF_OBJECT_PATH, env.store.pinDir, { signalRate: 1234 });
  t.like(up, { loaded: true, upgraded: true, generation: before.generation + 1 });
  const api = env.inspect(t, 'mt').processes[0]!;
  const from = monitor.lines.length;
  process.kill(api.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === api.pid, 10_000, from);
  t.like(exit, { signal: 'SIGKILL', action: 'restart' });
  t.deepEqual(exit.sender, { pid: process.pid, comm: exit.sender && (exit.sender as { comm: string }).comm, container: null });
  await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'api', 10_000, from);
  t.false(monitor.lines.some((l) => l.kind === 'lost' || l.kind === 'error'), monitor.lines.filter((l) => l.kind === 'error').map((l) => l.reason).join('\n'));
  t.is((await snapshot()).tracer.generation, before.generation + 1);
});

serial('vigil doctor shows the pinned tracer: its build, hook and per-kind counts', (t) => {
  const r = env.cli('doctor');
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, new RegExp(`ok\\s+tracer\\s+pinned at ${env.store.pinDir}: build \\d+, 5 programs attached, OOM hook tracepoint; lost: none; rate-limited: none`));
});

serial('an OOM in one of two containers is attributed to that container, as a cgroup OOM with sizes', async (t) => {
  const file = env.writeSpec('mt2', env.spec('mt2', [{ name: 'hog', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: { policy: 'always', backoff: { initial: '10ms' } } }], { limits: { memory: '40M' } }));
  const r = env.cli('run', file);
  t.is(r.status, 0, r.stderr);
  const hog = env.inspect(t, 'mt2').processes[0]!;
  const from = monitor.lines.length;
  process.kill(hog.pid!, 'SIGUSR2'); // testbin allocates without bound
  const oom = await monitor.waitFor((l) => l.kind === 'oom' && l.pid === hog.pid, 15_000, from);
  t.like(oom, { container: 'mt2', process: 'hog', scope: 'memcg' });
  t.true((oom.anonRssKb as number) > 20_000 && (oom.anonRssKb as number) <= 41_000, `anon ${oom.anonRssKb} KiB`);
  t.regex(oom.reason, /its memory cgroup was at its limit; anon \d+ MiB/);
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === hog.pid, 10_000, from);
  t.like(exit, { container: 'mt2', process: 'hog', exitReason: 'oom-killed' });
  t.false(monitor.lines.slice(from).some((l) => (l.kind === 'oom' || l.kind === 'exit') && l.container === 'mt'), 'nothing attributed to the other container');
});
