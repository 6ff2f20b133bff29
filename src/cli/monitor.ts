/** `vigil monitor` and `vigil doctor`: the long-lived and the diagnostic verbs. */
import fs from 'node:fs';
import { retireTracerIfUnused } from '../launcher/container.js';
import { Monitor } from '../monitor/monitor.js';
import { parseHookOption } from '../monitor/hooks.js';
import { parseMetricsAddress } from '../monitor/metrics.js';
import { attachOps } from '../monitor/ops.js';
import { UsageError } from '../util/errors.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';
import { pinnedTracerCheck, runChecks } from './doctor.js';

function checkExecutable(command: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(command);
  } catch (err) {
    throw new UsageError(`option --hook: ${command}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as Error).message)}`);
  }
  if (!st.isFile()) throw new UsageError(`option --hook: ${command} is not a file`);
  try {
    fs.accessSync(command, fs.constants.X_OK);
  } catch {
    throw new UsageError(`option --hook: ${command} is not executable`);
  }
  if ((st.mode & 0o111) === 0) throw new UsageError(`option --hook: ${command} is not executable`);
}

export async function cmdMonitor(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { json: 'boolean', metrics: 'string', hook: 'string' });
  if (argv.filter((a) => a === '--hook' || a.startsWith('--hook=')).length > 1) {
    throw new UsageError('option --hook: give it once (several events: --hook give-up,oom=/path); more hooks go in the containers\' specs');
  }
  expectPositionals(p, 0, 0, 'vigil monitor [--json] [--metrics 127.0.0.1:PORT] [--hook EVENT[,EVENT...]=/path/to/command]');
  const metrics = typeof p.flags.metrics === 'string' ? parseMetricsAddress(p.flags.metrics) : null;
  const hooks = typeof p.flags.hook === 'string' ? [parseHookOption(p.flags.hook)] : [];
  // A hook that cannot run would fail only at the first alarm it was meant to raise: say so now.
  for (const h of hooks) checkExecutable(h.command[0]);
  const monitor = new Monitor(ctx.store, { json: Boolean(p.flags.json) });
  // SIGHUP's default would end the process: take it over before anything else.
  let started = false;
  const reload = () => {
    if (started) monitor.reload();
  };
  process.on('SIGHUP', reload);
  // Hooks and metrics listen before the monitor starts, so they see what it drains at start.
  const ops = await attachOps(monitor, ctx.store, { hooks, metrics });
  try {
    monitor.start();
  } catch (err) {
    // What start() had opened (control socket, supervision timers, the lock)
    // must close too, or the process lives on, refusing every later monitor.
    monitor.stop();
    monitor.reporter.detachJournal();
    ops.close();
    process.off('SIGHUP', reload);
    throw err;
  }
  started = true;
  if (ops.metricsUrl) monitor.reporter.emit({ kind: 'monitor', container: null, process: null, pid: null, reason: `metrics at ${ops.metricsUrl}` });
  return new Promise((resolve) => {
    const end = (signal: string) => {
      // Containers keep running and the tracer stays pinned: a later monitor
      // drains what happens meanwhile.
      process.off('SIGHUP', reload);
      monitor.stop();
      ctx.store.withLock(() => retireTracerIfUnused(ctx.store));
      monitor.reporter.emit({ kind: 'monitor', container: null, process: null, pid: null, reason: `${signal}: monitor stopped; containers keep running` });
      // After that record, so a hook on it still runs (the process exits when the hooks have ended).
      ops.close();
      monitor.reporter.detachJournal();
      resolve(0);
    };
    process.once('SIGTERM', () => end('SIGTERM'));
    process.once('SIGINT', () => end('SIGINT'));
  });
}

export function cmdDoctor(ctx: Context, argv: string[]): number {
  expectPositionals(parseArgs(argv, {}), 0, 0, 'vigil doctor');
  const checks = runChecks();
  const pinned = pinnedTracerCheck(ctx.store.pinDir);
  if (pinned) checks.push(pinned);
  for (const c of checks) ctx.out(`${c.ok ? 'ok      ' : c.degraded ? 'DEGRADED' : 'MISSING '}  ${c.name.padEnd(10)} ${c.detail}\n`);
  const bad = checks.filter((c) => !c.ok && !c.degraded).length;
  const degraded = checks.some((c) => c.degraded);
  ctx.out(bad ? `\nThis host cannot run vigil yet: ${bad} problem(s) above.\n` : degraded ? '\nThis host can run vigil in degraded mode (see above).\n' : '\nThis host can run vigil.\n');
  return bad ? 1 : 0;
}
