/**
 * The real terminal around the App: the alternate screen (so the shell's
 * scrollback is left as it was), the live link to the monitor, a monitor
 * started on request as this process's child (stopped, by its pid, when the
 * TUI quits), and nothing left behind on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { render } from 'ink';
import { App, type OwnMonitor } from './app.js';
import { MonitorLink } from './link.js';
import { noColorFromEnv } from './theme.js';

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const MONITOR_STOP_WAIT_MS = 5000;

export interface TuiOptions {
  root: string;
  /** bin/vigil, to start a monitor with `m`. */
  vigilBin: string;
  /** The environment for a monitor started from here. */
  env: NodeJS.ProcessEnv;
}

export async function runTui(options: TuiOptions): Promise<number> {
  let own: ChildProcess | null = null;
  const startMonitor = (): OwnMonitor => {
    const child = spawn(process.execPath, [options.vigilBin, '--root', options.root, 'monitor'], { env: options.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const ended = new Promise<string>((resolve) => {
      child.on('error', (err) => resolve(err.message));
      child.on('exit', (code, signal) => {
        if (own === child) own = null;
        resolve(`${signal ? `killed by ${signal}` : `exit ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
      });
    });
    if (child.pid === undefined) throw new Error(`could not run ${options.vigilBin}`);
    own = child;
    return { pid: child.pid, ended };
  };
  const link = new MonitorLink(options.root);
  process.stdout.write(ENTER_ALT_SCREEN);
  try {
    const ink = render(<App link={link} root={options.root} noColor={noColorFromEnv()} startMonitor={startMonitor} />, { exitOnCtrlC: false, patchConsole: true });
    // Ended from outside (the terminal closed, kill): leave as `q` does.
    const end = () => ink.unmount();
    for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.once(s, end);
    try {
      await ink.waitUntilExit();
    } finally {
      for (const s of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.off(s, end);
    }
  } finally {
    process.stdout.write(LEAVE_ALT_SCREEN);
    link.close();
  }
  const child = own as ChildProcess | null;
  if (child && child.exitCode === null && child.signalCode === null) {
    process.stderr.write(`vigil tui: stopping the monitor it started (pid ${child.pid})\n`);
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), MONITOR_STOP_WAIT_MS);
    await gone;
    clearTimeout(timer);
  }
  return 0;
}
