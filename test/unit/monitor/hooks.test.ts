/** Hooks run real (host) child processes: /bin/sh as the alarm command. */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HookRunner, hookMatches, parseHookOption } from '../../../src/monitor/hooks.js';
import { Reporter } from '../../../src/monitor/report.js';
import type { JournalRecord } from '../../../src/journal/journal.js';
import type { HookSpec } from '../../../src/launcher/spec-ops.js';
import { ms } from '../../../src/util/units.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-hooks-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(hooks: HookSpec[], monitorHooks: HookSpec[] = []) {
  const reporter = new Reporter(true, () => {});
  const records: JournalRecord[] = [];
  reporter.onRecord((r) => records.push(r));
  const runner = new HookRunner(reporter, (c) => (c === 'svc' ? hooks : []), monitorHooks, '/run/vigil-test');
  runner.attach();
  return { reporter, records, runner };
}

const sh = (script: string, on: HookSpec['on'], timeout = 5000): HookSpec => ({ on, command: ['/bin/sh', '-c', script], timeout: ms(timeout) });

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test.serial('a matching record is written to the hook as JSON on stdin; others do not run it', async (t) => {
  const out = path.join(tmp, 'event.json');
  const { reporter, runner } = setup([sh(`cat > ${out}.tmp; echo "$VIGIL_EVENT $VIGIL_CONTAINER $VIGIL_ROOT" > ${out}.env; mv ${out}.tmp ${out}`, ['give-up'])]);
  reporter.emit({ kind: 'exit', container: 'svc', process: 'api', pid: 5, reason: 'exit 1' });
  reporter.emit({ kind: 'give-up', container: 'other', process: 'api', pid: null, reason: 'not this container' });
  const gu = reporter.emit({ kind: 'give-up', container: 'svc', process: 'api', pid: null, alert: true, reason: 'exit 1, on-failure: 5 deaths within 1 m, giving up (then alert)' });
  await until(() => fs.existsSync(out));
  const got = JSON.parse(fs.readFileSync(out, 'utf8')) as JournalRecord;
  t.deepEqual(got, JSON.parse(JSON.stringify(gu)));
  t.is(fs.readFileSync(`${out}.env`, 'utf8'), 'give-up svc /run/vigil-test\n');
  t.is(runner.counters.started, 1);
});

test.serial('alert matches any record raised as an alert; monitor hooks see records of every container', async (t) => {
  const out = path.join(tmp, 'alerts');
  const { reporter, runner } = setup([], [sh(`cat >> ${out}`, ['alert'])]);
  reporter.emit({ kind: 'stop', container: 'x', process: null, pid: null, alert: true, reason: 'container stopped by escalation' });
  reporter.emit({ kind: 'stop', container: 'x', process: null, pid: null, reason: 'operator stop' });
  await until(() => runner.counters.started === 1 && fs.existsSync(out) && fs.readFileSync(out, 'utf8').endsWith('\n'));
  t.true(hookMatches(sh('', ['alert']), { kind: 'give-up', alert: true } as unknown as JournalRecord));
  t.false(hookMatches(sh('', ['alert']), { kind: 'give-up' } as unknown as JournalRecord));
});

test.serial('a failing hook is journaled once, with its exit and its last stderr line, and does not fire hooks itself', async (t) => {
  const { reporter, records, runner } = setup([sh('echo first >&2; echo "pager down" >&2; exit 3', ['oom', 'error'])]);
  reporter.emit({ kind: 'oom', container: 'svc', process: 'hog', pid: 9, reason: 'the OOM killer chose hog' });
  await until(() => records.some((r) => r.kind === 'error'));
  await new Promise((r) => setTimeout(r, 200));
  const errors = records.filter((r) => r.kind === 'error');
  t.is(errors.length, 1, 'the error record about the hook did not run the hook (which listens to error) again');
  t.regex(errors[0].reason, /^hook \/bin\/sh -c .* \(on oom, seq 1\) failed with exit 3: pager down$/);
  t.is(errors[0].hook, true);
  t.is(errors[0].container, 'svc');
  t.deepEqual(runner.counters, { started: 1, failed: 1, skipped: 0 });
});

test.serial('a hook that outlives its timeout is killed with its children; the monitor never waits for it', async (t) => {
  const pidFile = path.join(tmp, 'grandchild');
  const { reporter, records, runner } = setup([sh(`sleep 30 & echo $! > ${pidFile}; wait`, ['give-up'], 300)]);
  reporter.emit({ kind: 'give-up', container: 'svc', process: 'a', pid: null, reason: 'x' });
  // The hook never ends by itself: had emit waited for it, the timeout's kill and
  // its error record would have come before emit returned. By order, not by the clock.
  t.deepEqual(records.map((r) => r.kind), ['give-up'], 'emit returned while the hook still ran: nothing about its end yet');
  t.deepEqual(runner.counters, { started: 1, failed: 0, skipped: 0 });
  await until(() => records.some((r) => r.kind === 'error'));
  const err = records.find((r) => r.kind === 'error')!;
  t.regex(err.reason, /timed out after 300 ms: killed$/);
  const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
  await until(() => {
    try {
      process.kill(grandchild, 0);
      return fs.readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(' ')[2] === 'Z';
    } catch {
      return true;
    }
  });
  t.pass();
});

test.serial('a hook that cannot start is journaled', async (t) => {
  const { reporter, records } = setup([{ on: ['restart'], command: ['/nonexistent/page'], timeout: ms(1000) }]);
  reporter.emit({ kind: 'restart', container: 'svc', process: 'a', pid: 3, reason: 'restarted' });
  await until(() => records.some((r) => r.kind === 'error'));
  t.regex(records.find((r) => r.kind === 'error')!.reason, /^hook \/nonexistent\/page \(on restart, seq 1\) could not start: .*ENOENT/);
});

test('--hook parses events and an absolute path, and refuses the rest with a sentence', (t) => {
  t.deepEqual(parseHookOption('give-up,oom=/usr/local/bin/page'), { on: ['give-up', 'oom'], command: ['/usr/local/bin/page'], timeout: 5000 });
  t.throws(() => parseHookOption('/usr/local/bin/page'), { message: /expected --hook EVENT\[,EVENT\.\.\.\]=\/absolute\/path/ });
  t.throws(() => parseHookOption('boom=/bin/true'), { message: /unknown event "boom"/ });
  t.throws(() => parseHookOption('oom=page'), { message: /must be an absolute path, got "page"/ });
});
