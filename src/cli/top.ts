/** `vigil top NAME [--json]`: the processes in a running container. */
import { bootTimeMs, containerProcs, hostUserNames, topRows } from '../launcher/top.js';
import { StateError } from '../util/errors.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';
import { table } from './view.js';

export function cmdTop(ctx: Context, argv: string[]): number {
  const p = parseArgs(argv, { json: 'boolean' });
  const [name] = expectPositionals(p, 1, 1, 'vigil top NAME [--json]');
  const state = ctx.store.read(name);
  if (state.state !== 'running' || !state.cgroup) throw new StateError(`container "${name}" is ${state.state}`);
  const rows = topRows(state, containerProcs(state), bootTimeMs(), hostUserNames());
  if (p.flags.json) {
    ctx.out(JSON.stringify(rows) + '\n');
    return 0;
  }
  ctx.out(table([
    ['PID', 'CPID', 'PPID', 'USER', 'STATE', 'STARTED', 'ROLE', 'COMMAND'],
    ...rows.map((r) => [String(r.pid), String(r.containerPid ?? '-'), String(r.ppid), r.user, r.state, r.started, r.role, r.command]),
  ]));
  return 0;
}
