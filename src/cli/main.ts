/** The `vigil` command: global options, dispatch, and errors to exit codes. */
import fs from 'node:fs';
import { PACKAGE_ROOT } from '../paths.js';
import { Store } from '../state/store.js';
import { stateRootProblem } from '../state/root-check.js';
import { cmdExec } from './exec.js';
import { cmdTop } from './top.js';
import { ControlError, HelperError, HostError, NotFoundError, SpecError, StateError, UnsupportedError, UsageError, VigilError } from '../util/errors.js';
import { cmdInspect, cmdKill, cmdLogs, cmdPs, cmdRestart, cmdRm, cmdRun, cmdStart, cmdStop, DEFAULT_CGROUP_PARENT, type Context } from './commands.js';

const HELP = `vigil: a daemonless container launcher with an eBPF fault monitor

usage: vigil [--root DIR] [--cgroup-parent P] COMMAND ...

  run [-d] SPEC.yaml            create and start a container; print its name and
                                return (always: -d, as Docker's, changes nothing)
  run --name N [--memory 64M] [--cpus N] [--cpuset CPUS] [--restart POLICY]
      [--rootfs DIR] [--privileged] [--cap-add A,B] [--cap-drop A,B]
      [--network none|host] [-v SRC:DST[:ro]]... -- CMD ARG...
  run --bundle DIR [--name N] [--restart POLICY]
                                an OCI runtime bundle (config.json + rootfs); its
                                process is the business process "main"
  create SPEC.yaml | create --bundle DIR [--name N] | start NAME [PROCESS]
  exec [-d] [-u UID[:GID]] [-w DIR] NAME -- CMD ARG...
                                run a command in a running container: attached
                                (exits with its status), or -d in the background
  top NAME [--json]             the processes in a container
  ps [-a] [--json]              list containers
  inspect NAME                  a container as JSON
  logs NAME [PROCESS] [-f] [--tail N]
  kill NAME [PROCESS] [SIGNAL]  (default SIGKILL; never answered by a restart)
  stop NAME [PROCESS] [-t SECS]
  restart NAME [PROCESS]
  rm [-f] NAME...
  events [--json] [--follow] [--since SEQ|TIME]
                                the monitor's journal (SEQ and later; TIME is
                                ISO or a duration ago such as 10m); --follow
                                goes on with live events
  monitor [--json]              the headless policy engine, in the foreground;
          [--metrics 127.0.0.1:PORT]  Prometheus metrics (loopback only)
          [--hook EVENTS=/CMD]  run CMD on the host for those events (JSON on
                                stdin); SIGHUP re-reads spec files' policies
  tui                           the live terminal UI (keys: ? in it)
  doctor                        can this host run vigil?

  --root DIR (or VIGIL_ROOT)    where state lives (default /run/vigil)
  --cgroup-parent P (or VIGIL_CGROUP_PARENT)  default /vigil; a relative P lies
                                beneath vigil's own cgroup in each hierarchy
`;

/** Exit codes: 0 ok, 1 the thing asked for failed, 2 usage, 125 vigil's own part, 126/127 from the helper. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof SpecError) return 2;
  if (err instanceof HelperError) return err.exitCode;
  if (err instanceof StateError || err instanceof NotFoundError || err instanceof ControlError) return 1;
  if (err instanceof HostError || err instanceof UnsupportedError) return 125;
  return 125;
}

/**
 * `vigil COMMAND --help`: HELP's entries for that command (an entry is a line
 * indented two spaces and the more indented lines under it), or '' if it has
 * none of its own.
 */
export function commandHelp(command: string): string {
  let text = '';
  let mine = false;
  for (const line of HELP.split('\n')) {
    const head = /^ {2}(\S+)/.exec(line);
    if (head) mine = head[1] === command;
    else if (!line.startsWith('   ')) mine = false;
    if (mine) text += `${line}\n`;
  }
  return text;
}

export async function main(argv: string[]): Promise<number> {
  let root = process.env.VIGIL_ROOT || undefined;
  let rootOption = 'VIGIL_ROOT';
  let cgroupParent = process.env.VIGIL_CGROUP_PARENT || DEFAULT_CGROUP_PARENT;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root' || a === '--cgroup-parent') {
      if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
      if (a === '--root') [root, rootOption] = [argv[++i], '--root'];
      else cgroupParent = argv[++i];
    } else if (a.startsWith('--root=')) [root, rootOption] = [a.slice(7), '--root'];
    else if (a.startsWith('--cgroup-parent=')) cgroupParent = a.slice(16);
    else break;
  }
  const [command, ...rest] = argv.slice(i);
  const out = (t: string) => process.stdout.write(t);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out(HELP);
    return command ? 0 : 2;
  }
  if ((rest[0] === '--help' || rest[0] === '-h') && new RegExp(`\\b${command.replace(/\W/g, '')}\\b`).test(HELP)) {
    const usage = commandHelp(command);
    out(usage ? `${usage}(vigil --help for every command, SPEC.md for the details)\n` : HELP);
    return 0;
  }
  if (command === '--version' || command === 'version') {
    out(`vigil ${JSON.parse(fs.readFileSync(`${PACKAGE_ROOT}/package.json`, 'utf8')).version}\n`);
    return 0;
  }
  if (root !== undefined) {
    const problem = stateRootProblem(root);
    if (problem) throw new UsageError(`${rootOption} ${root}: ${problem}`);
  }
  const ctx: Context = { store: new Store(root), cgroupParent, out };
  switch (command) {
    case 'run':
      return cmdRun(ctx, rest);
    case 'create':
      return cmdRun(ctx, rest, true);
    case 'start':
      return cmdStart(ctx, rest);
    case 'ps':
      return cmdPs(ctx, rest);
    case 'inspect':
      return cmdInspect(ctx, rest);
    case 'stop':
      return cmdStop(ctx, rest);
    case 'restart':
      return cmdRestart(ctx, rest);
    case 'kill':
      return cmdKill(ctx, rest);
    case 'rm':
      return cmdRm(ctx, rest);
    case 'exec':
      return cmdExec(ctx, rest);
    case 'top':
      return cmdTop(ctx, rest);
    case 'logs':
      return cmdLogs(ctx, rest);
    case 'events':
      return (await import('./events.js')).cmdEvents(ctx, rest);
    case 'monitor':
      return (await import('./monitor.js')).cmdMonitor(ctx, rest);
    case 'doctor':
      return (await import('./monitor.js')).cmdDoctor(ctx, rest);
    case 'tui':
      return (await import('./tui.js')).cmdTui(ctx, rest);
    default:
      throw new UsageError(`unknown command "${command}" (see vigil --help)`);
  }
}

/** Exit status when the reader of our stdout went away (as a process killed by SIGPIPE: 128 + 13). */
export const EXIT_READER_GONE = 141;

export async function run(argv: string[]): Promise<void> {
  // `vigil logs NAME | head` closes the pipe while we write: Node ignores SIGPIPE, so
  // the write fails with EPIPE, which would otherwise surface as an unhandled stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_READER_GONE);
    throw err;
  });
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const message = err instanceof VigilError ? err.message : (err as Error)?.stack ?? String(err);
    process.stderr.write(`vigil: ${message}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
