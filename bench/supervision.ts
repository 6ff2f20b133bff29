/**
 * What supervision costs and how fast it sees things:
 *
 * - an exec health check (helper attached exec into the container, the check
 *   runs, the status comes back): ms per check, passing and timing out;
 * - the notify watchdog: ms from the moment a process's silence passed its
 *   interval to the monitor's "hung" verdict (the socket is polled every
 *   100 ms, so up to that is expected), taken from the process's own
 *   CLOCK_MONOTONIC stamp of its last ping versus the monitor's verdict.
 *
 *   node dist/bench/supervision.js [CHECKS] [HANGS]
 */
import fs from 'node:fs';
import path from 'node:path';
import { runHealthCheck } from '../src/launcher/health-exec.js';
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../test/helpers/kernel-env.js';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main(): Promise<void> {
  const checks = Number(process.argv[2] ?? 50);
  const hangs = Number(process.argv[3] ?? 5);
  const env = new KernelEnv('bench-supervision');
  try {
    const spec = (timeout: string, exec: string[]) => env.spec('hc', [{
      name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'],
      health: { exec, interval: '5s', timeout, onFailure: 'alert' },
    }]);
    const rows: Array<[string, number[]]> = [];
    for (const [label, timeout, exec] of [
      ['check passes (testbin exit 0)', '1s', [TESTBIN_IN_CONTAINER, 'exit', '0']],
      ['check times out at 50 ms, killed', '50ms', [TESTBIN_IN_CONTAINER, 'sleep', '30']],
    ] as Array<[string, string, string[]]>) {
      if (env.cli('run', env.writeSpec('hc', spec(timeout, exec))).status !== 0) throw new Error('vigil run failed');
      const times: number[] = [];
      for (let i = 0; i < checks; i++) {
        const state = env.store.read('hc');
        const t0 = process.hrtime.bigint();
        await runHealthCheck(env.store, state, 'svc');
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      rows.push([label, times]);
      env.cli('rm', '-f', 'hc');
    }
    console.log(`\nExec health check, ${checks} runs each (ms)\n`);
    console.log('| check | p50 | p99 |');
    console.log('| --- | --- | --- |');
    for (const [label, xs] of rows) console.log(`| ${label} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} |`);

    const shared = path.join(env.root, 'shared');
    fs.mkdirSync(shared);
    const monitor = env.startMonitor();
    await monitor.waitFor((l) => l.kind === 'monitor');
    const lags: number[] = [];
    for (let i = 0; i < hangs; i++) {
      const name = `wd${i}`;
      const s = env.spec(name, [{ name: 'hb', command: [TESTBIN_IN_CONTAINER, 'notify', '50', '10'], watchdog: { interval: '300ms' }, restart: 'never' }]) as { mounts: unknown[] };
      if (env.cli('run', env.writeSpec(name, s)).status !== 0) throw new Error('vigil run failed');
      const from = monitor.lines.length;
      const hung = await monitor.waitFor((l) => l.kind === 'health' && l.container === name && l.status === 'hung', 15_000, from);
      // "no WATCHDOG=1 for N ms (interval 300 ms)": N - 300 is how late the verdict came.
      const silent = Number(/no WATCHDOG=1 for (\d+) ms/.exec(hung.reason)?.[1]);
      lags.push(silent - 300);
      env.cli('rm', '-f', name);
    }
    await monitor.stop();
    console.log(`\nWatchdog: verdict after the interval ran out, ${hangs} hangs (ms; polled every 100 ms)\n`);
    console.log('| p50 | max |');
    console.log('| --- | --- |');
    console.log(`| ${pct(lags, 50).toFixed(0)} | ${Math.max(...lags).toFixed(0)} |`);
  } finally {
    env.cleanup();
  }
}

await main();
