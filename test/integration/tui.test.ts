/**
 * The real `vigil tui` in a real terminal (tmux, on a socket of this test's
 * own), against a real monitor and real containers. The screen is read with
 * `tmux capture-pane -p`, as an operator would read it:
 *  - no monitor: it says so and starts one with `m`; a kill shows as the
 *    exit with its sender and decision, then the restart; the restart key
 *    asks, and `y` makes the monitor restart the process; `q` quits and
 *    stops the monitor it started;
 *  - the monitor killed and started again: the TUI reconnects by itself and
 *    shows what happened meanwhile, once; SIGTERM ends it cleanly.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { KernelEnv, TESTBIN_IN_CONTAINER, VIGIL, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('TUI end-to-end tests');

const env = missing ? null! : new KernelEnv('tui');
const SOCKET = `vigil-tui-test-${process.pid}`;
const NAME = 'tui-e2e';
const monitors: MonitorProcess[] = [];

function tmux(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test.after.always(() => {
  if (missing) return;
  // Only this test's own tmux server (its own socket), and only our monitors.
  tmux('kill-server');
  fs.rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid!()}`, SOCKET), { force: true });
  for (const m of monitors) m.child.kill('SIGKILL');
  env.cleanup();
});

const fast = { policy: 'always', backoff: { initial: '10ms' } };

test.before(() => {
  if (missing) return;
  const file = env.writeSpec(NAME, env.spec(NAME, [
    { name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
    { name: 'aux', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
  ]));
  const r = env.cli('run', file);
  if (r.status !== 0) throw new Error(r.stderr);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `vigil tui` in a new tmux session; its exit status lands in a file. */
function startTui(session: string, columns = 160, rows = 40): string {
  const statusFile = path.join(env.root, `${session}.status`);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `env VIGIL_ROOT=${quote(env.root)} VIGIL_CGROUP_PARENT=${quote(env.cgroupParent)} ${quote(process.execPath)} ${quote(VIGIL)} tui; echo $? > ${quote(statusFile)}`;
  const r = tmux('new-session', '-d', '-s', session, '-x', String(columns), '-y', String(rows), command);
  if (r.status !== 0) throw new Error(`tmux new-session: ${r.stderr}`);
  return statusFile;
}

function screen(session: string): string {
  return tmux('capture-pane', '-p', '-t', session).stdout;
}

async function see(t: ExecutionContext, session: string, what: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = screen(session);
    const m = last.match(what);
    if (m) return m;
    if (Date.now() > end) {
      t.log(last);
      throw new Error(`not on the screen within ${timeoutMs} ms: ${what}`);
    }
    await sleep(100);
  }
}

function keys(session: string, ...ks: string[]): void {
  for (const k of ks) tmux('send-keys', '-t', session, k);
}

function pidOf(t: ExecutionContext, name: string): number {
  return env.inspect(t, NAME).processes.find((p) => p.name === name)!.pid!;
}

async function exited(statusFile: string, timeoutMs = 15_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(statusFile) || !fs.readFileSync(statusFile, 'utf8').trim()) {
    if (Date.now() > end) throw new Error('vigil tui did not exit');
    await sleep(100);
  }
  return fs.readFileSync(statusFile, 'utf8').trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

serial('no monitor, m starts one; a kill shows its exit, reason and restart; r then y restarts; q stops its monitor', async (t) => {
  const session = 'first';
  const statusFile = startTui(session);
  await see(t, session, new RegExp(`No monitor is running for ${env.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
  await see(t, session, /Press m to start one here/);
  await see(t, session, /NO MONITOR/);
  keys(session, 'm');
  const started = await see(t, session, /started vigil monitor \(pid (\d+)\); it stops when you quit/);
  const ownMonitor = Number(started[1]);
  // Should this test fail half-way, the next must not find this monitor.
  t.teardown(async () => {
    tmux('kill-session', '-t', session);
    for (let i = 0; i < 50 && alive(ownMonitor); i++) await sleep(100);
    if (alive(ownMonitor)) process.kill(ownMonitor, 'SIGKILL');
  });
  await see(t, session, /LIVE/);
  await see(t, session, new RegExp(`${NAME}\\s+running\\s+\\S+\\s+2/2`));
  await see(t, session, /tracer attached, pinned/);

  const victim = pidOf(t, 'svc');
  process.kill(victim, 'SIGKILL');
  await see(t, session, new RegExp(`exit\\s+${NAME}/svc ${victim}: killed by SIGKILL from pid ${process.pid} \\(node, host\\)[^\\n]*attempt 1, next in`));
  const restarted = await see(t, session, new RegExp(`restart\\s+${NAME}/svc (\\d+): restarted as pid \\d+`));
  const replacement = Number(restarted[1]);
  t.not(replacement, victim);
  t.is(pidOf(t, 'svc'), replacement);
  await see(t, session, new RegExp(`${replacement}\\s+svc\\s+running\\s+r1\\s+up [^\\n]*last: SIGKILL from node \\(pid ${process.pid}, host\\)`));

  // The restart key on the selected process: it asks first.
  keys(session, 'Tab');
  await see(t, session, /▸ Processes of/);
  keys(session, 'r');
  await see(t, session, new RegExp(`Restart process ${NAME}/svc\\? y to confirm`));
  keys(session, 'y');
  await see(t, session, new RegExp(`restart of ${NAME}/svc done \\(journal seq \\d+\\)`));
  await see(t, session, new RegExp(`operator\\s+${NAME}/svc ${replacement}: operator restart of ${NAME}/svc asked over the control socket`));
  await see(t, session, new RegExp(`start\\s+${NAME}/svc \\d+: operator restart of ${NAME}/svc done`));
  const byOperator = pidOf(t, 'svc');
  t.not(byOperator, replacement);
  t.is(env.inspect(t, NAME).processes.find((p) => p.name === 'svc')!.lastExit!.reason, 'operator');

  keys(session, 'q');
  t.is(await exited(statusFile), '0');
  await sleep(200);
  t.false(alive(ownMonitor), 'the monitor started from the TUI stopped with it');
  t.is(pidOf(t, 'svc'), byOperator, 'the containers keep running');
});

serial('the monitor restarts: the TUI reconnects by itself and shows what happened meanwhile, once', async (t) => {
  const first = env.startMonitor();
  monitors.push(first);
  await first.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
  const session = 'second';
  const statusFile = startTui(session, 100, 30);
  await see(t, session, /LIVE/);
  await see(t, session, new RegExp(`monitor pid ${first.child.pid} `));

  await first.stop('SIGKILL');
  await see(t, session, /NO MONITOR/);
  await see(t, session, /the monitor went away/);
  // Killed while no monitor runs: the pinned tracer records it.
  const victim = pidOf(t, 'aux');
  process.kill(victim, 'SIGKILL');
  await sleep(300);

  const second = env.startMonitor();
  monitors.push(second);
  await see(t, session, new RegExp(`monitor pid ${second.child.pid} `));
  await see(t, session, /LIVE/);
  await see(t, session, new RegExp(`restart\\s+${NAME}/aux \\d+: restarted as pid`));
  const text = screen(session);
  const exits = text.split('\n').filter((l) => new RegExp(`exit\\s+${NAME}/aux ${victim}:`).test(l));
  t.is(exits.length, 1, `the exit shows once:\n${text}`);
  t.regex(exits[0], new RegExp(`killed by SIGKILL from pid ${process.pid}`));

  // Ended from outside (as when the terminal closes): it leaves cleanly too.
  const shell = Number(tmux('list-panes', '-t', session, '-F', '#{pane_pid}').stdout.trim());
  const tui = Number(fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(' ')[0]);
  t.regex(fs.readFileSync(`/proc/${tui}/cmdline`, 'utf8'), /bin\/vigil\0tui/);
  process.kill(tui, 'SIGTERM');
  t.is(await exited(statusFile), '0');
  t.true(alive(second.child.pid!), 'quitting leaves a monitor it did not start alone');
  await second.stop();
  t.deepEqual(env.leftovers([]), []);
});
