/**
 * Many CLI processes at once on one state root: 20 containers created,
 * inspected and removed in parallel by separate `vigil` processes, and 8
 * racing for one name. No state file is torn or lost, every container gets
 * its own cgroup, and nothing is left behind.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { journalDir, readJournal } from '../../src/journal/journal.js';
import { KernelEnv, VIGIL, type CliResult } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('concurrency tests');

const env = missing ? null! : new KernelEnv('concurrency');
test.after.always(() => env?.cleanup());

/** A `vigil` process that runs alongside others. */
function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIGIL, ...args], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status: status ?? -1, stdout, stderr });
    });
  });
}

const N = 20;
const names = Array.from({ length: N }, (_, i) => `par-${i}`);

serial(`${N} containers created, inspected and removed by ${N} parallel CLI processes each time`, async (t) => {
  const runs = await Promise.all(names.map((n) => cli('run', '--name', n, '--restart', 'never', '--', '/bin/sleep', '600')));
  runs.forEach((r, i) => t.is(r.status, 0, `run ${names[i]}: ${r.stderr}`));

  // Every state file is whole JSON and names its own container; each has its own cgroup and a live init.
  const states = names.map((n) => JSON.parse(fs.readFileSync(path.join(env.store.containerDir(n), 'state.json'), 'utf8')));
  t.deepEqual(states.map((s) => s.name), names);
  t.is(new Set(states.map((s) => s.cgroup.id)).size, N, 'one cgroup each');
  t.is(new Set(states.map((s) => s.init.pid)).size, N, 'one init each');
  for (const s of states) t.true(fs.existsSync(`/proc/${s.processes[0].pid}`), `${s.name}'s process runs`);

  // Reads and writes interleaved: inspect, stop of one process, ps.
  const mixed = await Promise.all([
    ...names.map((n) => cli('inspect', n)),
    ...names.slice(0, 5).map((n) => cli('stop', '-t', '0', n, 'sleep')),
    cli('ps', '--json'),
  ]);
  mixed.forEach((r, i) => t.is(r.status, 0, `call ${i}: ${r.stderr}`));
  const ps = JSON.parse(mixed[mixed.length - 1].stdout) as Array<{ name: string; state: string }>;
  t.deepEqual(ps.map((c) => c.name).sort(), [...names].sort());
  // With no monitor each stop journals itself; five at once wait out each other's hold of monitor.lock.
  const journaled = readJournal(journalDir(env.root)).records;
  t.deepEqual(journaled.map((r) => r.seq), journaled.map((_, i) => i + 1), 'one journal, numbered without gaps');
  for (const n of names.slice(0, 5)) {
    t.deepEqual(journaled.filter((r) => r.container === n).map((r) => r.kind), ['operator', 'stop'], `${n}'s stop is journaled`);
  }

  const rms = await Promise.all(names.map((n) => cli('rm', '-f', n)));
  rms.forEach((r, i) => t.is(r.status, 0, `rm ${names[i]}: ${r.stderr}`));
  t.deepEqual(env.store.names(), []);
  t.deepEqual(env.leftovers(names), []);
  for (const s of states) t.false(fs.existsSync(`/proc/${s.init.pid}`) && !/ Z /.test(readStat(s.init.pid)), `${s.name}'s init is gone`);
});

function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ' Z ';
  }
}

serial('8 CLI processes racing to create one name: exactly one wins, the rest are told it exists', async (t) => {
  const results = await Promise.all(Array.from({ length: 8 }, () => cli('run', '--name', 'contested', '--', '/bin/sleep', '600')));
  const winners = results.filter((r) => r.status === 0);
  t.is(winners.length, 1, results.map((r) => r.stderr).join(''));
  for (const r of results.filter((x) => x.status !== 0)) {
    t.is(r.status, 1);
    t.regex(r.stderr, /a container named "contested" already exists/);
  }
  t.is(env.inspect(t, 'contested').state, 'running');
  env.ok(t, 'rm', '-f', 'contested');
  t.deepEqual(env.leftovers(['contested']), []);
});
