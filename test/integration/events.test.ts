/**
 * The journal, `vigil events` and the monitor's control socket, with a real
 * monitor and real containers: records of kills and restarts in seq order,
 * --since, --follow, a torn journal tail, seq across monitor restarts,
 * snapshot, operator restart and stop over the socket, a non-root peer, and
 * a subscriber that never reads.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { ControlClient } from '../../src/control/client.js';
import { controlSocketPath, type ServerMessage } from '../../src/control/protocol.js';
import { encodeFrame, FrameStream } from '../../src/journal/frame.js';
import { CURRENT_SEGMENT, journalDir, JournalWriter, readJournal, type JournalRecord } from '../../src/journal/journal.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, until as waitUntil, VIGIL, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('events and control socket tests');

const env = missing ? null! : new KernelEnv('events');
let monitor: MonitorProcess;
const followers = new Set<ChildProcess>();
test.after.always(() => {
  for (const f of followers) f.kill('SIGKILL');
  env?.cleanup();
});

const fast = { policy: 'always', backoff: { initial: '10ms' } };

test.before(async () => {
  if (missing) return;
  const file = env.writeSpec('svc', env.spec('svc', [
    { name: 'api', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
    { name: 'worker', command: [TESTBIN_IN_CONTAINER, 'serve'], restart: fast },
  ]));
  const r = env.cli('run', file);
  if (r.status !== 0) throw new Error(r.stderr);
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
});

function events(...args: string[]): JournalRecord[] {
  const r = env.cli('events', '--json', ...args);
  if (r.status !== 0) throw new Error(`vigil events exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalRecord);
}

function pidOf(t: Parameters<typeof env.inspect>[0], name: string): number {
  return env.inspect(t, 'svc').processes.find((p) => p.name === name)!.pid!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = <T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> => waitUntil(what, probe, timeoutMs);


/** `vigil events --follow --json` as a child, its records and stderr collected. */
function follow(...args: string[]): { child: ChildProcess; records: JournalRecord[]; stderr: () => string } {
  const child = spawn(process.execPath, [VIGIL, 'events', '--follow', '--json', ...args], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  followers.add(child);
  child.on('exit', () => followers.delete(child));
  const records: JournalRecord[] = [];
  let stderr = '';
  readline.createInterface({ input: child.stdout! }).on('line', (l) => records.push(JSON.parse(l) as JournalRecord));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, records, stderr: () => stderr };
}

function assertContiguous(t: Parameters<typeof env.inspect>[0], records: JournalRecord[], what: string): void {
  for (let i = 1; i < records.length; i++) if (records[i].seq !== records[i - 1].seq + 1) t.fail(`${what}: seq ${records[i - 1].seq} is followed by ${records[i].seq}`);
}

serial('a kill is journaled as signal, exit and restart with increasing seq; vigil events --json shows them', async (t) => {
  const pid = pidOf(t, 'api');
  process.kill(pid, 'SIGKILL');
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'api');
  const all = events();
  t.true(all.length >= 4);
  assertContiguous(t, all, 'vigil events');
  t.is(all[0].seq, 1);
  const exit = all.find((r) => r.kind === 'exit' && r.pid === pid)!;
  t.truthy(exit, 'the exit is in the journal');
  t.is(exit.container, 'svc');
  t.is(exit.process, 'api');
  t.is(exit.signal, 'SIGKILL');
  t.is(exit.action, 'restart');
  t.regex(exit.reason, /always, attempt 1, next in/);
  t.false(Number.isNaN(Date.parse(exit.time)));
  const restarted = all.find((r) => r.kind === 'restart' && r.process === 'api')!;
  t.true(restarted.seq > exit.seq);
  t.is(restarted.pid, restart.pid);
  const signal = all.find((r) => r.kind === 'signal' && r.pid === pid)!;
  t.true(signal.seq < exit.seq);
  t.is(signal.signal, 'SIGKILL', 'a signal record names its signal as an exit does');
  t.regex(signal.reason, /got SIGKILL from/);
  // The monitor's own lines carry the journal's numbers.
  t.is(restart.seq, restarted.seq);
  // Human lines: seq, time, kind, who, reason.
  const human = env.ok(t, 'events');
  t.regex(human, new RegExp(`\\s${exit.seq} \\S+Z exit\\s+svc/api pid ${pid}: killed by SIGKILL`));
});

serial('--since takes a seq (that one and later) or a time; bad values are usage errors', (t) => {
  const all = events();
  const exit = all.find((r) => r.kind === 'exit')!;
  t.deepEqual(events('--since', String(exit.seq)).map((r) => r.seq), all.filter((r) => r.seq >= exit.seq).map((r) => r.seq));
  t.deepEqual(events('--since', String(all[all.length - 1].seq + 1000)), []);
  const byTime = events('--since', exit.time);
  t.true(byTime.length > 0);
  t.true(byTime.every((r) => Date.parse(r.time) >= Date.parse(exit.time)));
  t.true(byTime.some((r) => r.seq === exit.seq));
  t.deepEqual(events('--since', '1h').map((r) => r.seq), all.map((r) => r.seq));
  const bad = env.cli('events', '--since', 'last tuesday');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /option --since expects a seq/);
  t.is(env.cli('events', 'extra').status, 2);
});

serial('--follow sees a live exit, after the history', async (t) => {
  const f = follow();
  const last = events().at(-1)!.seq;
  await until('the history', () => f.records.some((r) => r.seq === last));
  const pid = pidOf(t, 'worker');
  process.kill(pid, 'SIGKILL');
  const exit = await until('a live exit', () => f.records.find((r) => r.kind === 'exit' && r.pid === pid));
  t.is(exit.process, 'worker');
  await until('the restart', () => f.records.find((r) => r.kind === 'restart' && r.process === 'worker'));
  assertContiguous(t, f.records, '--follow');
  t.is(f.stderr(), '', 'a monitor runs: nothing to say');
  f.child.kill('SIGTERM');
});

serial('the control socket is root-only (0600 in a 0700 directory) and gives a snapshot', async (t) => {
  const sock = controlSocketPath(env.root);
  t.is(fs.statSync(sock).mode & 0o777, 0o600);
  t.is(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
  const client = await ControlClient.connect(env.root);
  try {
    const snap = await client.snapshot();
    t.is(snap.monitor.pid, monitor.child.pid!);
    t.is(snap.monitor.version, JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version);
    t.true(snap.monitor.uptimeMs >= 0);
    t.regex(snap.monitor.tracerDrops, /^\d+$/);
    t.is(snap.monitor.lastSeq, events().at(-1)!.seq);
    t.false(Number.isNaN(Date.parse(snap.monitor.lastEventAt!)));
    const svc = snap.containers.find((c) => c.name === 'svc')!;
    t.is(svc.state, 'running');
    t.deepEqual(svc.processes.map((p) => [p.name, p.state, p.pid]), env.inspect(t, 'svc').processes.map((p) => [p.name, p.state, p.pid]));
    await t.throwsAsync(client.request({ type: 'restart', container: '' } as never), { message: 'container: expected a container name' });
    await t.throwsAsync(client.restart('nope'), { message: /no container named "nope"/ });
  } finally {
    client.close();
  }
});

serial('a non-root peer is refused by its credentials, even one that may open the socket', async (t) => {
  const script = `import(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist/src/control/client.js'))}).then(async ({ ControlClient }) => {
    const c = await ControlClient.connect(${JSON.stringify(env.root)});
    try { await c.snapshot(); console.log('ANSWERED'); } catch (e) { console.log('REFUSED ' + e.message); }
    c.close();
  }).catch((e) => console.log('CONNECT ' + e.code));`;
  const asNobody = (caps: string[]) => spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...caps, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  // Without privileges the directory's mode already keeps it out.
  t.regex(asNobody([]).stdout, /^CONNECT EACCES/);
  // With CAP_DAC_OVERRIDE it can connect; SO_PEERCRED still says uid 65534.
  const r = asNobody(['--inh-caps=+dac_override', '--ambient-caps=+dac_override']);
  t.regex(r.stdout, /^REFUSED the monitor refused this connection: uid 65534 may not use the monitor's control socket/, r.stderr);
  await monitor.waitFor((l) => l.kind === 'monitor' && /refused pid \d+ \(uid 65534\): only root may connect/.test(l.reason));
  t.pass();
});

serial('restart and stop over the socket go through the launcher as operator intent; a stop is not answered by a restart', async (t) => {
  const client = await ControlClient.connect(env.root);
  try {
    const before = pidOf(t, 'api');
    const from = monitor.lines.length;
    const restarted = (await client.restart('svc', 'api')) as { seq: number; container: { processes: Array<{ name: string; pid: number; state: string }> } };
    const api = restarted.container.processes.find((p) => p.name === 'api')!;
    t.is(api.state, 'running');
    t.not(api.pid, before);
    t.is(pidOf(t, 'api'), api.pid);
    // The old process's exit is reported once, as the operator's, even when
    // the kernel's event comes after the new process was recorded.
    const oldExit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === before, 10_000, from);
    t.is(oldExit.action, 'leave');
    t.is(oldExit.exitReason, 'operator');
    const asked = await monitor.waitFor((l) => l.kind === 'operator' && l.process === 'api' && /operator restart of svc\/api asked over the control socket/.test(l.reason), 10_000, from);
    const done = await monitor.waitFor((l) => l.kind === 'start' && l.process === 'api', 10_000, from);
    t.true(done.seq > asked.seq);
    t.is(done.pid, api.pid);
    t.is(done.seq, restarted.seq);
    await sleep(300);
    t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.process === 'api'), 'the operator\'s restart is not doubled by an automatic one');
    t.is(pidOf(t, 'api'), api.pid);

    const from2 = monitor.lines.length;
    await client.stop('svc', 'api', 1000);
    t.is(env.inspect(t, 'svc').processes.find((p) => p.name === 'api')!.state, 'stopped');
    const stopExit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === api.pid, 10_000, from2);
    t.is(stopExit.action, 'leave');
    t.is(stopExit.exitReason, 'operator');
    await sleep(500);
    t.false(monitor.lines.slice(from2).some((l) => l.kind === 'restart' && l.process === 'api'), 'no automatic restart answers the stop');
    t.is(env.inspect(t, 'svc').processes.find((p) => p.name === 'api')!.state, 'stopped');
    const since = events('--since', String(restarted.seq));
    const journaled = since.map((r) => r.kind);
    t.true(journaled.includes('operator') && journaled.includes('stop'));
    t.is(since.filter((r) => r.kind === 'operator' && /operator stop of svc\/api asked/.test(r.reason)).length, 1, 'the stop is asked once');
    t.false(since.some((r) => /on the command line/.test(r.reason)), 'the monitor\'s own child (vigil stop) adds no record of its own');
    env.ok(t, 'start', 'svc', 'api');
  } finally {
    client.close();
  }
});

serial('across a monitor restart: seq continues, a torn tail is cut, followers and subscribers resume without gaps', async (t) => {
  const client = await ControlClient.connect(env.root);
  const live: JournalRecord[] = [];
  client.on('event', (r) => live.push(r));
  await client.subscribe(0);
  const beforeLast = events().at(-1)!.seq;
  await until('the backlog', () => live.some((r) => r.seq === beforeLast));
  const closed = new Promise((r) => client.once('close', r));
  t.is(await monitor.stop('SIGTERM'), 0);
  await closed;
  const lastGood = events().at(-1)!.seq;
  t.true(lastGood > beforeLast, 'the monitor journaled its stop');

  // With no monitor: --follow says so on stderr and waits on the journal.
  const f = follow('--since', String(lastGood));
  await until('the no-monitor notice', () => /no monitor is running for .*: following the journal file/.test(f.stderr()));
  t.deepEqual(f.records.map((r) => r.seq), [lastGood]);

  // A monitor killed mid-write left half a frame.
  const file = path.join(journalDir(env.root), CURRENT_SEGMENT);
  const torn = encodeFrame({ seq: lastGood + 1, time: new Date().toISOString(), kind: 'exit', container: 'svc', process: 'api', pid: 1, reason: 'torn' });
  fs.appendFileSync(file, torn.subarray(0, torn.length - 7));
  t.deepEqual(events().map((r) => r.seq).slice(-1), [lastGood], 'readers never misread a torn frame');

  monitor = env.startMonitor();
  const cut = await monitor.waitFor((l) => l.kind === 'monitor' && /journal: cut/.test(l.reason));
  t.is(cut.seq, lastGood + 1);
  t.regex(cut.reason, new RegExp(`cut ${torn.length - 7} byte\\(s\\) off its tail \\(a frame cut short\\); numbering continues after seq ${lastGood}`));
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));

  // A subscriber resumes from the last seq it saw.
  const again = await ControlClient.connect(env.root);
  const resumed: JournalRecord[] = [];
  again.on('event', (r) => resumed.push(r));
  await again.subscribe(live.at(-1)!.seq);
  const pid = pidOf(t, 'worker');
  process.kill(pid, 'SIGKILL');
  await until('the live exit', () => resumed.find((r) => r.kind === 'exit' && r.pid === pid));
  again.close();
  const joined = [...live, ...resumed];
  assertContiguous(t, joined, 'subscription across a monitor restart');
  t.is(joined[0].seq, 1);
  t.false(joined.some((r) => r.reason === 'torn'));

  // The follower switched from the journal to the new monitor's socket and saw it all.
  await until('the follower', () => f.records.find((r) => r.kind === 'exit' && r.pid === pid));
  assertContiguous(t, f.records, 'follower across a monitor restart');
  f.child.kill('SIGTERM');
  const all = events();
  assertContiguous(t, all, 'the journal');
  t.is(all[0].seq, 1);
});

serial('a subscriber that never reads does not delay a restart, and is told what it missed', async (t) => {
  // A large history, so the subscriber's backlog alone overflows its queue.
  await monitor.stop('SIGTERM');
  const j = JournalWriter.open(journalDir(env.root));
  for (let i = 0; i < 6000; i++) j.append({ kind: 'monitor', container: null, process: null, pid: null, reason: `filler ${i} ${'f'.repeat(300)}` });
  j.close();
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));

  const stuck = net.createConnection(controlSocketPath(env.root));
  await new Promise((r) => stuck.once('connect', r));
  stuck.pause(); // never reads
  stuck.write(encodeFrame({ id: 1, type: 'subscribe', since: 0 }));
  await sleep(500);

  const pid = pidOf(t, 'worker');
  const from = monitor.lines.length;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.pid === pid, 10_000, from);
  const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'worker', 10_000, from);
  t.true(Date.now() - killedAt < 3000, `restart within 3 s of the kill, saw ${Date.now() - killedAt} ms`);
  t.true((restart.recoveryMs as number) < 2000, `recovery ${restart.recoveryMs} ms`);
  t.log(`with a stuck subscriber: detection ${exit.detectionMs} ms, recovery ${restart.recoveryMs} ms`);

  // Now it reads: all it was sent, then what it missed, covering the exit and the restart.
  const frames = new FrameStream();
  const got: ServerMessage[] = [];
  stuck.on('data', (c: Buffer) => got.push(...(frames.push(c) as ServerMessage[])));
  stuck.resume();
  const missed = await until('the missed notice', () => got.find((m) => m.type === 'missed') as Extract<ServerMessage, { type: 'missed' }> | undefined, 20_000);
  t.true(missed.from <= exit.seq && missed.to >= restart.seq, `missed ${missed.from}..${missed.to} covers ${exit.seq} and ${restart.seq}`);
  const sent = got.filter((m): m is Extract<ServerMessage, { type: 'event' }> => m.type === 'event').map((m) => m.event.seq);
  t.true(sent.length > 1000);
  t.is(sent.at(-1)! + 1, missed.from, 'what it was sent and what it missed meet with no gap');
  t.false(sent.includes(exit.seq));
  t.log(`the stuck subscriber was sent ${sent.length} records and missed ${missed.from}..${missed.to}`);
  stuck.destroy();
});

// Found by trying to break it: with no monitor running, an operator's command left no trace in the journal.
serial('without a monitor, vigil stop, start and restart journal the operator\'s intent themselves; a new monitor numbers on', async (t) => {
  t.is(await monitor.stop('SIGTERM'), 0);
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  const apiPid = pidOf(t, 'api');
  env.ok(t, 'stop', '-t', '1', 'svc', 'api');
  env.ok(t, 'start', 'svc', 'api');
  const startedPid = pidOf(t, 'api');
  const again = env.cli('start', 'svc', 'api');
  t.is(again.status, 1, 'starting a running process fails');
  env.ok(t, 'restart', 'svc');
  const got = events('--since', String(last + 1));
  t.deepEqual(got.map((r) => [r.seq - last, r.kind, r.process, r.action]), [
    [1, 'operator', 'api', 'stop'], [2, 'stop', 'api', 'stop'],
    [3, 'operator', 'api', 'start'], [4, 'start', 'api', 'start'],
    [5, 'operator', 'api', 'start'], [6, 'operator', 'api', 'start'],
    [7, 'operator', null, 'restart'], [8, 'start', null, 'restart'],
  ]);
  t.regex(got[0].reason, /^operator stop of svc\/api asked on the command line \(pid \d+, no monitor running\)$/);
  t.is(got[0].pid, apiPid);
  t.is(got[1].reason, 'operator stop of svc/api done: not restarted');
  t.is(got[3].pid, startedPid, 'the start names the new pid');
  t.regex(got[5].reason, /^operator start of svc\/api failed: /);
  t.is(got[7].pid, env.inspect(t, 'svc').pid);
  monitor = env.startMonitor();
  const watching = await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
  t.true(watching.seq > got.at(-1)!.seq, 'the monitor continues the numbering after the CLI\'s records');
});

// Found by a newcomer: with a monitor running, an operator's start or restart on the command line left no record of the new pid.
serial('with a monitor running, vigil stop, start and restart hand their records to it: each once, the new pid named', async (t) => {
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  const apiPid = pidOf(t, 'api');
  env.ok(t, 'stop', '-t', '1', 'svc', 'api');
  env.ok(t, 'start', 'svc', 'api');
  const startedPid = pidOf(t, 'api');
  env.ok(t, 'restart', 'svc', 'api');
  const restartedPid = pidOf(t, 'api');
  t.not(restartedPid, startedPid);
  await sleep(500); // the old copies' exits, journaled by the monitor from the kernel's events
  const got = events('--since', String(last + 1)).filter((r) => r.kind === 'operator' || r.kind === 'start' || r.kind === 'stop');
  t.deepEqual(got.map((r) => [r.kind, r.process, r.action]), [
    ['operator', 'api', 'stop'], ['stop', 'api', 'stop'],
    ['operator', 'api', 'start'], ['start', 'api', 'start'],
    ['operator', 'api', 'restart'], ['start', 'api', 'restart'],
  ]);
  t.regex(got[0].reason, /^operator stop of svc\/api asked on the command line \(pid \d+\)$/);
  t.is(got[0].pid, apiPid);
  t.is(got[3].pid, startedPid, 'the start names the new pid');
  t.is(got[5].pid, restartedPid, 'the restart names the new pid');
  t.true(got.every((r) => r.peerPid !== undefined && r.peerPid !== process.pid), 'each names the command that asked');
  const all = events('--since', String(last + 1));
  const oldExit = all.find((r) => r.kind === 'exit' && r.pid === startedPid);
  t.is(oldExit?.action, 'leave', 'the restart\'s old copy is the operator\'s, not answered');
});

// The socket of a monitor killed with -9 stays; while another command held monitor.lock for its own record, a command took that for a monitor and lost its record.
serial('after a monitor\'s kill -9, a command contending for the lock with another still journals its own record', async (t) => {
  t.is(await monitor.stop('SIGKILL'), null);
  t.true(fs.existsSync(controlSocketPath(env.root)), 'the dead monitor\'s socket is still there');
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  // Another command's brief hold, made longer so the stop surely meets it.
  const holder = spawn('flock', [env.store.monitorLockFile, 'sleep', '0.4'], { stdio: 'ignore' });
  const held = new Promise((r) => holder.once('exit', r));
  await sleep(100);
  const r = env.cli('stop', '-t', '1', 'svc', 'api');
  await held;
  t.is(r.status, 0, r.stderr);
  t.notRegex(r.stderr, /unrecorded/);
  const got = events('--since', String(last + 1)).filter((x) => x.kind === 'operator' || x.kind === 'stop');
  t.deepEqual(got.map((x) => [x.kind, x.process, x.action]), [['operator', 'api', 'stop'], ['stop', 'api', 'stop']]);
  t.regex(got[0].reason, /no monitor running/);
  env.ok(t, 'start', 'svc', 'api');
  monitor = env.startMonitor();
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
});

// Found by breaking the operator notes: a monitor stopped (SIGSTOP) during `vigil stop` read the note once continued and journaled it, late, though the command had said the record was lost; the `stop` record never came.
serial('a note the monitor reads after its sender gave up on it is not journaled', async (t) => {
  await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  const workerPid = pidOf(t, 'worker');
  const from = monitor.lines.length;
  let r;
  const started = Date.now();
  monitor.child.kill('SIGSTOP');
  try {
    r = env.cli('stop', '-t', '1', 'svc', 'worker');
  } finally {
    monitor.child.kill('SIGCONT');
  }
  t.is(r.status, 0, r.stderr);
  t.true(Date.now() - started < 5000, 'the hung monitor is waited for once');
  t.regex(r.stderr, /did not take the record within 1000 ms; the stop goes on unrecorded/);
  await monitor.waitFor((l) => l.kind === 'exit' && l.pid === workerPid, 10_000, from);
  await sleep(500);
  const got = events('--since', String(last + 1)).filter((x) => x.kind === 'operator' || x.kind === 'stop');
  t.deepEqual(got.map((x) => [x.kind, x.process]), [], 'nothing the command said was lost turns up late');
  env.ok(t, 'start', 'svc', 'worker');
});

serial('a note naming what could be no container or process is refused, by field, and the monitor goes on', async (t) => {
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  const client = await ControlClient.connect(env.root);
  try {
    const note = { type: 'note' as const, kind: 'operator' as const, action: 'stop' as const, container: 'svc', process: null, pid: null, reason: 'by hand' };
    await t.throwsAsync(client.request({ ...note, container: 'svc\n    99 forged line' }), { code: 'ERR_BAD_REQUEST', message: /^container: expected a container name/ });
    await t.throwsAsync(client.request({ ...note, process: '../api' }), { code: 'ERR_BAD_REQUEST', message: /^process: expected a process name or null/ });
    await t.throwsAsync(client.request({ ...note, deadline: 'soon' } as never), { code: 'ERR_BAD_REQUEST', message: /^deadline: / });
    await t.throwsAsync(client.request({ ...note, deadline: Date.now() - 1 }), { message: /after its sender stopped waiting: not journaled/ });
    t.is((await client.snapshot()).monitor.pid, monitor.child.pid!, "the monitor goes on");
  } finally {
    client.close();
  }
  t.false(events('--since', String(last + 1)).some((r) => r.reason === 'by hand'));
});

// VIGIL_VIA_MONITOR=1 in an operator's shell made every start, stop and restart go unrecorded, silently.
serial('VIGIL_VIA_MONITOR set by an operator does not keep their command out of the journal', async (t) => {
  const last = readJournal(journalDir(env.root)).records.at(-1)!.seq;
  const r = spawnSync(process.execPath, [VIGIL, 'restart', '-t', '1', 'svc', 'worker'], { env: { ...env.env, VIGIL_VIA_MONITOR: '1' }, encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 0, r.stderr);
  await sleep(300);
  const got = events('--since', String(last + 1)).filter((x) => x.kind === 'operator' || x.kind === 'start');
  t.deepEqual(got.map((x) => [x.kind, x.process, x.action]), [['operator', 'worker', 'restart'], ['start', 'worker', 'restart']]);
});
