/**
 * `vigil exec [-d] NAME -- CMD ARG...`: a command in a running container,
 * through the same helper path as every business process (namespaces,
 * cgroups, the container's capabilities and no_new_privs). Attached, it gets
 * the caller's stdin/stdout/stderr and the CLI exits with its status (128+N
 * when killed by signal N); with -d it runs in the background, output to
 * `vigil logs NAME exec`, and its pid is printed.
 */
import { execConfig } from '../launcher/container.js';
import { runHelperAttached, runHelperSync } from '../launcher/helper.js';
import { MAX_ID, USER_PATTERN } from '../launcher/spec.js';
import { StateError, UsageError } from '../util/errors.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';

const USAGE = 'vigil exec [-d] [-u UID[:GID]] [-w DIR] NAME -- CMD ARG...';

export async function cmdExec(ctx: Context, argv: string[]): Promise<number> {
  const p = parseArgs(argv, { detach: 'boolean', user: 'string', workdir: 'string' }, { '-d': 'detach', '-u': 'user', '-w': 'workdir' });
  const [name] = expectPositionals(p, 1, 1, USAGE);
  if (!p.rest?.length) throw new UsageError(`usage: ${USAGE}`);
  const user = p.flags.user as string | undefined;
  if (user !== undefined && (!USER_PATTERN.test(user) || user.split(':').some((id) => Number(id) > MAX_ID))) {
    throw new UsageError(`option --user expects a numeric "uid" or "uid:gid" (ids up to ${MAX_ID}), got ${JSON.stringify(user)}`);
  }
  const workdir = p.flags.workdir as string | undefined;
  if (workdir !== undefined && !workdir.startsWith('/')) throw new UsageError(`option --workdir expects an absolute path, got ${JSON.stringify(workdir)}`);
  const state = ctx.store.read(name);
  if (state.state !== 'running') throw new StateError(`container "${name}" is ${state.state}`);
  const config = execConfig(state, p.rest, { log: ctx.store.logFile(name, 'exec'), user: user ?? null, cwd: workdir ?? null });
  if (p.flags.detach) {
    ctx.out(`${runHelperSync('exec', config).pid}\n`);
    return 0;
  }
  const result = await runHelperAttached(config);
  return result.signal !== undefined ? 128 + result.signal : result.exitCode ?? 0;
}
