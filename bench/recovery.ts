/**
 * Detection and recovery latency, measured from the kernel's own exit
 * timestamps: a business process is SIGKILLed N times from the host while
 * `vigil monitor` runs; the monitor reports kernel exit -> decision
 * (detection) and kernel exit -> replacement running (recovery). Restart
 * back-off is 0 ms here, so recovery is vigil's own cost. The rounds run
 * twice: on an idle host, then under a fork/exit storm outside the container.
 *
 *   node dist/bench/recovery.js [N]      (npm run bench)
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
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
    let pid = (JSON.parse(env.cli('inspect', 'bench').stdout) as { processes: Array<{ pid: number }> }).processes[0].pid;
    const measure = async () => {
      const detection: number[] = [];
      const recovery: number[] = [];
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
      return { detection: detection.sort((a, b) => a - b), recovery: recovery.sort((a, b) => a - b) };
    };
    const idle = await measure();
    // Host load: a fork/exit storm outside the container (in this process's
    // cgroup, which the tracer does not watch), one shell loop per core.
    const storm = os.cpus().map(() => spawn('/bin/sh', ['-c', 'while :; do /bin/true; done'], { stdio: 'ignore' }));
    let loaded;
    try {
      await new Promise((r) => setTimeout(r, 200));
      loaded = await measure();
    } finally {
      for (const child of storm) child.kill('SIGKILL');
    }
    await monitor.stop();
    const row = (name: string, xs: number[]) =>
      `| ${name.padEnd(56)} | ${quantile(xs, 0.5).toFixed(2).padStart(7)} | ${quantile(xs, 0.99).toFixed(2).padStart(7)} | ${xs[xs.length - 1].toFixed(2).padStart(7)} |`;
    console.log(`\n${rounds} SIGKILLs of one business process per row, back-off 0 ms (ms)\n`);
    console.log(`| ${'measure'.padEnd(56)} | ${'p50'.padStart(7)} | ${'p99'.padStart(7)} | ${'max'.padStart(7)} |`);
    console.log(`|${'-'.repeat(58)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(9)}|`);
    console.log(row('detection: kernel exit -> decision', idle.detection));
    console.log(row('recovery: kernel exit -> replacement running', idle.recovery));
    console.log(row(`detection, host fork/exit storm (${storm.length} loops)`, loaded.detection));
    console.log(row(`recovery, host fork/exit storm (${storm.length} loops)`, loaded.recovery));
  } finally {
    env.cleanup();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
