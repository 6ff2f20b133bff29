/**
 * The escalation chain on a fake clock: a failing process restarts, gives up
 * into a container restart, and a container restarted too often is stopped
 * with an alert. Both sides of the window's edge.
 */
import test from 'ava';
import { CONTAINER_RESTART_MARK, escalate, talliesFromRecords } from '../../../src/policy/escalation.js';
import { decide, type History } from '../../../src/policy/restart.js';
import { DEFAULT_BACKOFF, type RestartPolicy } from '../../../src/launcher/spec.js';
import { DEFAULT_ESCALATION } from '../../../src/launcher/spec-ops.js';
import { ms } from '../../../src/util/units.js';

const esc = { containerRestarts: 2, within: ms(60_000) };

test('container restarts are counted up to the limit, then the container is stopped with an alert', (t) => {
  const a = escalate(esc, [], 0, 'api gave up');
  t.deepEqual(a.decision, { action: 'restart-container', count: 1, reason: 'api gave up; container restart 1 of 2 within 1 m' });
  const b = escalate(esc, a.tallyMs, 10_000, 'api gave up');
  t.like(b.decision, { action: 'restart-container', count: 2 });
  const c = escalate(esc, b.tallyMs, 20_000, 'api gave up');
  t.deepEqual(c.decision, { action: 'stop-and-alert', reason: 'api gave up; 2 container restarts within 1 m already (escalation allows 2): stopping the container, alert' });
});

test('the window includes its edge: a restart exactly `within` ago still counts, 1 ms later it does not', (t) => {
  t.like(escalate(esc, [0, 30_000], 60_000, 'x').decision, { action: 'stop-and-alert' });
  const later = escalate(esc, [0, 30_000], 60_001, 'x');
  t.like(later.decision, { action: 'restart-container', count: 2 });
  t.deepEqual(later.tallyMs, [30_000, 60_001], 'what left the window is forgotten');
});

test('containerRestarts 0: the first escalation stops the container', (t) => {
  t.like(escalate({ containerRestarts: 0, within: ms(1000) }, [], 5, 'vigil-init died').decision, { action: 'stop-and-alert' });
});

test('the default allows 5 container restarts a minute', (t) => {
  t.deepEqual(DEFAULT_ESCALATION, { containerRestarts: 5, within: 60_000 });
});

/**
 * The whole chain, driven the way the monitor drives it: each death goes
 * through decide(); a give-up with then: restart-container goes through
 * escalate(); a container restart starts the process afresh.
 */
test('the chain: process restarts, give-up, container restarts, then stop and alert', (t) => {
  const policy: RestartPolicy = {
    policy: 'always',
    backoff: { ...DEFAULT_BACKOFF, initial: ms(100), factor: 1, max: ms(100), minSpacing: ms(0) },
    giveUp: { deaths: 3, within: ms(10_000), then: 'restart-container' },
    successCodes: [0], preventCodes: [], forceCodes: [], onOom: 'policy', onFault: 'policy',
  };
  let now = 0;
  let history: History = { attempt: 0, startedAtMs: 0, deathsMs: [] };
  let tally: number[] = [];
  const steps: string[] = [];
  for (let i = 0; i < 20 && !steps.includes('stop-and-alert'); i++) {
    now += 50; // the process dies 50 ms after each start
    const { decision, history: next } = decide({ policy, death: { kind: 'exited', code: 1 }, history, operatorStop: false, nowMs: now });
    history = next;
    steps.push(decision.action);
    if (decision.action === 'restart') {
      now += decision.delay;
      history = { ...history, startedAtMs: now };
    } else if (decision.action === 'give-up') {
      t.is(decision.then, 'restart-container');
      const e = escalate(esc, tally, now, 'p gave up');
      tally = e.tallyMs;
      steps.push(e.decision.action);
      if (e.decision.action === 'restart-container') {
        history = { attempt: 0, startedAtMs: now, deathsMs: [] }; // the container restart starts it afresh
      }
    }
  }
  t.deepEqual(steps, [
    'restart', 'restart', 'give-up', 'restart-container',
    'restart', 'restart', 'give-up', 'restart-container',
    'restart', 'restart', 'give-up', 'stop-and-alert',
  ]);
});

test('a new monitor rebuilds the tallies from the journal: marked records within the horizon', (t) => {
  const at = (ms_: number) => new Date(ms_).toISOString();
  const records = [
    { container: 'a', time: at(1_000), escalation: CONTAINER_RESTART_MARK },
    { container: 'a', time: at(50_000), escalation: CONTAINER_RESTART_MARK },
    { container: 'b', time: at(59_999), escalation: CONTAINER_RESTART_MARK },
    { container: 'b', time: at(60_000) }, // not marked: a restart of a process, or an operator's
    { container: null, time: at(60_000), escalation: CONTAINER_RESTART_MARK },
    { container: 'c', time: at(70_001), escalation: CONTAINER_RESTART_MARK }, // in the future: a clock step, ignored
  ];
  const tallies = talliesFromRecords(records, 61_000, 60_000);
  t.deepEqual([...tallies.entries()], [['a', [1_000, 50_000]], ['b', [59_999]]]);
  t.deepEqual([...talliesFromRecords(records, 61_001, 60_000).entries()], [['a', [50_000]], ['b', [59_999]]]);
  // and they take part in the next decision
  t.like(escalate(esc, tallies.get('a')!, 61_000, 'x').decision, { action: 'stop-and-alert' });
});
