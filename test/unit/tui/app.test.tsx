import test, { type ExecutionContext } from 'ava';
import { render } from 'ink-testing-library';
import { App, type AppProps } from '../../../tui/app.js';
import { STALE_AFTER_MS } from '../../../tui/state.js';
import type { Usage } from '../../../tui/usage.js';
import { container, FakeLink, ManualTimers, NOW, plain, proc, record, snapshot, tick } from '../../helpers/tui-fixtures.js';

const ROOT = '/run/vigil';
const noUsage = { sample: () => new Map<string, Usage>() };

function setup(t: ExecutionContext, over: Partial<AppProps> = {}) {
  const link = new FakeLink();
  const timers = new ManualTimers();
  let now = NOW;
  const props: AppProps = { link, root: ROOT, size: { columns: 80, rows: 24 }, now: () => now, tickMs: 0, timers, usage: noUsage, readLog: () => ({ lines: ['log line one', 'log line two'], error: null }), ...over };
  const r = render(<App {...props} />);
  t.teardown(() => r.unmount());
  return {
    ...r,
    link,
    timers,
    setNow: (t: number) => (now = t),
    text: () => plain(r.lastFrame()),
    lines: () => plain(r.lastFrame()).split('\n'),
    /** Let effects subscribe, then push, flush the batch and let React draw. */
    async feed(action: () => void) {
      await tick();
      action();
      timers.advance(100);
      await tick();
    },
    /** One write per key, as a terminal sends them (a string is typed key by key). */
    async keys(...ks: string[]) {
      for (const k of ks.flatMap((x) => (x.length > 1 && !x.startsWith('\u001B') ? [...x] : [x]))) {
        r.stdin.write(k);
        await tick();
      }
    },
  };
}

const busy = () => snapshot([
  container('dispatch', [
    proc('frontend', { state: 'backing-off', pid: null, restarts: 3, lastExit: { code: null, signal: 'SIGKILL', reason: 'signaled', sender: { pid: 777, comm: 'bash', container: null }, at: new Date(NOW - 2000).toISOString() }, deaths: [new Date(NOW - 20_000).toISOString(), new Date(NOW - 2000).toISOString()] }),
    proc('historian', { pid: 4251 }),
  ]),
  container('gateway', [proc('relay', { state: 'given-up', pid: null, restarts: 5 })]),
  container('idle', [proc('noop', { state: 'stopped', pid: null })], { state: 'stopped', pid: null }),
], { lastSeq: 3, lastEventAt: new Date(NOW - 2000).toISOString() });

const busyRecords = () => [
  record(1, { kind: 'signal', process: 'frontend', reason: 'node got signal SIGKILL from pid 777 (bash, host)' }),
  record(2, { kind: 'exit', process: 'frontend', action: 'restart', delayMs: 3000, time: new Date(NOW - 1000).toISOString(), reason: 'killed by SIGKILL from pid 777 (bash, host): restart in 3000 ms (attempt 3)' }),
  record(3, { kind: 'give-up', container: 'gateway', process: 'relay', alert: true, reason: '5 deaths within 60000 ms: giving up (alert)' }),
];

async function live(s: ReturnType<typeof setup>, snap = busy(), records = busyRecords()) {
  await s.feed(() => {
    s.link.emit('status', { kind: 'live' });
    s.link.emit('snapshot', snap, NOW);
    for (const r of records) s.link.emit('record', r);
  });
}

test('empty: a live monitor with no containers and no events says so', async (t) => {
  const s = setup(t, { size: { columns: 120, rows: 30 } });
  await s.feed(() => {
    s.link.emit('status', { kind: 'live' });
    s.link.emit('snapshot', snapshot([]), NOW);
  });
  t.true(s.link.started);
  const text = s.text();
  t.regex(text, /^grid-7 · monitor pid 4000 up 2m05s · vigil 0\.1\.0 · kernel 6\.1\.0-13-amd64 · cgroup hybrid\n/);
  t.regex(text, /tracer attached, pinned · - ev\/s · drops 0 · last event none \(seq 0\)\s+LIVE/);
  t.regex(text, /Containers \(0\)/);
  t.regex(text, /no containers \(vigil run SPEC\.yaml creates one\)/);
  t.regex(text, /no events yet/);
  s.unmount();
  await tick();
  t.true(s.link.closed, 'unmounting closes the link');
});

test('populated: marks, process tree with reasons and the next restart, feed with senders', async (t) => {
  const s = setup(t);
  await live(s);
  const text = s.text();
  t.regex(text, /›~dispatch\s+running\s+1h00m\s+1\/2\s+3 /, 'backing off is marked ~');
  t.regex(text, / Xgateway\s+running/, 'given up is marked X');
  t.regex(text, /  idle\s+stopped\s+-/);
  t.regex(text, /vigil-init 4242 \(running\)/);
  t.regex(text, /›~├─ -\s+frontend\s+backing-off r3\s+restart in 2s · last: SIGKILL from bash/);
  t.regex(text, /  └─ 4251\s+historian\s+running/);
  t.regex(text, /exit\s+dispatch\/frontend 4250: killed by SIGKILL from pid 777 \(bash,…/);
  t.regex(text, /give-up\s+gateway\/relay 4250: 5 deaths/);
  t.regex(text, /256M/);
  for (const line of s.lines()) t.true(line.length <= 80, `fits 80 columns: ${JSON.stringify(line)}`);
  t.regex(s.lines().at(-1)!, /^\? help  q quit  ↑↓ move/, 'help and quit stay on an 80-column footer');
  t.true(s.lines().length <= 23, 'leaves the last row free (Ink never clears the screen)');
});

test('no monitor: says so plainly, offers m and the exact command', async (t) => {
  let started = 0;
  const s = setup(t, { startMonitor: () => ({ pid: 5151, ended: new Promise(() => undefined), ...{ started: started++ } }) });
  await s.feed(() => s.link.emit('status', { kind: 'no-monitor', message: 'no monitor is running (nothing listens at /run/vigil/control/monitor.sock)', sinceMs: NOW }));
  s.setNow(NOW + 3000);
  await s.keys('?', '?');
  const text = s.text();
  t.regex(text, /NO MONITOR \(3s\)/);
  t.regex(text, /No monitor is running for \/run\/vigil\./);
  t.regex(text, /Press m to start one here/);
  t.regex(text, /vigil --root \/run\/vigil monitor/);
  await s.keys('m');
  t.is(started, 1);
  t.regex(s.text(), /started vigil monitor \(pid 5151\); it stops when you quit/);
  t.regex(s.text(), /A monitor started from here \(pid 5151\) is coming up/);
  await s.keys('m');
  t.is(started, 1, 'one at a time');
});

test('refused (not root): says why and what to do, and offers no monitor start', async (t) => {
  const s = setup(t, { startMonitor: () => ({ pid: 1, ended: new Promise(() => undefined) }) });
  await s.feed(() => s.link.emit('status', { kind: 'refused', message: "the monitor's control socket is root only (connect EACCES)" }));
  t.regex(s.text(), /REFUSED/);
  t.regex(s.text(), /the monitor's control socket is root only \(connect EACCES\)/);
  t.regex(s.text(), /Run vigil tui as root/);
  t.notRegex(s.text(), /Press m/);
});

test('disconnected after being live: the last known state stays, marked, with the way back', async (t) => {
  const s = setup(t);
  await live(s);
  await s.feed(() => s.link.emit('status', { kind: 'disconnected', message: 'the monitor went away; reconnecting', sinceMs: NOW }));
  const text = s.text();
  t.regex(text, /DISCONNECTED \(0ms\)/);
  t.regex(text, /DISCONNECTED for 0ms: the monitor went away; reconnecting/);
  t.regex(text, /vigil --root \/run\/vigil monitor/);
  t.regex(text, /dispatch\s+running/, 'the last known containers are still shown');
  t.true(s.lines().length <= 23);
});

test('stale: LIVE until STALE_AFTER_MS without a snapshot, STALE one ms later', async (t) => {
  const s = setup(t);
  await live(s);
  s.setNow(NOW + STALE_AFTER_MS);
  await s.keys('j', 'k');
  t.regex(s.text(), /LIVE/);
  t.notRegex(s.text(), /STALE/);
  s.setNow(NOW + STALE_AFTER_MS + 1);
  await s.keys('j');
  t.regex(s.text(), /STALE \(no snapshot for 5s\)/);
});

test('narrow terminal: 40x12 fits, every line cut to the width', async (t) => {
  const s = setup(t, { size: { columns: 40, rows: 12 } });
  await live(s);
  const lines = s.lines();
  t.true(lines.length <= 11, `${lines.length} lines`);
  for (const line of lines) t.true(line.length <= 40, `fits 40 columns: ${JSON.stringify(line)}`);
  t.regex(s.text(), /dispatch/);
});

test('a larger terminal shows more: whole reasons and more of the feed', async (t) => {
  const many = Array.from({ length: 30 }, (_, i) => record(10 + i, { kind: 'signal', reason: `event number ${10 + i} with a long reason that goes on and on until the end of a wide line: done` }));
  const small = setup(t);
  await live(small, busy(), [...busyRecords(), ...many]);
  const big = setup(t, { size: { columns: 160, rows: 50 } });
  await live(big, busy(), [...busyRecords(), ...many]);
  const shown = (text: string) => (text.match(/event number/g) ?? []).length;
  t.true(shown(big.text()) > 2 * shown(small.text()), `${shown(big.text())} vs ${shown(small.text())}`);
  t.regex(big.text(), /until the end of a wide line: done/);
  t.regex(big.text(), /restart in 2s · last: SIGKILL from bash \(pid 777, host\)/);
  t.regex(big.text(), /exit\s+dispatch\/frontend 4250: killed by SIGKILL from pid 777 \(bash, host\): restart in 3000 ms \(attempt 3\)/);
  t.notRegex(small.text(), /wide line: done/);
});

test('resizes live: the stdout resize event redraws at the new width', async (t) => {
  const s = setup(t, { size: undefined });
  Object.defineProperty(s.stdout, 'rows', { value: 24, configurable: true });
  await live(s);
  t.true(s.lines().some((l) => l.length > 60));
  Object.defineProperty(s.stdout, 'columns', { value: 50, configurable: true });
  s.stdout.emit('resize');
  await tick();
  for (const line of s.lines()) t.true(line.length <= 50, `fits 50 columns after resize: ${JSON.stringify(line)}`);
});

test('NO_COLOR: colours when allowed, none when not (marks and words still there)', async (t) => {
  const colour = /\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7])(?:;\d+)*m/;
  const on = setup(t);
  await live(on);
  t.regex(on.lastFrame() ?? '', colour);
  const off = setup(t, { noColor: true });
  await live(off);
  t.notRegex(off.lastFrame() ?? '', colour);
  t.regex(plain(off.lastFrame()), / Xgateway/);
});

test('storm: 10,000 records in a second of fake time draw ten frames and keep 1000', async (t) => {
  const s = setup(t);
  await live(s, busy(), []);
  const before = s.frames.length;
  let seq = 100;
  for (let ms = 0; ms < 1000; ms += 10) {
    for (let i = 0; i < 100; i++) s.link.emit('record', record(++seq, { reason: `storm ${seq}` }));
    s.timers.advance(10);
  }
  await tick();
  t.is(seq, 10_100);
  t.is(s.frames.length - before, 10, 'one frame per flush');
  t.regex(s.text(), /Events \(1000 shown of 1000 kept\)/);
  t.regex(s.text(), /storm 10100/);
  // Both sides of the flush boundary.
  const at = s.frames.length;
  s.link.emit('record', record(++seq, { reason: 'after the storm' }));
  s.timers.advance(99);
  await tick();
  t.is(s.frames.length, at, 'nothing drawn 1 ms before the flush');
  s.timers.advance(1);
  await tick();
  t.is(s.frames.length, at + 1, 'one frame at it');
  t.regex(s.text(), /after the storm/);
});

test('details of a process: policy, death tally, recent events, log tail', async (t) => {
  const s = setup(t);
  await live(s);
  await s.keys('\t', '\r');
  const text = s.text();
  t.regex(text, /dispatch\/frontend · backing-off · restarts 3/);
  t.regex(text, /policy: restart always · back-off 100ms ×2 up to 30s, jitter 10%/);
  t.regex(text, /death tally: 2 recorded · 2 of 5 within 1m00s · latest: 2s ago, 20s ago/);
  t.regex(text, /Recent events \(2\)/);
  t.regex(text, /log line two/);
  await s.keys('\u001B');
  await tick();
  t.regex(s.text(), /Containers \(3\)/);
});

test('details of a container: limits, use and its processes', async (t) => {
  const s = setup(t, { usage: { sample: () => new Map([['dispatch', { memoryBytes: 64 * 1024 * 1024, cpus: 0.25 }]]) } });
  await live(s);
  t.regex(s.text(), /64M\/256M 25%\s+0\.25\/1\.5/);
  await s.keys('\r');
  t.regex(s.text(), /limits: memory 256M · cpus 1\.5 · pids 512/);
  t.regex(s.text(), /use: memory 64M · cpu 0\.25/);
  t.regex(s.text(), /frontend: backing-off · r3/);
});

test('restart asks first: n cancels, y asks the monitor for exactly the selection', async (t) => {
  const s = setup(t);
  await live(s);
  await s.keys('\t', 'j', 'r');
  t.regex(s.text(), /Restart process dispatch\/historian\? y to confirm/);
  await s.keys('n');
  t.is(s.link.requests.length, 0);
  t.regex(s.text(), /restart of dispatch\/historian cancelled/);
  await s.keys('r', 'y');
  await tick();
  t.deepEqual(s.link.requests, [{ action: 'restart', target: { container: 'dispatch', process: 'historian' } }]);
  t.regex(s.text(), /restart of dispatch\/historian done \(journal seq 99\)/);
  s.link.answer = async () => {
    throw new Error('container "dispatch" has no process named "x"');
  };
  await s.keys('\u001B[D', 's');
  t.regex(s.text(), /Stop container dispatch \(all its processes\)\?/);
  await s.keys('y');
  await tick();
  t.regex(s.text(), /stop of dispatch failed: container "dispatch" has no process named "x"/);
  await s.keys('u');
  t.deepEqual(s.link.requests.at(-1), { action: 'start', target: { container: 'dispatch', process: null } });
});

test('keys that arrive in one chunk are taken one by one, but never answer a question', async (t) => {
  const s = setup(t);
  await live(s);
  s.stdin.write('\tjry');
  await tick();
  t.regex(s.text(), /Restart process dispatch\/historian\? y to confirm/);
  t.is(s.link.requests.length, 0);
});

test('filter, search and pause from the keyboard', async (t) => {
  const s = setup(t);
  await live(s);
  await s.keys('e', 'give-up', '\r');
  t.regex(s.text(), /Events \(1 shown of 3 kept\) · kinds give-up/);
  await s.keys('e', ...Array(7).fill('\u007F'), '\r', '/', 'bash', '\r');
  t.regex(s.text(), /Events \(2 shown of 3 kept\) · search "bash"/);
  await s.keys('/', ...Array(4).fill('\u007F'), '\r', 'f');
  t.regex(s.text(), /Events \(2 shown of 3 kept\) · container dispatch/);
  await s.keys('f', 'f', ' ');
  await s.feed(() => s.link.emit('record', record(4, { reason: 'while paused' })));
  t.notRegex(s.text(), /while paused/);
  t.regex(s.text(), /FEED PAUSED \(\+1\)/);
  await s.keys(' ');
  t.regex(s.text(), /while paused/);
});

test('help lists the keys; q quits', async (t) => {
  let quit = 0;
  const s = setup(t, { onQuit: () => quit++ });
  await live(s);
  await s.keys('?');
  t.regex(s.text(), /r\s+restart it \(asks y\/n\)/);
  t.regex(s.text(), /Marks: X a process gave up/);
  await s.keys('q');
  t.is(quit, 1);
});
