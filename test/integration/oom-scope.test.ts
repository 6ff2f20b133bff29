/**
 * The scope of an OOM kill, on the real kernel: a container that hits its own
 * memory limit is a `memcg` OOM; a machine that runs out of memory is a
 * `global` one, also when the victim's container is at its limit and has had
 * a memcg OOM before (what the tracer's former rule, "the victim's group is
 * near its limit", read as memcg). The global case runs only in the kernel
 * matrix's QEMU guests (test/kernel/), where filling the machine's memory
 * harms nobody; the kernel suite runs this file last.
 */
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { detectLayout, resolveParent } from '../../src/launcher/cgroups.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, until, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('OOM scope tests');
const inCell = Boolean(process.env.VIGIL_CELL_KERNEL);
const env = missing ? null! : new KernelEnv('oomscope');
let monitor: MonitorProcess;

test.before(async () => {
  if (missing) return;
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor');
});
test.after.always(() => env?.cleanup());

const MiB = 1024 * 1024;

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** The container's memory usage and limit files, where the layout keeps memory. */
function memoryFiles(name: string): { usage: string; limit: string } {
  const layout = detectLayout();
  const base = resolveParent(layout, env.cgroupParent);
  if (layout.v2Controllers.has('memory')) return { usage: path.join(base.v2, name, 'memory.current'), limit: path.join(base.v2, name, 'memory.max') };
  const dir = path.join(base.v1.memory!, name);
  return { usage: path.join(dir, 'memory.usage_in_bytes'), limit: path.join(dir, 'memory.limit_in_bytes') };
}

serial('a container at its memory limit: the OOM kill reads memcg', async (t) => {
  // `sitter` holds 40 MiB and stays; `first` allocates without bound and,
  // with oom_score_adj 1000, is the one the memcg OOM killer picks.
  const file = env.writeSpec('limited', env.spec('limited', [
    { name: 'sitter', command: [TESTBIN_IN_CONTAINER, 'memhog', '40'], restart: 'never' },
    { name: 'first', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' },
  ], { limits: { memory: '64M' } }));
  env.ok(t, 'run', file);
  const procs = env.inspect(t, 'limited').processes;
  const sitter = procs.find((p) => p.name === 'sitter')!;
  const first = procs.find((p) => p.name === 'first')!;
  await until('the sitter to hold 40 MiB', () => rssKb(sitter.pid!) >= 40 * 1024, 60_000);
  fs.writeFileSync(`/proc/${first.pid}/oom_score_adj`, '1000');
  const from = monitor.lines.length;
  process.kill(first.pid!, 'SIGUSR2'); // testbin allocates without bound
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'first', 60_000, from);
  t.is(exit.exitReason, 'oom-killed');
  t.like(monitor.lines.slice(from).find((l) => l.kind === 'oom' && l.pid === first.pid), { container: 'limited', scope: 'memcg' });
  t.is(env.inspect(t, 'limited').processes.find((p) => p.name === 'sitter')!.state, 'running', 'the memcg OOM took only the chosen victim');
});

const GLOBAL_TITLE = 'a global OOM reads global, for a victim in a container at its limit with a memcg OOM behind it, and for one in a container without a limit';
// Outside a matrix cell the test is declared skipped, its title saying why
// (an expected skip: CI=true does not turn it into a failure).
if (inCell) serial(GLOBAL_TITLE, globalOom);
else test.serial.skip(`${GLOBAL_TITLE} (skipped: a global OOM is never provoked on a shared host; the kernel matrix's QEMU guests run it)`, globalOom);

async function globalOom(t: ExecutionContext): Promise<void> {
  // The limited container from the test above: it had a memcg OOM, and its
  // limit is now pulled down to just above what it uses, so it stays at its
  // limit. Its sitter is made the global OOM killer's first choice.
  const sitter = env.inspect(t, 'limited').processes.find((p) => p.name === 'sitter')!;
  t.is(sitter.state, 'running');
  const mem = memoryFiles('limited');
  const usage = Number(fs.readFileSync(mem.usage, 'utf8').trim());
  fs.writeFileSync(mem.limit, String(Math.ceil((usage + MiB / 4) / 4096) * 4096));
  t.log(`limited: usage ${usage} bytes, limit now ${fs.readFileSync(mem.limit, 'utf8').trim()}`);
  fs.writeFileSync(`/proc/${sitter.pid}/oom_score_adj`, '1000');

  const file = env.writeSpec('unlimited', env.spec('unlimited', [{ name: 'hog', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: 'never' }]));
  env.ok(t, 'run', file);
  const hog = env.inspect(t, 'unlimited').processes.find((p) => p.name === 'hog')!;
  const from = monitor.lines.length;
  process.kill(hog.pid!, 'SIGUSR2'); // fills the machine's memory
  // First the sitter (oom_score_adj 1000), then, as the hog goes on, the hog.
  const sitterExit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'sitter', 240_000, from);
  t.is(sitterExit.exitReason, 'oom-killed');
  t.like(monitor.lines.slice(from).find((l) => l.kind === 'oom' && l.pid === sitter.pid), { container: 'limited', scope: 'global' });
  const hogExit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'hog', 240_000, from);
  t.is(hogExit.exitReason, 'oom-killed');
  t.like(monitor.lines.slice(from).find((l) => l.kind === 'oom' && l.pid === hog.pid), { container: 'unlimited', scope: 'global' });
  env.ok(t, 'rm', '-f', 'unlimited');
  env.ok(t, 'rm', '-f', 'limited');
  t.deepEqual(env.leftovers(['limited', 'unlimited']), []);
}
