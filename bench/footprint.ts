/**
 * Start latency and management memory of vigil alone (issue 8's peers are not
 * in this table yet).
 *
 * Start: `vigil run SPEC` issued -> the container's first process running,
 * seen as the moment that process opens a FIFO bound in from the host.
 * Interleaved with `node -e 0` (Node's own boot) and `vigil ps` (Node plus
 * loading the CLI and reading state), so the rest of `vigil run` is the
 * launch itself.
 *
 * Memory: PSS of the monitor with 0, 1, 10 and 50 idle containers, and of the
 * one thing vigil keeps per container (vigil-init, inside the container).
 *
 *   node dist/bench/footprint.js [ROUNDS] [MAX_CONTAINERS]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KernelEnv, VIGIL } from '../test/helpers/kernel-env.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function range(xs: number[]): string {
  return `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
}

function pssMiB(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? NaN);
  return kib / 1024;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** `vigil run` of a one-process container that opens a FIFO: ms until it does. */
async function startOnce(env: KernelEnv, round: number, fifoDir: string): Promise<number> {
  const fifo = path.join(fifoDir, 'ready');
  fs.rmSync(fifo, { force: true });
  spawnSync('mkfifo', [fifo]);
  const name = `start${round}`;
  const spec = env.writeSpec(name, {
    name,
    mounts: [{ source: fifoDir, target: '/run/out', readonly: false }],
    processes: [{ name: 'first', command: ['/bin/sh', '-c', 'echo up > /run/out/ready; exec sleep 600'] }],
  });
  const start = process.hrtime.bigint();
  const run = spawn(process.execPath, [VIGIL, 'run', spec], { env: env.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  run.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => run.once('exit', resolve));
  // Opening a FIFO for reading returns once the writer (the first process) opened it.
  const opened = fs.promises.open(fifo, 'r');
  const first = await Promise.race([opened, exited.then((status) => ({ status }))]);
  if ('status' in first && first.status !== 0) {
    // Unblock the pending open so the process can exit, then report.
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // no reader waiting after all
    }
    throw new Error(`vigil run exited ${first.status}: ${stderr.trim()}`);
  }
  const handle = await opened;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await handle.close();
  await exited;
  env.cli('rm', '-f', name);
  return ms;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 10);
  const maxContainers = Number(process.argv[3] ?? 50);
  const env = new KernelEnv('footprint');
  try {
    const fifoDir = fs.mkdtempSync(path.join(env.root, 'fifo-'));
    const nodeBoot: number[] = [];
    const cliRead: number[] = [];
    const firstProcess: number[] = [];
    for (let i = 0; i < rounds; i++) {
      nodeBoot.push(timed(process.execPath, ['-e', '0'], env.env));
      cliRead.push(timed(process.execPath, [VIGIL, 'ps'], env.env));
      firstProcess.push(await startOnce(env, i, fifoDir));
    }
    console.log(`\nStart, ${rounds} interleaved rounds (ms)\n`);
    console.log('| measure | median | range |');
    console.log('| --- | --- | --- |');
    console.log(`| node -e 0 (Node's boot) | ${median(nodeBoot).toFixed(1)} | ${range(nodeBoot)} |`);
    console.log(`| vigil ps (boot + CLI + state) | ${median(cliRead).toFixed(1)} | ${range(cliRead)} |`);
    console.log(`| vigil run -> first process running | ${median(firstProcess).toFixed(1)} | ${range(firstProcess)} |`);
    console.log(`| launch itself (run − ps) | ${(median(firstProcess) - median(cliRead)).toFixed(1)} | |`);

    const monitor = env.startMonitor();
    await monitor.waitFor((l) => l.kind === 'monitor');
    const rows: string[] = [];
    let running = 0;
    for (const target of [0, 1, 10, 50].filter((n) => n <= maxContainers)) {
      for (; running < target; running++) {
        const r = env.cli('run', '--name', `idle${running}`, '--', '/bin/sleep', 'infinity');
        if (r.status !== 0) throw new Error(r.stderr);
      }
      await new Promise((r) => setTimeout(r, 1500)); // let the monitor settle (watch, reconcile)
      const inits = env.store.list().map((s) => s.init!.pid);
      const initPss = inits.reduce((sum, pid) => sum + pssMiB(pid), 0);
      rows.push(`| ${target} | ${pssMiB(monitor.child.pid!).toFixed(1)} | ${initPss.toFixed(2)} | ${target ? (initPss / target).toFixed(3) : '–'} |`);
    }
    await monitor.stop();
    console.log('\nManagement memory, idle containers (PSS, MiB)\n');
    console.log('| containers | vigil monitor | vigil-init, all | vigil-init, each |');
    console.log('| --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
  } finally {
    env.cleanup();
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
