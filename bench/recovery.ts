/**
 * Detection and recovery latency, measured from the kernel's own exit
 * timestamps: a business process is SIGKILLed N times from the host while
 * `vigil monitor` runs; the monitor reports kernel exit -> decision
 * (detection) and kernel exit -> replacement running (recovery). Restart
 * back-off is 0 ms here, so recovery is vigil's own cost.
 *
 *   node dist/bench/recovery.js [N]      (npm run bench)
 */
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../test/helpers/kernel-env.js';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 30);
  const env = new KernelEnv('bench');
  try {
    const spec = env.spec('bench', [{ name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: { policy: 'always', backoff: { initial: '0ms', resetAfter: '1ms', minSpacing: '0ms' } } }]);
    const run = env.cli('run', env.writeSpec('bench', spec));
    if (run.status !== 0) throw new Error(run.stderr);
    const monitor = env.startMonitor();
    await monitor.waitFor((l) => l.kind === 'monitor');
    const detection: number[] = [];
    const recovery: number[] = [];
    let pid = (JSON.parse(env.cli('inspect', 'bench').stdout) as { processes: Array<{ pid: number }> }).processes[0].pid;
    for (let i = 0; i < rounds; i++) {
      const from = monitor.lines.length;
      process.kill(pid, 'SIGKILL');
      const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === pid, 10_000, from);
      const restart = await monitor.waitFor((l) => l.kind === 'restart', 10_000, from);
      detection.push(exit.detectionMs as number);
      recovery.push(restart.recoveryMs as number);
      pid = restart.pid!;
      await new Promise((r) => setTimeout(r, 20));
    }
    await monitor.stop();
    detection.sort((a, b) => a - b);
    recovery.sort((a, b) => a - b);
    const row = (name: string, xs: number[]) =>
      `| ${name.padEnd(44)} | ${quantile(xs, 0.5).toFixed(2).padStart(7)} | ${quantile(xs, 0.99).toFixed(2).padStart(7)} | ${xs[xs.length - 1].toFixed(2).padStart(7)} |`;
    console.log(`\n${rounds} SIGKILLs of one business process, back-off 0 ms (ms)\n`);
    console.log(`| ${'measure'.padEnd(44)} | ${'p50'.padStart(7)} | ${'p99'.padStart(7)} | ${'max'.padStart(7)} |`);
    console.log(`|${'-'.repeat(46)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(9)}|`);
    console.log(row('detection: kernel exit -> decision', detection));
    console.log(row('recovery: kernel exit -> replacement running', recovery));
  } finally {
    env.cleanup();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
