/** `vigil monitor` and `vigil doctor`: the long-lived and the diagnostic verbs. */
import { retireTracerIfUnused } from '../launcher/container.js';
import { Monitor } from '../monitor/monitor.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';
import { pinnedTracerCheck, runChecks } from './doctor.js';

export function cmdMonitor(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { json: 'boolean' });
  expectPositionals(p, 0, 0, 'vigil monitor [--json]');
  const monitor = new Monitor(ctx.store, { json: Boolean(p.flags.json) });
  monitor.start();
  return new Promise((resolve) => {
    const end = (signal: string) => {
      // Containers keep running and the tracer stays pinned: a later monitor
      // drains what happens meanwhile.
      monitor.stop();
      ctx.store.withLock(() => retireTracerIfUnused(ctx.store));
      monitor.reporter.emit({ kind: 'monitor', container: null, process: null, pid: null, reason: `${signal}: monitor stopped; containers keep running` });
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
