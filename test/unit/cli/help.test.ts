import test from 'ava';
import { commandHelp } from '../../../src/cli/main.js';

test('vigil COMMAND --help: that command\'s entries in the help, continuation lines included', (t) => {
  const run = commandHelp('run');
  t.regex(run, /^ {2}run \[-d\] SPEC\.yaml/);
  t.regex(run, /--network none\|host/, 'a continuation line of run --name');
  t.regex(run, /run --bundle DIR/);
  t.notRegex(run, /^ {2}(exec|create) /m, 'nothing of the next commands');
  t.regex(commandHelp('monitor'), /--hook EVENTS=\/CMD/);
  t.is(commandHelp('start'), '', 'start has no entry of its own (it is in create\'s line)');
  t.is(commandHelp('bogus'), '');
});
