import test from 'ava';
import { parseAnswer } from '../../../src/launcher/helper.js';
import { HelperError } from '../../../src/util/errors.js';

test('a helper that died without an answer is named with its signal or status, never "status null"', (t) => {
  const killed = t.throws(() => parseAnswer('', null, '', 'SIGKILL'), { instanceOf: HelperError });
  t.regex(killed!.message, /no answer \(killed by SIGKILL; no output\)\)$/);
  t.is(killed!.exitCode, 125);
  const exited = t.throws(() => parseAnswer('', 3, 'vigil-helper: bad config\n', null), { instanceOf: HelperError });
  t.regex(exited!.message, /no answer \(exit status 3; vigil-helper: bad config\)\)$/);
});

test('an answer is read from the last line', (t) => {
  t.deepEqual(parseAnswer('noise\n{"ok":true,"pid":7,"startTime":9,"runningNs":11}\n', 0, '', null), { pid: 7, startTime: 9, runningNs: 11n as never });
});
