/**
 * `vigil exec` attached (stdio of the caller, the command's status as the
 * CLI's, signals passed on) and `vigil top` (the container's processes from
 * its cgroup, with init and business processes marked), on the real kernel.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { VIGIL, KernelEnv, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('exec and top tests');

const env = missing ? null! : new KernelEnv('exectop');
test.after.always(() => env?.cleanup());

interface TopRow { pid: number; containerPid: number | null; ppid: number; user: string; state: string; started: string; role: string; command: string }

const top = (t: Parameters<typeof env.ok>[0]) => JSON.parse(env.ok(t, 'top', 'box', '--json')) as TopRow[];

serial('attached exec: the caller\'s stdin and stdout, and the command\'s exit status', (t) => {
  env.ok(t, 'run', env.writeSpec('box', env.spec('box', [
    { name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'] },
    { name: 'forker', command: [TESTBIN_IN_CONTAINER, 'fork', '2'] },
  ])));
  const echo = spawnSync(process.execPath, [VIGIL, 'exec', 'box', '--', '/bin/sh', '-c', 'read line; echo "got $line in $(hostname) as pid $$"; echo to-stderr >&2; exit 3'], {
    env: env.env, input: 'hello\n', encoding: 'utf8', timeout: 30_000,
  });
  t.is(echo.status, 3, echo.stderr);
  t.regex(echo.stdout, /^got hello in box as pid \d+\n$/);
  t.not(echo.stdout.match(/pid (\d+)/)![1], String(process.pid));
  t.is(echo.stderr, 'to-stderr\n');

  const killed = env.cli('exec', 'box', '--', '/bin/sh', '-c', 'kill -9 $$');
  t.is(killed.status, 128 + 9, 'killed by signal N: 128+N');
  const notFound = env.cli('exec', 'box', '--', '/no/such/cmd');
  t.is(notFound.status, 127);
  t.regex(notFound.stderr, /exec '\/no\/such\/cmd': ENOENT/);
  const notExec = env.cli('exec', 'box', '--', '/etc/passwd');
  t.is(notExec.status, 126);
  // An attached exec leaves nothing in the container.
  t.false(top(t).some((r) => r.role === '-'), 'no stray process after attached execs');
});

serial('attached exec: a signal to the CLI reaches the command once; the CLI exits with its status, 128+N if it dies of it', async (t) => {
  const child = spawn(process.execPath, [VIGIL, 'exec', 'box', '--', '/bin/sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], {
    env: env.env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 500 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
  t.true(out.includes('ready'));
  child.kill('SIGTERM');
  t.is(await exited, 42, 'the command trapped TERM and chose its status');
  t.is(out.match(/got-term/g)?.length, 1);

  const plain = spawn(process.execPath, [VIGIL, 'exec', 'box', '--', '/bin/sh', '-c', 'echo ready; exec sleep 600'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let plainOut = '';
  plain.stdout.setEncoding('utf8').on('data', (d: string) => (plainOut += d));
  const plainExit = new Promise<number | null>((resolve) => plain.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 500 && !plainOut.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
  plain.kill('SIGTERM');
  t.is(await plainExit, 128 + 15);
});

serial('attached exec on a terminal: the command sees a tty, and Ctrl-C reaches it once', async (t) => {
  // script(1) (util-linux, essential in Debian) gives the CLI a pseudo-terminal.
  const cli = `${process.execPath} ${VIGIL} exec box -- /bin/sh -c 'test -t 0 && test -t 1 && echo on-a-tty; trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.05; done'`;
  // exec: script(1) runs the line with $SHELL, and a shell that stays as the
  // CLI's parent (dash does) would itself die of the terminal's SIGINT.
  const child = spawn('script', ['-qec', `exec ${cli}`, '/dev/null'], { env: env.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 500 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
  t.regex(out, /on-a-tty/);
  child.stdin.write('\x03');
  t.is(await exited, 7, out);
  t.is(out.match(/got-int/g)?.length, 1, 'the terminal\'s SIGINT reached the command once');
});

serial('exec into a container that is not running fails with 1', (t) => {
  const r = env.cli('exec', 'nosuch', '--', '/bin/true');
  t.is(r.status, 1);
  t.regex(r.stderr, /no container named "nosuch"/);
});

serial('top lists the container\'s processes from its cgroup, marking init, named processes and the rest', (t) => {
  const execPid = Number(env.ok(t, 'exec', '-d', 'box', '--', '/bin/sleep', '600').trim());
  const c = env.inspect(t, 'box');
  const rows = top(t);
  const byPid = new Map(rows.map((r) => [r.pid, r]));
  const init = byPid.get(c.pid!)!;
  t.is(init.role, 'vigil-init');
  t.is(init.containerPid, 1);
  t.is(init.command, 'vigil-init');
  for (const p of c.processes) {
    const row = byPid.get(p.pid!)!;
    t.is(row.role, p.name);
    t.is(row.ppid, c.pid!, `${p.name} is a child of vigil-init`);
    t.is(row.user, 'root');
  }
  const forker = c.processes.find((p) => p.name === 'forker')!;
  const children = rows.filter((r) => r.ppid === forker.pid);
  t.is(children.length, 2);
  for (const r of children) t.is(r.role, 'child of forker');
  t.is(byPid.get(execPid)?.role, '-', 'an exec is in the container but no named process');
  t.is(byPid.get(execPid)?.command, '/bin/sleep 600');
  t.is(rows.length, 1 + 2 + 2 + 1);
  for (const r of rows) {
    t.regex(r.state, /^[RSD]$/);
    t.true(Math.abs(Date.parse(r.started) - Date.now()) < 120_000, `start time ${r.started} is recent`);
  }
  const text = env.ok(t, 'top', 'box');
  t.regex(text.split('\n')[0], /^PID\s+CPID\s+PPID\s+USER\s+STATE\s+STARTED\s+ROLE\s+COMMAND$/);
  env.ok(t, 'stop', 'box', '-t', '1');
  const stopped = env.cli('top', 'box');
  t.is(stopped.status, 1);
  t.regex(stopped.stderr, /is stopped/);
  env.ok(t, 'rm', 'box');
});
