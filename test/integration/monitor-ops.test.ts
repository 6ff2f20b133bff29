/**
 * The monitor's operations side on the real kernel: metrics scraped after a
 * real kill, fault and exit-code rules, the escalation chain ending in a
 * stopped container and an alert hook, SIGHUP taking over a changed restart
 * policy, hot upgrade (kill -9 of the monitor while a process dies: restarted
 * exactly once), and SIGTERM leaving every container running.
 */
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KernelEnv, TESTBIN_IN_CONTAINER, type MonitorLine, type MonitorProcess } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('monitor operations tests');

const env = missing ? null! : new KernelEnv('ops');
let monitor: MonitorProcess;
let metricsUrl = '';
test.after.always(() => env?.cleanup());

const sleep = (msValue: number) => new Promise((r) => setTimeout(r, msValue));
const serve = (name: string, restart: unknown = { policy: 'always', backoff: { initial: '10ms' } }) => ({ name, command: [TESTBIN_IN_CONTAINER, 'serve'], restart });

function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

function journal(since: number): MonitorLine[] {
  const r = env.cli('events', '--json', '--since', String(since));
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as MonitorLine);
}

function lastSeq(): number {
  return journal(0).at(-1)?.seq ?? 0;
}

test.before(async () => {
  if (missing) return;
  const r = env.cli('run', env.writeSpec('ops', env.spec('ops', [serve('api'), serve('spare')])));
  if (r.status !== 0) throw new Error(r.stderr);
  monitor = env.startMonitor('--metrics', '127.0.0.1:0');
  const line = await monitor.waitFor((l) => l.kind === 'monitor' && /^metrics at /.test(l.reason));
  metricsUrl = line.reason.replace(/^metrics at /, '');
});

serial('metrics: a real kill shows up in the exit and restart counters and both latency histograms', async (t) => {
  t.regex(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const before = await scrape(metricsUrl);
  t.is(sample(before, 'vigil_exits_total{container="ops",process="api",reason="signaled"}'), null);
  const api = env.inspect(t, 'ops').processes.find((p) => p.name === 'api')!;
  const from = monitor.lines.length;
  process.kill(api.pid!, 'SIGKILL');
  await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'api', 10_000, from);
  const after = await scrape(metricsUrl);
  t.is(sample(after, 'vigil_exits_total{container="ops",process="api",reason="signaled"}'), 1);
  t.is(sample(after, 'vigil_restarts_total{container="ops",process="api",reason="signaled"}'), 1);
  t.is(sample(after, 'vigil_detection_latency_seconds_count'), 1);
  t.is(sample(after, 'vigil_recovery_latency_seconds_count'), 1);
  t.is(sample(after, 'vigil_recovery_latency_seconds_bucket{le="+Inf"}'), 1);
  const detection = sample(after, 'vigil_detection_latency_seconds_sum')!;
  t.true(detection > 0 && detection < 1, `detection ${detection} s`);
  t.is(sample(after, 'vigil_tracer_drops_total'), 0);
  t.true(sample(after, 'vigil_monitor_uptime_seconds')! > 0);
});

serial('a force code restarts under never; onFault leave leaves a crash alone', async (t) => {
  const from = monitor.lines.length;
  env.ok(t, 'run', env.writeSpec('rules', env.spec('rules', [
    { name: 'forced', command: [TESTBIN_IN_CONTAINER, 'exit', '75'], restart: { policy: 'never', forceCodes: [75], backoff: { initial: '10ms' }, giveUp: { deaths: 2, within: '1m', then: 'alert' } } },
    { name: 'crash', command: [TESTBIN_IN_CONTAINER, 'segv'], restart: { policy: 'always', onFault: 'leave' } },
    serve('keep'),
  ])));
  const first = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'rules' && l.process === 'forced', 10_000, from);
  t.is(first.action, 'restart');
  t.regex(first.reason, /^exit 75, force code 75, attempt 1 of 1 within 1 m, next in \d+ ms/);
  const gaveUp = await monitor.waitFor((l) => l.kind === 'give-up' && l.container === 'rules' && l.process === 'forced', 10_000, from);
  t.regex(gaveUp.reason, /^exit 75, force code 75: 2 deaths within 1 m, giving up \(then alert\)$/);
  const crash = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'rules' && l.process === 'crash', 10_000, from);
  t.is(crash.action, 'leave');
  t.regex(crash.reason, /^crashed with SIGSEGV.*, onFault leave: not restarted/);
  const state = env.inspect(t, 'rules').processes;
  t.deepEqual(state.map((p) => [p.name, p.state, p.restarts]), [['forced', 'given-up', 1], ['crash', 'exited', 0], ['keep', 'running', 0]]);
  env.ok(t, 'rm', '-f', 'rules');
});

serial('escalation: give-up restarts the container, the next one stops it and the alert hook gets each alert as JSON', async (t) => {
  const alerts = path.join(env.root, 'alerts.jsonl');
  const from = monitor.lines.length;
  env.ok(t, 'run', env.writeSpec('esc', env.spec('esc', [
    { name: 'bad', command: ['/bin/false'], restart: { policy: 'always', backoff: { initial: '10ms' }, giveUp: { deaths: 2, within: '1m', then: 'restart-container' } } },
    serve('good'),
  ], {
    escalation: { containerRestarts: 1, within: '1m' },
    hooks: [{ on: ['alert'], command: ['/bin/sh', '-c', `cat >> ${alerts}`], timeout: '2s' }],
  })));
  const restarted = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'esc' && l.process === null, 20_000, from);
  t.regex(restarted.reason, /container restart 1 of 1 within 1 m/);
  const stopping = await monitor.waitFor((l) => l.kind === 'give-up' && l.container === 'esc' && l.process === null, 20_000, from);
  t.regex(stopping.reason, /1 container restart within 1 m already \(escalation allows 1\): stopping the container, alert$/);
  const stopped = await monitor.waitFor((l) => l.kind === 'stop' && l.container === 'esc' && l.alert === true, 20_000, from);
  t.is(stopped.reason, 'container stopped by escalation: not restarted again');
  t.is(env.inspect(t, 'esc').state, 'stopped');
  const giveUps = monitor.lines.slice(from).filter((l) => l.kind === 'give-up' && l.container === 'esc');
  t.deepEqual(giveUps.map((l) => l.process), ['bad', 'bad', null]);
  // the hook saw the three give-ups and the stop, each as one JSON line, as the journal has them
  const deadline = Date.now() + 5000;
  let seen: MonitorLine[] = [];
  while (Date.now() < deadline) {
    seen = fs.existsSync(alerts) ? fs.readFileSync(alerts, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as MonitorLine) : [];
    if (seen.length >= 4) break;
    await sleep(50);
  }
  t.deepEqual(seen.map((l) => [l.kind, l.process]).sort(), [['give-up', 'bad'], ['give-up', 'bad'], ['give-up', null], ['stop', null]].sort());
  const stopSeq = seen.find((l) => l.kind === 'stop')!.seq;
  t.is(stopSeq, stopped.seq);
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'error' && l.hook), 'no hook failed');
  await sleep(300);
  t.false(monitor.lines.slice(from).some((l) => l.kind === 'restart' && l.container === 'esc' && l.seq > stopped.seq));
  env.ok(t, 'rm', '-f', 'esc');
});

serial('onFault restart-container restarts the container; a new monitor still counts that restart and stops the next', async (t) => {
  const from = monitor.lines.length;
  const seq = lastSeq();
  // The crash comes 1 s after each start (exec keeps the pid: the process is the same one).
  env.ok(t, 'run', env.writeSpec('fault', env.spec('fault', [
    { name: 'crash', command: ['/bin/sh', '-c', `sleep 1; exec ${TESTBIN_IN_CONTAINER} segv`], restart: { policy: 'never', onFault: 'restart-container' } },
    serve('keep'),
  ], { escalation: { containerRestarts: 1, within: '1m' } })));
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'fault' && l.process === 'crash', 10_000, from);
  t.is(exit.action, 'restart-container');
  t.regex(exit.reason, /^crashed with SIGSEGV.*, onFault restart-container: the container is restarted/);
  const restarted = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'fault' && l.process === null, 15_000, from);
  t.regex(restarted.reason, /container restart 1 of 1 within 1 m/);
  // The next crash is due in about a second: it is the next monitor's to answer.
  await monitor.stop('SIGKILL');
  monitor = env.startMonitor('--metrics', '127.0.0.1:0');
  const stop = await monitor.waitFor((l) => l.kind === 'give-up' && l.container === 'fault' && l.process === null, 15_000);
  t.regex(stop.reason, /1 container restart within 1 m already \(escalation allows 1\): stopping the container, alert$/);
  await monitor.waitFor((l) => l.kind === 'stop' && l.container === 'fault' && l.alert === true, 15_000);
  t.is(env.inspect(t, 'fault').state, 'stopped');
  const marked = journal(seq + 1).filter((l) => l.container === 'fault' && l.escalation === 'restart-container');
  t.is(marked.length, 1, 'one container restart in all, across both monitors');
  metricsUrl = (await monitor.waitFor((l) => l.kind === 'monitor' && /^metrics at /.test(l.reason))).reason.replace(/^metrics at /, '');
  env.ok(t, 'rm', '-f', 'fault');
});

serial('back-off delays are kept within tolerance, and the spacing floor holds a 0 ms back-off', async (t) => {
  const from = monitor.lines.length;
  env.ok(t, 'run', env.writeSpec('timing', env.spec('timing', [
    { name: 'backoff', command: ['/bin/false'], restart: { policy: 'always', backoff: { initial: '200ms', factor: 2, max: '1s' }, giveUp: { deaths: 4, within: '1m' } } },
    { name: 'floor', command: ['/bin/false'], restart: { policy: 'always', backoff: { initial: '0ms', max: '0ms', minSpacing: '300ms' }, giveUp: { deaths: 4, within: '1m' } } },
  ])));
  for (const name of ['backoff', 'floor']) await monitor.waitFor((l) => l.kind === 'give-up' && l.container === 'timing' && l.process === name, 15_000, from);
  const mine = (name: string) => monitor.lines.slice(from).filter((l) => l.container === 'timing' && l.process === name);
  const at = (l: MonitorLine) => Date.parse(l.time as string);
  // back-off: each restart comes its delay after the decision (the record's time), not sooner, and not much later
  const decisions = mine('backoff').filter((l) => l.kind === 'exit' && l.action === 'restart');
  const restarts = mine('backoff').filter((l) => l.kind === 'restart');
  t.deepEqual(decisions.map((l) => l.delayMs), [200, 400, 800]);
  t.is(restarts.length, 3);
  decisions.forEach((d, i) => {
    const waited = at(restarts[i]) - at(d);
    t.true(waited >= (d.delayMs as number) - 2 && waited < (d.delayMs as number) + 500, `restart ${i + 1}: waited ${waited} ms for a ${d.delayMs} ms back-off`);
  });
  // floor: /bin/false dies at once and the back-off is 0 ms, yet starts come 300 ms apart
  const floorRestarts = mine('floor').filter((l) => l.kind === 'restart');
  t.is(floorRestarts.length, 3);
  for (let i = 1; i < floorRestarts.length; i++) {
    const gap = at(floorRestarts[i]) - at(floorRestarts[i - 1]);
    t.true(gap >= 290 && gap < 1000, `gap between restarts ${gap} ms`);
  }
  t.regex(mine('floor').find((l) => l.kind === 'exit' && l.action === 'restart')!.reason, /held to one start per 300 ms/);
  env.ok(t, 'rm', '-f', 'timing');
});

serial('SIGHUP takes over a restart policy changed in the spec file', async (t) => {
  const file = env.writeSpec('hup', env.spec('hup', [serve('p', 'never')]));
  env.ok(t, 'run', file);
  fs.writeFileSync(file, JSON.stringify(env.spec('hup', [serve('p', { policy: 'always', backoff: { initial: '10ms' } })])));
  const from = monitor.lines.length;
  monitor.child.kill('SIGHUP');
  const reloaded = await monitor.waitFor((l) => l.kind === 'monitor' && l.reason.startsWith('reloaded: '), 10_000, from);
  t.regex(reloaded.reason, /^reloaded: \d+ containers; new restart policy for hup$/);
  const p = env.inspect(t, 'hup').processes[0];
  process.kill(p.pid!, 'SIGKILL');
  const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.container === 'hup', 10_000, from);
  t.is(exit.action, 'restart');
  t.regex(exit.reason, /, always, attempt 1, next in/);
  await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'hup', 10_000, from);
  t.is(monitor.child.exitCode, null, 'SIGHUP did not end the monitor');
  env.ok(t, 'rm', '-f', 'hup');
});

serial('hot upgrade: kill -9 of the monitor while a process dies; the next monitor restarts it exactly once', async (t) => {
  // The monitor is killed at several moments after the death: before it read
  // the event, while deciding, during the back-off, during the restart.
  for (const delayMs of [0, 2, 8, 30, 120]) {
    const before = env.inspect(t, 'ops').processes.find((p) => p.name === 'spare')!;
    t.is(before.state, 'running');
    const seq = lastSeq();
    process.kill(before.pid!, 'SIGKILL');
    if (delayMs) await sleep(delayMs);
    await monitor.stop('SIGKILL');
    monitor = env.startMonitor('--metrics', '127.0.0.1:0');
    // recovered: running as a new pid, one more restart
    const deadline = Date.now() + 15_000;
    let now = before;
    while (Date.now() < deadline) {
      now = env.inspect(t, 'ops').processes.find((p) => p.name === 'spare')!;
      if (now.state === 'running' && now.pid !== before.pid) break;
      await sleep(50);
    }
    t.is(now.state, 'running', `killed ${delayMs} ms after the death`);
    t.not(now.pid, before.pid);
    // ... and nothing more happens over a reconcile round
    await sleep(2500);
    const settled = env.inspect(t, 'ops').processes.find((p) => p.name === 'spare')!;
    t.is(settled.restarts, before.restarts + 1, `exactly one restart (monitor killed ${delayMs} ms after the death)`);
    t.is(settled.pid, now.pid);
    const restarts = journal(seq + 1).filter((l) => l.kind === 'restart' && l.container === 'ops' && l.process === 'spare');
    t.is(restarts.length, 1, `one restart record (monitor killed ${delayMs} ms after the death): ${JSON.stringify(restarts)}`);
    t.is(restarts[0].pid, settled.pid);
    // one business process of that name in the container: init, api and spare
    const v2 = env.store.read('ops').cgroup!.v2;
    const procs = fs.readFileSync(path.join(v2, 'cgroup.procs'), 'utf8').trim().split('\n');
    t.is(procs.length, 3, `cgroup.procs: ${procs.join(' ')}`);
  }
});

serial('SIGTERM ends the monitor and leaves every container running', async (t) => {
  const before = env.inspect(t, 'ops');
  t.is(await monitor.stop('SIGTERM'), 0);
  t.regex(monitor.lines.at(-1)!.reason, /^SIGTERM: monitor stopped; containers keep running$/);
  await sleep(500);
  const after = env.inspect(t, 'ops');
  t.is(after.state, 'running');
  t.is(after.pid, before.pid);
  t.deepEqual(after.processes.map((p) => [p.name, p.state, p.pid]), before.processes.map((p) => [p.name, 'running', p.pid]));
  for (const p of after.processes) t.notThrows(() => process.kill(p.pid!, 0), `${p.name} pid ${p.pid} alive`);
  t.notThrows(() => process.kill(after.pid!, 0), 'vigil-init alive');
  // and the metrics endpoint went with the monitor
  await t.throwsAsync(scrape(metricsUrl));
  env.ok(t, 'rm', '-f', 'ops');
  t.deepEqual(env.leftovers(['ops', 'rules', 'esc', 'fault', 'timing', 'hup']), []);
});
