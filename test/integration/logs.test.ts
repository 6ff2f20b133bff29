/**
 * Log rotation on a live process: the process writes its log itself (its
 * stdout is the file, O_APPEND); the monitor, `vigil ps` and `vigil logs`
 * rotate it by copy and truncate, and the process goes on writing to the same
 * file from offset 0, with no hole and nothing reordered.
 */
import test from 'ava';
import fs from 'node:fs';
import { generation } from '../../src/state/log-rotation.js';
import { KernelEnv, until } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('log rotation tests');

const env = missing ? null! : new KernelEnv('logs');
test.after.always(() => env?.cleanup());


const WRITER = 'i=0; while :; do i=$((i+1)); echo "line $i ........................................"; sleep 0.002; done';

serial('the monitor rotates a growing log at maxSize; the process keeps writing to the same file, from offset 0', async (t) => {
  env.ok(t, 'run', env.writeSpec('chatty', { name: 'chatty', logs: { maxSize: '8K', keep: 2 }, processes: [{ name: 'talk', command: ['/bin/sh', '-c', WRITER] }] }));
  const file = env.store.logFile('chatty', 'talk');
  const pid = env.inspect(t, 'chatty').processes[0].pid!;
  const monitor = env.startMonitor();
  try {
    await until('generation 2', () => fs.existsSync(generation(file, 2)));
  } finally {
    await monitor.stop();
  }
  t.is(env.inspect(t, 'chatty').processes[0].pid, pid, 'the same process, never restarted');
  t.is(fs.readlinkSync(`/proc/${pid}/fd/1`), file, 'its stdout is still the log file itself (no relay, not a renamed file)');
  for (const f of [file, generation(file, 1), generation(file, 2)]) {
    const bytes = fs.readFileSync(f);
    t.false(bytes.includes(0), `${f} has no hole`);
  }
  t.false(fs.existsSync(generation(file, 3)), 'keep: 2');
  // vigil logs shows the generations oldest first: line numbers only go up.
  const out = env.ok(t, 'logs', 'chatty', 'talk');
  const numbers = [...out.matchAll(/^line (\d+) /gm)].map((m) => Number(m[1]));
  t.true(numbers.length > 100, `${numbers.length} lines`);
  t.true(numbers.every((n, i) => i === 0 || n > numbers[i - 1]), 'in order');
  env.ok(t, 'rm', '-f', 'chatty');
  t.deepEqual(env.leftovers(['chatty']), []);
});

serial('without a monitor, vigil ps and vigil logs rotate when they run', async (t) => {
  env.ok(t, 'run', env.writeSpec('quiet', { name: 'quiet', logs: { maxSize: '4K', keep: 1 }, processes: [{ name: 'talk', command: ['/bin/sh', '-c', WRITER] }] }));
  const file = env.store.logFile('quiet', 'talk');
  await until('4K written', () => fs.existsSync(file) && fs.statSync(file).size >= 4096);
  t.false(fs.existsSync(generation(file, 1)));
  env.ok(t, 'ps');
  t.true(fs.existsSync(generation(file, 1)), 'vigil ps rotated it');
  await until('4K more', () => fs.statSync(file).size >= 4096);
  const first = fs.readFileSync(generation(file, 1), 'utf8');
  const tail = env.ok(t, 'logs', 'quiet', '--tail', '3');
  t.not(fs.readFileSync(generation(file, 1), 'utf8'), first, 'vigil logs rotated it again');
  t.is(tail.split('\n').filter(Boolean).length, 3);
  env.ok(t, 'rm', '-f', 'quiet');
  t.deepEqual(env.leftovers(['quiet']), []);
});
