/**
 * The demo: a monitor and a container of three business processes, then three
 * real faults (a SIGKILL from the host, a SIGSEGV crash, an OOM kill), each
 * detected by the BPF tracer and recovered by the monitor, and a summary with
 * latencies measured from the kernel's own timestamps.
 *
 * It runs in a private state root and cgroup parent and removes everything it
 * made on the way out, even when interrupted.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { detectLayout, resolveParent } from '../launcher/cgroups.js';
import { PACKAGE_ROOT, TESTBIN_PATH } from '../paths.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');
const TESTBIN = '/run/vigil-demo/testbin';
const tty = process.stdout.isTTY;
const paint = (code: string, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => paint('1', s);
const dim = (s: string) => paint('2', s);

interface Line {
  kind: string;
  process: string | null;
  pid: number | null;
  reason: string;
  [k: string]: unknown;
}

interface Fault {
  title: string;
  process: string;
  signal: NodeJS.Signals;
  expect: string;
}

const FAULTS: Fault[] = [
  { title: 'SIGKILL sent from the host', process: 'api', signal: 'SIGKILL', expect: 'signaled' },
  { title: 'crash: SIGSEGV in the process', process: 'worker', signal: 'SIGUSR1', expect: 'signaled' },
  { title: 'memory limit exceeded: OOM kill', process: 'cache', signal: 'SIGUSR2', expect: 'oom-killed' },
];

async function main(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-demo-'));
  const env = { ...process.env, VIGIL_ROOT: root, VIGIL_CGROUP_PARENT: `vigil-demo-${process.pid}` };
  const vigil = (...args: string[]) => spawnSync(process.execPath, [VIGIL, ...args], { env, encoding: 'utf8' });
  const spec = {
    name: 'demo',
    limits: { memory: '64M' },
    mounts: [{ source: TESTBIN_PATH, target: TESTBIN, readonly: true }],
    restart: { policy: 'always', backoff: { initial: '10ms' } },
    processes: [
      { name: 'api', command: [TESTBIN, 'serve'] },
      { name: 'worker', command: [TESTBIN, 'serve'] },
      { name: 'cache', command: [TESTBIN, 'serve'] },
    ],
  };
  const specFile = path.join(root, 'demo.json');
  fs.writeFileSync(specFile, JSON.stringify(spec, null, 2));

  const lines: Line[] = [];
  let waiters: Array<() => void> = [];
  let showMonitor = true; // the clean-up's own stop lines would split the table from the summary
  const monitor = spawn(process.execPath, [VIGIL, 'monitor', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  readline.createInterface({ input: monitor.stdout }).on('line', (text) => {
    const l = JSON.parse(text) as Line;
    lines.push(l);
    if (showMonitor && l.kind === 'monitor') console.log(`  ${dim('monitor')} ${l.reason}`);
    else if (showMonitor && l.kind !== 'signal') console.log(`  ${dim('monitor')} ${l.kind.padEnd(7)} ${l.process ?? ''}${l.pid ? ` pid ${l.pid}` : ''}: ${l.reason}`);
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (match: (l: Line) => boolean, from: number, ms = 15_000) =>
    new Promise<Line>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the monitor did not report in time')), ms);
      const check = () => {
        const hit = lines.slice(from).find(match);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  // The container goes first, then the monitor: the last one out unpins the tracer.
  const cleanup = () => {
    vigil('rm', '-f', 'demo');
    monitor.kill('SIGTERM');
  };
  const removeCgroupParent = () => {
    const parent = resolveParent(detectLayout(), env.VIGIL_CGROUP_PARENT);
    for (const dir of [parent.v2, ...Object.values(parent.v1)]) if (fs.existsSync(dir)) fs.rmdirSync(dir);
  };
  process.once('SIGINT', () => {
    cleanup();
    removeCgroupParent();
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(130);
  });

  const results: Array<{ fault: Fault; detectedAs: string; detectionMs: number; recoveryMs: number; ok: boolean }> = [];
  try {
    console.log(bold('vigil demo: one container, three business processes, three real faults\n'));
    await waitFor((l) => l.kind === 'monitor', 0);
    const run = vigil('run', specFile);
    if (run.status !== 0) throw new Error(`vigil run failed: ${run.stderr}`);
    console.log(`  started container ${bold('demo')} (memory limit 64M) with api, worker and cache; the monitor watches it\n`);

    for (const fault of FAULTS) {
      const inspect = JSON.parse(vigil('inspect', 'demo').stdout) as { processes: Array<{ name: string; pid: number }> };
      const pid = inspect.processes.find((p) => p.name === fault.process)!.pid;
      console.log(bold(`fault: ${fault.title} (${fault.process}, pid ${pid})`));
      const from = lines.length;
      process.kill(pid, fault.signal);
      const exit = await waitFor((l) => l.kind === 'exit' && l.process === fault.process && l.pid === pid, from);
      const restart = await waitFor((l) => l.kind === 'restart' && l.process === fault.process, from);
      results.push({
        fault,
        detectedAs: `${exit.exitReason}${exit.signal ? ` ${exit.signal}` : ''}`,
        detectionMs: exit.detectionMs as number,
        recoveryMs: restart.recoveryMs as number,
        ok: exit.exitReason === fault.expect,
      });
      console.log('');
    }
    console.log(bold('vigil ps'));
    process.stdout.write(vigil('ps').stdout.replace(/^(?=.)/gm, '  '));
    console.log('');
  } finally {
    showMonitor = false;
    cleanup();
    if (monitor.exitCode === null) await new Promise((r) => monitor.once('exit', r));
    removeCgroupParent();
    fs.rmSync(root, { recursive: true, force: true });
  }

  console.log(bold('summary'));
  console.log(`  ${'fault'.padEnd(34)} ${'detected as'.padEnd(20)} ${'detection'.padStart(10)} ${'recovery'.padStart(10)}`);
  for (const r of results) {
    console.log(`  ${r.fault.title.padEnd(34)} ${r.detectedAs.padEnd(20)} ${`${r.detectionMs.toFixed(2)} ms`.padStart(10)} ${`${r.recoveryMs.toFixed(1)} ms`.padStart(10)}`);
  }
  const detected = results.filter((r) => r.ok).length;
  console.log(`\n  faults injected ${FAULTS.length}, detected ${detected}, recovered ${results.length}`);
  console.log(dim('  detection: kernel exit timestamp -> monitor decision; recovery: kernel exit timestamp -> replacement running'));
  console.log(dim('  (recovery includes each process\'s 10 ms restart back-off)'));
  return detected === FAULTS.length ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
