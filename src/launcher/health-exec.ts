/**
 * Run one exec health check inside a container, through the same helper path
 * as `vigil exec` (attached: the helper waits and reports the status), as the
 * process's user, in its cwd, with its environment. A check that outlives its
 * timeout is killed with SIGKILL (it is the helper's child: found through
 * /proc/HELPER/task/HELPER/children, since the helper forwards only polite
 * signals) and counts as failed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { HELPER_PATH } from '../paths.js';
import type { CheckResult } from '../policy/health.js';
import type { ContainerState, Store } from '../state/store.js';
import { signalName } from '../util/signals.js';
import { encodeConfig } from './helper.js';
import { execConfig, processSpecOf } from './container.js';

/** What a check printed is kept for inspect and the journal, this much of it. */
const OUTPUT_LIMIT = 200;
/** After the kill, how long the helper may take to report before it is killed too. */
const REPORT_GRACE_MS = 2000;
/** Until the helper reports, the kill is repeated this often (the check may not be forked yet). */
const KILL_RETRY_MS = 20;

export function runHealthCheck(store: Store, state: ContainerState, processName: string): Promise<CheckResult> {
  const spec = processSpecOf(state, processName);
  const health = spec.health;
  if (!health) return Promise.resolve({ ok: false, detail: 'no health check in the spec' });
  let config;
  try {
    // No VIGIL_PROCESS: a check must never be taken for the process itself (monitor/adopt.ts).
    config = execConfig(state, health.exec, { env: { ...spec.env, VIGIL_HEALTH_CHECK: processName }, cwd: spec.cwd, user: spec.user, log: store.logFile(state.name, processName), process: spec });
  } catch (err) {
    return Promise.resolve({ ok: false, detail: `could not run: ${(err as Error).message}` });
  }
  config.push(['attach', '1'], ['stdin_fd', '3'], ['stdout_fd', '4'], ['stderr_fd', '5']);
  return new Promise((resolve) => {
    const devNull = fs.openSync('/dev/null', 'r');
    const child = spawn(HELPER_PATH, ['exec'], { stdio: ['pipe', 'pipe', 'pipe', devNull, 'pipe', 'pipe'] });
    fs.closeSync(devNull);
    let answer = '';
    let helperErr = '';
    let output = '';
    let timedOut = false;
    let done = false;
    const keep = (d: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += d.toString('utf8');
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (answer += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (helperErr += d));
    const stdio = child.stdio as unknown as Array<(NodeJS.ReadableStream & { destroy(): void }) | null>;
    stdio[4]!.on('data', keep);
    stdio[5]!.on('data', keep);
    let killer: NodeJS.Timeout | undefined;
    let lastResort: NodeJS.Timeout | undefined;
    const said = () => {
      const text = output.trim().replace(/\s+/g, ' ').slice(0, OUTPUT_LIMIT);
      return text ? ` (${JSON.stringify(text)})` : '';
    };
    const finish = (result: CheckResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(killer);
      clearTimeout(lastResort);
      // What the killed check left behind may still hold its output pipes: do not wait for them.
      for (const s of stdio) s?.destroy();
      resolve(result);
    };
    const timedOutResult = () => ({ ok: false, detail: `timed out after ${health.timeout} ms, killed${said()}` });
    const timer = setTimeout(() => {
      timedOut = true;
      // The check may not be forked yet: try until the helper reports.
      killChildrenOf(child.pid!);
      killer = setInterval(() => killChildrenOf(child.pid!), KILL_RETRY_MS);
      lastResort = setTimeout(() => {
        child.kill('SIGKILL');
        finish(timedOutResult());
      }, REPORT_GRACE_MS);
    }, health.timeout);
    child.on('error', (err) => finish({ ok: false, detail: `could not run: ${err.message}` }));
    child.on('exit', () => {
      if (timedOut) finish(timedOutResult());
    });
    child.on('close', (status) => {
      if (timedOut) return finish(timedOutResult());
      let a: Record<string, unknown>;
      try {
        a = JSON.parse(answer.trim().split('\n').pop() ?? '');
      } catch {
        return finish({ ok: false, detail: `could not run: the helper ended with status ${status} (${helperErr.trim() || 'no output'})` });
      }
      if (a.ok !== true) return finish({ ok: false, detail: `could not run: ${String(a.step)}: ${String(a.errno)} ${String(a.message ?? '')}`.trim() });
      if (typeof a.signal === 'number') return finish({ ok: false, detail: `killed by ${signalName(a.signal)}${said()}` });
      const code = Number(a.exitCode ?? 0);
      finish({ ok: code === 0, detail: `exit ${code}${said()}` });
    });
    child.stdin!.end(encodeConfig(config));
  });
}

/**
 * SIGKILL every child of `pid` (the attached check is the helper's only
 * child) and its process group (the check leads a session of its own), so
 * what the check started dies with it.
 */
function killChildrenOf(pid: number): void {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // The helper is gone already: its close event reports what happened.
  }
  for (const c of children) {
    for (const target of [-c, c]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // ended meanwhile, or no group of its own yet
      }
    }
  }
}
