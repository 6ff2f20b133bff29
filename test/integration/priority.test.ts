/**
 * The monitor runs at a raised priority so that host load does not delay
 * detection and recovery; what it restarts runs at the nice the monitor had,
 * never at the raised one.
 */
import fs from 'node:fs';
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { MONITOR_NICE } from '../../src/monitor/priority.js';

const { serial } = kernelSerial('monitor priority');

/** Field 19 of /proc/PID/stat: the nice value. */
function niceOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

serial('the monitor raises its own priority; a process it restarts gets the monitor\'s original nice', async (t) => {
  const env = new KernelEnv('priority');
  t.teardown(() => env.cleanup());
  const file = env.writeSpec('prio', env.spec('prio', [{ name: 'svc', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: { policy: 'always', backoff: { initial: '0ms' } } }]));
  env.ok(t, 'run', file);
  const first = env.inspect(t, 'prio').processes[0].pid!;
  t.is(niceOf(first), niceOf(process.pid), 'the CLI start keeps the caller\'s nice');
  const monitor = env.startMonitor();
  const ready = await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
  t.regex(ready.reason, new RegExp(`running at nice ${MONITOR_NICE}`));
  t.is(niceOf(monitor.child.pid!), MONITOR_NICE);
  const from = monitor.lines.length;
  process.kill(first, 'SIGKILL');
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'prio', 10_000, from);
  t.is(niceOf(restart.pid!), niceOf(process.pid), 'the restarted process does not inherit the monitor\'s raise');
  await monitor.stop();
});
