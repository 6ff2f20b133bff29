/**
 * Degraded mode on this host: VIGIL_BTF_PATH names a file that does not
 * exist, as on a kernel without BTF. `vigil doctor` explains it in plain
 * words, nothing BPF is loaded, and the monitor still detects exits (from the
 * netlink process connector) with their code or signal and restarts the
 * process: no crash. Only an exit while no monitor listens is left to
 * reconciliation (the connector keeps nothing), as doctor says.
 */
import test from 'ava';
import fs from 'node:fs';
import { KernelEnv, TESTBIN_IN_CONTAINER, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

// Before anything reads it: this file's process and every vigil it starts.
process.env.VIGIL_BTF_PATH = '/nonexistent/vigil-test/vmlinux';

const { serial, missing } = kernelSerial('degraded mode');
const env = missing ? null! : new KernelEnv('degraded');
let monitor: MonitorProcess;
test.after.always(() => env?.cleanup());

const fast = { policy: 'always', backoff: { initial: '10ms' } };

serial('vigil doctor says what degraded mode keeps and loses, and that vigil can run', (t) => {
  const r = env.cli('doctor');
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /DEGRADED\s+btf\s+no BTF type information at \/nonexistent\/vigil-test\/vmlinux \(VIGIL_BTF_PATH\), so the BPF tracer cannot load/);
  t.regex(r.stdout, /exits are still detected \(through the netlink process connector\)/);
  t.regex(r.stdout, /ok\s+exits\s+the netlink process connector can be listened to/);
  t.regex(r.stdout, /This host can run vigil in degraded mode/);
  t.notRegex(r.stdout, /MISSING/);
});

serial('a container starts with no tracer pinned; the monitor says it is degraded', async (t) => {
  const file = env.writeSpec('deg', env.spec('deg', [
    { name: 'api', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
    { name: 'crasher', command: [TESTBIN_IN_CONTAINER, 'exit', '42'], restart: { policy: 'on-failure', backoff: { initial: '10ms' }, giveUp: { deaths: 2, within: '1m', then: 'alert' } } },
  ]));
  const r = env.cli('run', file);
  t.is(r.status, 0, r.stderr);
  t.false(fs.existsSync(env.store.pinDir), 'no BPF tracer was pinned');
  monitor = env.startMonitor();
  const note = await monitor.waitFor((l) => l.kind === 'monitor' && /degraded mode/.test(l.reason));
  t.regex(note.reason, /no BTF type information/);
});

serial('exit(42) is detected with its code, restarted, then given up', async (t) => {
  const line = await monitor.waitFor((l) => l.kind === 'give-up' && l.process === 'crasher', 15_000);
  t.regex(line.reason, /2 deaths within/);
  // Its first death came before the monitor listened: the connector keeps
  // nothing, so reconciliation found it (lost). The restart's death is seen.
  const lost = monitor.lines.filter((l) => l.kind === 'lost' && l.process === 'crasher');
  const exits = monitor.lines.filter((l) => l.kind === 'exit' && l.process === 'crasher');
  t.true(lost.length <= 1, `only the death before the monitor started is left to reconciliation:\n${monitor.lines.filter((l) => l.process === 'crasher').map((l) => JSON.stringify(l)).join('\n')}`);
  t.true(exits.length >= 1);
  for (const e of exits) t.like(e, { code: 42, exitReason: 'exited' });
});

serial('SIGKILL from the host: detected from the connector, restarted', async (t) => {
  const before = env.inspect(t, 'deg').processes.find((p) => p.name === 'api')!;
  const from = monitor.lines.length;
  process.kill(before.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'api' && l.pid === before.pid, 10_000, from);
  t.like(exit, { signal: 'SIGKILL', exitReason: 'signaled', action: 'restart' });
  t.true(typeof exit.detectionMs === 'number', 'detected from an event with a kernel timestamp, not by reconciliation');
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'api', 10_000, from);
  t.not(restart.pid, before.pid);
  t.false(monitor.lines.some((l) => l.kind === 'lost' && l.process === 'api'), 'nothing of api was left to reconciliation');
  t.false(fs.existsSync(env.store.pinDir));
});
