import test from 'ava';
import { parseSpec, validateSpec, DEFAULT_BACKOFF } from '../../../src/launcher/spec.js';
import { SpecError } from '../../../src/util/errors.js';

const minimal = { name: 'svc', processes: [{ name: 'a', command: ['/bin/true'] }] };

test('a minimal spec gets the documented defaults', (t) => {
  const s = validateSpec(minimal);
  t.is(s.rootfs, 'host');
  t.is(s.hostname, 'svc');
  t.is(s.network, 'none');
  t.deepEqual(s.limits, { memory: null, pids: null, cpus: null, oomGroup: false, cpuWeight: null, cpuset: null });
  t.false(s.privileged);
  t.deepEqual(s.security, { capabilities: { add: [], drop: [] }, noNewPrivileges: null });
  t.deepEqual([s.processes[0].security, s.processes[0].rlimits, s.processes[0].groups, s.processes[0].umask], [null, {}, [], null]);
  t.is(s.processes[0].restart.policy, 'on-failure');
  t.deepEqual(s.processes[0].restart.backoff, DEFAULT_BACKOFF);
  t.deepEqual(s.processes[0].restart.successCodes, [0]);
});

test('the SPEC example parses from YAML, with container defaults inherited by processes', (t) => {
  const s = parseSpec(`
name: dispatch
hostname: dispatch-1
network: host
limits: {memory: 256M, pids: 512, cpus: 1.5}
mounts:
  - {source: /srv/data, target: /data, readonly: false}
restart: always
processes:
  - name: frontend
    command: ["/usr/bin/node", "server.js"]
    env: {PORT: "9000", DEBUG: 1}
    cwd: /srv/app
    user: "1000:1000"
  - name: historian
    command: ["/bin/sleep", "1"]
    restart:
      policy: on-failure
      backoff: {initial: 100ms, factor: 2, max: 30s, jitter: 0.1, resetAfter: 60s}
      giveUp: {deaths: 5, within: 60s, then: alert}
      successCodes: [0, 3]
      preventCodes: [78]
`, 'spec.yaml');
  t.is(s.limits.memory, 256 * 1024 * 1024);
  t.is(s.limits.cpus, 1.5);
  t.is(s.processes[0].restart.policy, 'always');
  t.deepEqual(s.processes[0].env, { PORT: '9000', DEBUG: '1' });
  const h = s.processes[1].restart;
  t.deepEqual([h.policy, h.backoff.initial, h.backoff.max, h.backoff.jitter, h.backoff.resetAfter], ['on-failure', 100, 30_000, 0.1, 60_000]);
  t.deepEqual(h.giveUp, { deaths: 5, within: 60_000, then: 'alert' });
  t.deepEqual([h.successCodes, h.preventCodes], [[0, 3], [78]]);
});

test('JSON is accepted as it is YAML', (t) => {
  t.is(parseSpec(JSON.stringify(minimal)).name, 'svc');
});

const refused = test.macro((t, input: unknown, expected: RegExp) => {
  const err = t.throws(() => validateSpec(input, 'x.yaml'), { instanceOf: SpecError });
  t.regex(err!.message, expected);
});

test('unknown field', refused, { ...minimal, colour: 'red' }, /^x\.yaml: colour: unknown field/);
test('unknown process field', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], colour: 1 }] }, /processes\[0\]\.colour: unknown field/);
test('missing command', refused, { name: 'a', processes: [{ name: 'p' }] }, /processes\[0\]\.command: expected a non-empty argv list/);
test('command as a string', refused, { name: 'a', processes: [{ name: 'p', command: 'ls -l' }] }, /processes\[0\]\.command: expected a non-empty argv list.*string "ls -l"/);
test('no processes', refused, { name: 'a', processes: [] }, /processes: expected a list of at least one process/);
test('bad name', refused, { ...minimal, name: 'Bad Name' }, /name: "Bad Name" is not a container name/);
test('bad memory', refused, { ...minimal, limits: { memory: 'lots' } }, /limits\.memory: expected a size such as "256M"/);
test('tiny memory', refused, { ...minimal, limits: { memory: '1K' } }, /limits\.memory: must be at least 4M/);
test('negative pids', refused, { ...minimal, limits: { pids: -1 } }, /limits\.pids: must be at least 1/);
test('bad duration', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], restart: { backoff: { max: 'soon' } } }] }, /processes\[0\]\.restart\.backoff\.max: expected a duration such as "500ms", "5s" or "1m", got string "soon"/);
test('bad policy', refused, { ...minimal, restart: 'sometimes' }, /restart: expected one of never, on-failure, always, unless-stopped/);
test('max below initial', refused, { ...minimal, restart: { backoff: { initial: '2s', max: '1s' } } }, /restart\.backoff\.max: must not be below backoff\.initial/);
test('a code both success and prevent', refused, { ...minimal, restart: { successCodes: [0, 3], preventCodes: [3] } }, /restart\.preventCodes: exit code 3 cannot be both/);
test('duplicate process names', refused, { name: 'a', processes: [{ name: 'p', command: ['x'] }, { name: 'p', command: ['y'] }] }, /processes\[1\]\.name: "p" is already the name of processes\[0\]/);
test('relative mount target', refused, { ...minimal, mounts: [{ source: '/a', target: 'b' }] }, /mounts\[0\]\.target: expected an absolute path/);
test('".." in a cwd', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], cwd: '/a/../b' }] }, /processes\[0\]\.cwd: "\.\." is not allowed/);
test('non-numeric user', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], user: 'root' }] }, /processes\[0\]\.user: "root" is not a numeric "uid" or "uid:gid"/);
test('NUL in argv', refused, { name: 'a', processes: [{ name: 'p', command: ['a\0b'] }] }, /processes\[0\]\.command\[0\]: must not contain a NUL byte/);
test('relative rootfs', refused, { ...minimal, rootfs: 'srv/root' }, /rootfs: expected an absolute path/);
test('"/" as rootfs', refused, { ...minimal, rootfs: '/' }, /rootfs: the host's own root is "host"/);
test('unknown capability', refused, { ...minimal, security: { capabilities: { add: ['NET_ADMN'] } } }, /^x\.yaml: security\.capabilities\.add\[0\]: unknown capability "NET_ADMN"/);
test('capabilities not a list', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], security: { capabilities: { drop: 'ALL' } } }] }, /processes\[0\]\.security\.capabilities\.drop: expected a list/);
test('unknown security field', refused, { ...minimal, security: { seccomp: 'x' } }, /security\.seccomp: unknown field/);
test('privileged with capability changes', refused, { ...minimal, privileged: true, security: { capabilities: { add: ['BPF'] } } }, /security\.capabilities: privileged: true already grants/);
test('privileged not a boolean', refused, { ...minimal, privileged: 'yes' }, /privileged: expected true or false/);
test('unknown rlimit', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], rlimits: { files: 10 } }] }, /processes\[0\]\.rlimits\.files: unknown field/);
test('rlimit soft above hard', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], rlimits: { nofile: { soft: 10, hard: 5 } } }] }, /processes\[0\]\.rlimits\.nofile\.soft: must not exceed hard \(5\), got 10/);
test('rlimit not a number', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], rlimits: { core: 'lots' } }] }, /processes\[0\]\.rlimits\.core: expected a whole number or "unlimited"/);
test('group id too large', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], groups: [4294967295] }] }, /processes\[0\]\.groups\[0\]: must be at most 4294967294/);
test('umask as a YAML number', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], umask: 27 }] }, /processes\[0\]\.umask: expected an octal string such as "0027"/);
test('umask not octal', refused, { name: 'a', processes: [{ name: 'p', command: ['x'], umask: '0089' }] }, /processes\[0\]\.umask: "0089" is not an octal umask/);
test('cpuWeight out of range', refused, { ...minimal, limits: { cpuWeight: 0 } }, /limits\.cpuWeight: must be at least 1/);
test('cpuset syntax', refused, { ...minimal, limits: { cpuset: '0-' } }, /limits\.cpuset: "0-" is not a list of cpus/);
test('cpuset backwards range', refused, { ...minimal, limits: { cpuset: '3-1' } }, /limits\.cpuset: range 3-1 runs backwards/);

test('the extensions parse: directory rootfs, security, rlimits, groups, umask, cpu weight and cpuset', (t) => {
  const s = validateSpec({
    name: 'ext',
    rootfs: '/srv/rootfs',
    security: { capabilities: { add: ['cap_net_admin'], drop: ['MKNOD'] }, noNewPrivileges: false },
    limits: { cpus: 1, cpuWeight: 500, cpuset: '0-1,3' },
    processes: [{
      name: 'p', command: ['x'],
      security: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
      rlimits: { nofile: 1024, core: { soft: 0, hard: 'unlimited' } },
      groups: [10, 20],
      umask: '027',
    }],
  });
  t.is(s.rootfs, '/srv/rootfs');
  t.deepEqual(s.security, { capabilities: { add: ['NET_ADMIN'], drop: ['MKNOD'] }, noNewPrivileges: false });
  t.deepEqual([s.limits.cpuWeight, s.limits.cpuset], [500, '0-1,3']);
  const p = s.processes[0];
  t.deepEqual(p.security, { capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, noNewPrivileges: null });
  t.deepEqual(p.rlimits, { nofile: { soft: 1024, hard: 1024 }, core: { soft: 0, hard: 'unlimited' } });
  t.deepEqual([p.groups, p.umask], [[10, 20], '0027']);
});

test('every problem is reported at once', (t) => {
  const err = t.throws(() => validateSpec({ name: 'A', limits: { memory: 'x' }, processes: [{ name: 'p' }] }), { instanceOf: SpecError });
  t.deepEqual(err!.issues.map((i) => i.path), ['name', 'limits.memory', 'processes[0].command']);
});

test('YAML syntax errors name the file', (t) => {
  const err = t.throws(() => parseSpec('name: [unclosed', 'bad.yaml'), { instanceOf: SpecError });
  t.regex(err!.message, /^bad\.yaml: not valid YAML or JSON/);
});

test('duplicate YAML keys are refused', (t) => {
  t.throws(() => parseSpec('name: a\nname: b\nprocesses: []\n', 'dup.yaml'), { instanceOf: SpecError, message: /not valid YAML/ });
});
