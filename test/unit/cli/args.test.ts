import test from 'ava';
import { parseArgs } from '../../../src/cli/args.js';
import { exitCodeOf } from '../../../src/cli/main.js';
import { HelperError, HostError, NotFoundError, SpecError, StateError, UsageError } from '../../../src/util/errors.js';
import { parseSignal } from '../../../src/util/signals.js';

test('flags, aliases, positionals and everything after --', (t) => {
  const p = parseArgs(['-t', '5', 'web', '--json', '--', '-x', 'y'], { time: 'string', json: 'boolean' }, { '-t': 'time' });
  t.deepEqual(p, { flags: { time: '5', json: true }, positionals: ['web'], rest: ['-x', 'y'], lists: {} });
  t.deepEqual(parseArgs(['--time=3'], { time: 'string' }).flags, { time: '3' });
});

test('a list flag collects every value in order, through its alias too', (t) => {
  const p = parseArgs(['-v', '/a:/b', '--volume=/c:/d:ro', '-v', '/e:/f', 'x'], { volume: 'list' }, { '-v': 'volume' });
  t.deepEqual(p.lists, { volume: ['/a:/b', '/c:/d:ro', '/e:/f'] });
  t.deepEqual(p.flags, {});
  t.deepEqual(p.positionals, ['x']);
  t.throws(() => parseArgs(['-v'], { volume: 'list' }, { '-v': 'volume' }), { instanceOf: UsageError, message: 'option --volume needs a value' });
});

test('unknown options and missing values are usage errors naming the option', (t) => {
  t.throws(() => parseArgs(['--bogus'], {}), { instanceOf: UsageError, message: 'unknown option --bogus (see vigil --help)' });
  t.throws(() => parseArgs(['--memroy', '64M'], { memory: 'string', name: 'string' }), { instanceOf: UsageError, message: 'unknown option --memroy (did you mean --memory?) (see vigil --help)' });
  t.throws(() => parseArgs(['--zzzzzz'], { memory: 'string' }), { instanceOf: UsageError, message: 'unknown option --zzzzzz (see vigil --help)' });
  t.throws(() => parseArgs(['--time'], { time: 'string' }), { instanceOf: UsageError, message: 'option --time needs a value' });
  t.throws(() => parseArgs(['--json=1'], { json: 'boolean' }), { instanceOf: UsageError, message: 'option --json takes no value' });
});

test('exit codes follow SPEC.md', (t) => {
  t.is(exitCodeOf(new UsageError('x')), 2);
  t.is(exitCodeOf(new SpecError('f', [{ path: 'a', message: 'b' }])), 2);
  t.is(exitCodeOf(new StateError('x')), 1);
  t.is(exitCodeOf(new NotFoundError('x')), 1);
  t.is(exitCodeOf(new HostError('write', '/x', 'EACCES', '')), 125);
  t.is(exitCodeOf(new HelperError('exec', 'ENOENT', '/x', 'no such file', 127)), 127);
});

test('signals by name, short name or number', (t) => {
  t.is(parseSignal('SIGTERM'), 'SIGTERM');
  t.is(parseSignal('term'), 'SIGTERM');
  t.is(parseSignal('9'), 'SIGKILL');
  t.is(parseSignal('SIGNOPE'), null);
});
