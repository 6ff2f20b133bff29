/**
 * The launcher on the real kernel: a container in image-less mode with its
 * own namespaces and cgroup, business processes started as children of
 * vigil-init, ps/inspect, stop and rm leaving nothing behind, and bad input
 * refused without creating anything.
 */
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownBase } from '../../src/launcher/cgroup-v2-plan.js';
import { ownCgroups } from '../../src/launcher/cgroups.js';
import { KernelEnv, TESTBIN_IN_CONTAINER, nsOf, ppidOf } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('launcher tests');

const env = missing ? null! : new KernelEnv('launcher');
test.after.always(() => env?.cleanup());

serial('run starts an isolated container whose processes are children of vigil-init', (t) => {
  const file = env.writeSpec('iso', env.spec('iso', [
    { name: 'api', command: [TESTBIN_IN_CONTAINER, 'serve'] },
    { name: 'probe', command: ['/bin/sh', '-c', 'hostname; cat /proc/1/comm; touch /etc/vigil-probe 2>&1 || true; touch /tmp/x && echo private-tmp-ok; exec sleep 600'] },
  ], { hostname: 'iso-host', limits: { memory: '64M', pids: 100 } }));
  t.is(env.ok(t, 'run', file).trim(), 'iso');
  const c = env.inspect(t, 'iso');
  t.is(c.state, 'running');
  // The container's v2 path: beneath this process's own cgroup (not always the root).
  t.is(c.cgroup, path.posix.join(ownBase(ownCgroups().v2), env.cgroupParent, 'iso'));
  const init = c.pid!;
  t.is(fs.readFileSync(`/proc/${init}/comm`, 'utf8').trim(), 'vigil-init');
  for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net']) t.not(nsOf(init, ns), nsOf(process.pid, ns), `${ns} namespace is the host's`);
  for (const p of c.processes) {
    t.is(p.state, 'running');
    t.is(ppidOf(p.pid!), init, `${p.name} is a child of vigil-init`);
    for (const ns of ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']) t.is(nsOf(p.pid!, ns), nsOf(init, ns), `${p.name} shares init's ${ns} namespace`);
    // the same cgroup as init in every hierarchy (v1 joined by tasks, v2 by CLONE_INTO_CGROUP)
    t.is(fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${init}/cgroup`, 'utf8'));
    t.true(fs.readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes(`/${env.cgroupParent}/iso`));
  }
  // No vigil process stays on the host for the container: init's parent is not vigil.
  t.not(fs.readFileSync(`/proc/${ppidOf(init)}/comm`, 'utf8').trim(), 'node');
  const log = fs.readFileSync(env.store.logFile('iso', 'probe'), 'utf8');
  t.regex(log, /^iso-host\nvigil-init\n/);
  t.regex(log, /Read-only file system/);
  t.regex(log, /private-tmp-ok/);
  t.false(fs.existsSync('/etc/vigil-probe'));

  const ps = JSON.parse(env.ok(t, 'ps', '--json')) as Array<{ name: string; state: string; pid: number; processes: number }>;
  t.deepEqual(ps.map((r) => [r.name, r.state, r.pid, r.processes]), [['iso', 'running', init, 2]]);
});

serial('stop ends every process, rm removes cgroups and state', (t) => {
  const before = env.inspect(t, 'iso');
  env.ok(t, 'stop', 'iso', '-t', '2');
  const after = env.inspect(t, 'iso');
  t.is(after.state, 'stopped');
  for (const p of after.processes) {
    t.is(p.state, 'stopped');
    t.is(p.lastExit?.reason, 'operator');
  }
  for (const pid of [before.pid!, ...before.processes.map((p) => p.pid!)]) {
    const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    t.true(stat === '' || / Z /.test(stat), `pid ${pid} is gone`);
  }
  env.ok(t, 'rm', 'iso');
  t.deepEqual(env.leftovers(['iso']), []);
  t.is(env.cli('inspect', 'iso').status, 1);
});

serial('an invalid spec is refused with the field path, and nothing is created', (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ name: 'bad1', processes: [{ name: 'a', command: ['/bin/true'], colour: 'red' }] }, /processes\[0\]\.colour: unknown field/],
    [{ name: 'bad2', processes: [{ name: 'a' }] }, /processes\[0\]\.command: expected a non-empty argv list/],
    [{ name: 'bad3', limits: { memory: 'lots' }, processes: [{ name: 'a', command: ['/bin/true'] }] }, /limits\.memory: expected a size/],
    [{ name: 'bad4', processes: [{ name: 'a', command: ['/bin/true'], restart: { backoff: { max: 'soon' } } }] }, /processes\[0\]\.restart\.backoff\.max: expected a duration.*"soon"/],
  ];
  for (const [spec, message] of cases) {
    const name = (spec as { name: string }).name;
    const r = env.cli('run', env.writeSpec(name, spec));
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, message);
    t.deepEqual(env.leftovers([name]), []);
  }
  t.deepEqual(JSON.parse(env.ok(t, 'ps', '-a', '--json')), []);
});

serial('a command that cannot be found fails the run with 127 and leaves nothing', (t) => {
  const r = env.cli('run', env.writeSpec('nocmd', env.spec('nocmd', [{ name: 'x', command: ['/no/such/binary'] }])));
  t.is(r.status, 127);
  t.regex(r.stderr, /exec '\/no\/such\/binary': ENOENT/);
  t.deepEqual(env.leftovers(['nocmd']), []);
});

serial('a mount target outside the private directories is refused by the spec check, or by the helper, leaving nothing', (t) => {
  const r = env.cli('run', env.writeSpec('badmnt', env.spec('badmnt', [{ name: 'x', command: ['/bin/true'] }], {
    mounts: [{ source: os.tmpdir(), target: path.join('/no-such-dir-on-host', 'x') }],
  })));
  t.is(r.status, 2);
  t.regex(r.stderr, /mounts\[0\]\.target: "\/no-such-dir-on-host\/x" does not exist on the host/);
  t.deepEqual(env.leftovers(['badmnt']), []);
  // A target in /proc is vigil's own mount: refused by the spec check.
  const proc = env.cli('run', env.writeSpec('badmnt', env.spec('badmnt', [{ name: 'x', command: ['/bin/true'] }], {
    mounts: [{ source: os.tmpdir(), target: `/proc/${process.pid}/task` }],
  })));
  t.is(proc.status, 2);
  t.regex(proc.stderr, new RegExp(`mounts\\[0\\]\\.target: "/proc/${process.pid}/task" lies in /proc, which vigil mounts for the container itself`));
  t.deepEqual(env.leftovers(['badmnt']), []);
  // Through a host symlink to /proc/OUR_PID the target exists on the host but not
  // in the container's pid namespace: the helper's own check.
  const linkDir = fs.mkdtempSync('/var/tmp/vigil-test-link-');
  t.teardown(() => fs.rmSync(linkDir, { recursive: true, force: true }));
  fs.symlinkSync(`/proc/${process.pid}`, path.join(linkDir, 'pid'));
  const target = path.join(linkDir, 'pid', 'task');
  const inner = env.cli('run', env.writeSpec('badmnt', env.spec('badmnt', [{ name: 'x', command: ['/bin/true'] }], {
    mounts: [{ source: os.tmpdir(), target }],
  })));
  t.is(inner.status, 125);
  t.regex(inner.stderr, new RegExp(`mount target \\(must exist on the host or lie under /tmp, /run or /dev\\) '${target}': ENOENT`));
  t.deepEqual(env.leftovers(['badmnt']), []);
  // Through a host symlink to /proc/sys the target exists in the container too:
  // the helper refuses the path it really leads to, as the spec check refuses the string.
  fs.symlinkSync('/proc/sys', path.join(linkDir, 'sys'));
  const viaLink = path.join(linkDir, 'sys', 'kernel');
  const led = env.cli('run', env.writeSpec('badmnt', env.spec('badmnt', [{ name: 'x', command: ['/bin/true'] }], {
    mounts: [{ source: os.tmpdir(), target: viaLink }],
  })));
  t.is(led.status, 125);
  t.regex(led.stderr, new RegExp(`mount target \\(leads into /proc, /sys or the /dev that vigil mounts itself\\) '${viaLink}': EPERM`));
  t.deepEqual(env.leftovers(['badmnt']), []);
});

serial('run -- CMD makes a one-process container, and a name can be used once', (t) => {
  t.is(env.ok(t, 'run', '--name', 'quick', '--memory', '32M', '--', '/bin/sleep', '600').trim(), 'quick');
  const c = env.inspect(t, 'quick');
  t.deepEqual(c.processes.map((p) => [p.name, p.state]), [['sleep', 'running']]);
  const again = env.cli('run', '--name', 'quick', '--', '/bin/true');
  t.is(again.status, 1);
  t.regex(again.stderr, /already exists/);
  env.ok(t, 'rm', '-f', 'quick');
  t.deepEqual(env.leftovers(['quick']), []);
});
