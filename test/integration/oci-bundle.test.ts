/**
 * OCI bundles on the real kernel: a rootfs of busybox-static built here, a
 * config.json written by `runc spec`, run by vigil and by `runc run` on the
 * same bundle, and what the process sees from inside compared line by line
 * (hostname, ids, cwd, umask, env, capabilities, rlimits, mounts, masked and
 * read-only paths, resources). Broken bundles are refused by the field's
 * JSON path and leave nothing behind.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { detectLayout, ownCgroups } from '../../src/launcher/cgroups.js';
import { KernelEnv } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('OCI bundle tests');

const BUSYBOX = '/bin/busybox';
const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => fs.existsSync(p)) ?? null;
const APPLETS = ['sh', 'hostname', 'id', 'pwd', 'env', 'grep', 'sort', 'sed', 'awk', 'wc', 'ls', 'touch', 'rm', 'cat', 'sleep', 'head', 'tr'];
/** runc and busybox-static come from setup.sh; without them the comparison cannot be made. */
const tools = !fs.existsSync(BUSYBOX) ? `${BUSYBOX} (busybox-static) is not installed` : !RUNC ? 'runc is not installed' : null;
if (!missing && tools) {
  if (process.env.CI === 'true') test(`OCI bundle tests cannot run: ${tools}`, (t) => t.fail());
  else test(`OCI bundle tests skipped: ${tools}`, (t) => t.pass());
}
const run = tools ? test.serial.skip : serial;

const env = missing || tools ? null! : new KernelEnv('oci');
const runcRoot = env ? path.join(env.root, 'runc-state') : '';
test.after.always(() => {
  if (!env) return;
  removeRuncCgroups();
  env.cleanup();
});

/** What the process reports about itself, one fact a line, ending with probe-end. */
const PROBE = [
  'echo "hostname=$(hostname)"',
  'echo "ids=$(id -u):$(id -g) groups=$(id -G)"',
  'echo "cwd=$(pwd) umask=$(umask)"',
  "env | grep -v '^VIGIL_' | sort | sed 's/^/env:/'",
  "grep -E '^(Cap|NoNewPrivs)' /proc/self/status | tr -d '\\t'",
  "grep -E '^Max (open files|processes)' /proc/self/limits | tr -s ' '",
  // mount point, per-mount options, filesystem type (after the " - " separator)
  "awk '{for(i=7;i<=NF;i++) if($i==\"-\"){print \"mount:\" $5 \" \" $6 \" \" $(i+1); break}}' /proc/self/mountinfo | sort",
  'echo "timer_list=$(wc -c < /proc/timer_list) keys=$(wc -c < /proc/keys) firmware=$(ls -A /sys/firmware | wc -l)"',
  '(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo proc-sys=writable || echo proc-sys=refused',
  '(touch /probe-root) 2>/dev/null && echo root=writable || echo root=refused; rm -f /probe-root',
  'ls /dev | tr "\\n" " " | sed "s/^/dev: /"; echo',
  'echo "memory.max=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || echo -) pids.max=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || echo -)"',
].join('\n');

/** The probe, then `more`, then the end marker the log is waited for. */
const probe = (more = '') => `${PROBE}\n${more}${more ? '\n' : ''}echo probe-end`;

/** A bundle: busybox rootfs, `runc spec`, then `edit` on the parsed config. */
function makeBundle(name: string, edit: (c: Record<string, any>) => void = () => {}): string {
  const dir = path.join(env.root, 'bundles', name);
  fs.mkdirSync(path.join(dir, 'rootfs/bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'rootfs/srv'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'rootfs/bin/busybox'));
  fs.chmodSync(path.join(dir, 'rootfs/bin/busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(dir, 'rootfs/bin', a));
  const r = spawnSync(RUNC!, ['spec'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runc spec failed: ${r.stderr}`);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['sh', '-c', probe()];
  edit(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** `runc run` on a copy of the bundle's config with a cgroup beneath ours (runc's relative cgroupsPath is beneath its own cgroup). */
function runcRun(t: ExecutionContext, dir: string, id: string): string {
  const file = path.join(dir, 'config.json');
  const original = fs.readFileSync(file, 'utf8');
  const config = JSON.parse(original);
  config.linux.cgroupsPath = `${env.cgroupParent}/runc-${id}`;
  fs.writeFileSync(file, JSON.stringify(config));
  try {
    const r = spawnSync(RUNC!, ['--root', runcRoot, 'run', '--bundle', dir, `vigil-cmp-${process.pid}-${id}`], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) t.fail(`runc run exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  } finally {
    fs.writeFileSync(file, original);
  }
}

async function vigilRun(t: ExecutionContext, dir: string, name: string): Promise<string> {
  env.ok(t, 'run', '--bundle', dir, '--name', name, '--restart', 'never');
  const file = env.store.logFile(name, 'main');
  for (let i = 0; i < 500; i++) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (text.includes('probe-end')) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.fail(`no probe-end in ${name}'s log`);
  return '';
}

/**
 * The lines to compare. Known, documented differences are normalised:
 * on a hybrid host runc mounts each v1 hierarchy under /sys/fs/cgroup (a
 * tmpfs), vigil the container's own v2 cgroup; the options shown for a
 * masked file are those of the /dev/null it is bound from.
 */
function facts(text: string, runtime: 'vigil' | 'runc'): string[] {
  return text.split('\n').filter(Boolean)
    // With a deny-all device rule vigil makes binds nodev (runc uses the device cgroup instead).
    .map((l) => (runtime === 'vigil' && /^mount:\/data /.test(l) ? l.replace(',nodev', '') : l))
    .filter((l) => !/^mount:\/sys\/fs\/cgroup\//.test(l))
    .map((l) => l.replace(/^mount:\/sys\/fs\/cgroup \S+ \S+$/, 'mount:/sys/fs/cgroup (the container\'s cgroups)'));
}

function compare(t: ExecutionContext, vigil: string, runc: string): void {
  const v = facts(vigil, 'vigil');
  const r = facts(runc, 'runc');
  t.deepEqual(v, r, `vigil:\n${vigil}\nrunc:\n${runc}`);
}

/** runc leaves its cgroup parent in every v1 hierarchy it used: remove ours, beneath our own cgroup. */
function removeRuncCgroups(): void {
  const own = ownCgroups();
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (type !== 'cgroup' && type !== 'cgroup2') continue;
    const key = type === 'cgroup2' ? null : options.split(',').find((o) => own.v1.has(o) || own.v1.has(o.replace(/^name=/, 'name=')));
    const base = path.join(mountPoint, key ? own.v1.get(key)! : own.v2, env.cgroupParent);
    if (!fs.existsSync(base)) continue;
    for (const child of fs.readdirSync(base, { withFileTypes: true })) {
      if (child.isDirectory() && child.name.startsWith('runc-')) try { fs.rmdirSync(path.join(base, child.name)); } catch { /* in use: reported by the test */ }
    }
    try {
      fs.rmdirSync(base);
    } catch {
      // vigil's own parent: KernelEnv removes it
    }
  }
}

run('an unmodified `runc spec` bundle (terminal false, our command) runs under vigil as under runc run', async (t) => {
  const dir = makeBundle('plain');
  const runc = runcRun(t, dir, 'plain');
  const vigil = await vigilRun(t, dir, 'oci-plain');
  compare(t, vigil, runc);
  // And what that is, so the comparison cannot pass on two empty outputs.
  t.regex(vigil, /^hostname=runc$/m);
  t.regex(vigil, /^ids=0:0 groups=0$/m);
  t.regex(vigil, /^CapEff:0000000020000420$/m);
  t.regex(vigil, /^CapBnd:0000000020000420$/m);
  t.regex(vigil, /^NoNewPrivs:1$/m);
  t.regex(vigil, /^Max open files 1024 1024 files $/m);
  t.regex(vigil, /^mount:\/ ro,/m);
  t.regex(vigil, /^mount:\/dev\/mqueue \S+ mqueue$/m);
  t.regex(vigil, /^timer_list=0 keys=0 firmware=0$/m);
  t.regex(vigil, /^proc-sys=refused$/m);
  t.regex(vigil, /^root=refused$/m);
  t.regex(vigil, /^dev: .*\bnull\b.*\bpts\b.*\burandom\b/m);
  t.regex(vigil, /^env:HOME=\/$/m);
  const inspect = env.inspect(t, 'oci-plain');
  t.deepEqual(inspect.processes.map((p) => p.name), ['main']);
  env.ok(t, 'rm', '-f', 'oci-plain');
  t.deepEqual(env.leftovers(['oci-plain']), []);
});

run('a richer bundle: user, groups, umask, env, cwd, rlimits, a bind, a writable root, memory, pids and cpu limits', async (t) => {
  const data = path.join(env.root, 'data');
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(path.join(data, 'marker'), 'from the host\n');
  const dir = makeBundle('rich', (c) => {
    c.hostname = 'oci-rich';
    c.root.readonly = false;
    c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 20], umask: 0o27 };
    c.process.env.push('GREETING=hello world');
    c.process.cwd = '/srv';
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }, { type: 'RLIMIT_NPROC', soft: 100, hard: 200 }];
    c.process.args = ['sh', '-c', probe('cat /data/marker')];
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'ro'] });
    c.linux.resources.memory = { limit: 64 * 1024 * 1024 };
    c.linux.resources.pids = { limit: 64 };
    c.linux.resources.cpu = { shares: 512, quota: 50_000, period: 200_000, cpus: '0' };
  });
  const runc = runcRun(t, dir, 'rich');
  const vigil = await vigilRun(t, dir, 'oci-rich');
  compare(t, vigil, runc);
  t.regex(vigil, /^hostname=oci-rich$/m);
  t.regex(vigil, /^ids=1000:1000 groups=1000 5 20$/m);
  t.regex(vigil, /^cwd=\/srv umask=0027$/m);
  t.regex(vigil, /^env:GREETING=hello world$/m);
  t.regex(vigil, /^CapEff:0000000000000000$/m);
  t.regex(vigil, /^Max open files 512 1024 files $/m);
  t.regex(vigil, /^Max processes 100 200 processes $/m);
  t.regex(vigil, /^mount:\/data ro,nodev,\S* /m);
  t.regex(vigil, /^from the host$/m);
  // The limits are in the container's cgroups (v1 memory and pids on a hybrid host).
  const state = env.store.read('oci-rich');
  const layout = detectLayout();
  const memoryFile = layout.v2Controllers.has('memory') ? path.join(state.cgroup!.v2, 'memory.max') : path.join(state.cgroup!.v1.memory!, 'memory.limit_in_bytes');
  const pidsFile = layout.v2Controllers.has('pids') ? path.join(state.cgroup!.v2, 'pids.max') : path.join(state.cgroup!.v1.pids!, 'pids.max');
  t.is(fs.readFileSync(memoryFile, 'utf8').trim(), String(64 * 1024 * 1024));
  t.is(fs.readFileSync(pidsFile, 'utf8').trim(), '64');
  const cpu = (v2File: string, v1File: string, controller: 'cpu' | 'cpuset' = 'cpu') => fs.readFileSync(
    layout.v2Controllers.has(controller) ? path.join(state.cgroup!.v2, v2File) : path.join(state.cgroup!.v1[controller]!, v1File), 'utf8').trim();
  if (layout.v2Controllers.has('cpu')) t.is(cpu('cpu.max', ''), '50000 200000');
  else t.deepEqual([cpu('', 'cpu.cfs_quota_us'), cpu('', 'cpu.cfs_period_us'), cpu('', 'cpu.shares')], ['50000', '200000', '512']);
  t.is(cpu('cpuset.cpus', 'cpuset.cpus', 'cpuset'), '0');
  env.ok(t, 'rm', '-f', 'oci-rich');
  t.deepEqual(env.leftovers(['oci-rich']), []);
});

run('namespaces follow the bundle: without network, ipc and uts the process shares the host\'s; with cgroup it gets its own', (t) => {
  const dir = makeBundle('ns', (c) => {
    c.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'cgroup' }];
    delete c.hostname;
    c.process.args = ['sleep', '600'];
  });
  env.ok(t, 'create', '--bundle', dir, '--name', 'oci-ns');
  t.is(env.inspect(t, 'oci-ns').state, 'created');
  env.ok(t, 'start', 'oci-ns');
  const pid = env.inspect(t, 'oci-ns').processes[0].pid!;
  const ns = (p: number | 'self', kind: string) => fs.readlinkSync(`/proc/${p}/ns/${kind}`);
  for (const kind of ['net', 'ipc', 'uts']) t.is(ns(pid, kind), ns('self', kind), kind);
  for (const kind of ['pid', 'mnt', 'cgroup']) t.not(ns(pid, kind), ns('self', kind), kind);
  env.ok(t, 'rm', '-f', 'oci-ns');
  t.deepEqual(env.leftovers(['oci-ns']), []);
});

run('the bundle\'s process is the business process "main": the monitor restarts it with the same confinement and env', async (t) => {
  const dir = makeBundle('watched', (c) => (c.process.args = ['sleep', '600']));
  const monitor = env.startMonitor();
  try {
    await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
    env.ok(t, 'run', '--bundle', dir, '--name', 'oci-watched');
    const before = env.inspect(t, 'oci-watched').processes[0];
    const from = monitor.lines.length;
    process.kill(before.pid!, 'SIGKILL');
    const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.container === 'oci-watched' && l.process === 'main', 10_000, from);
    t.not(restart.pid, before.pid);
    const status = fs.readFileSync(`/proc/${restart.pid}/status`, 'utf8');
    t.regex(status, /^CapBnd:\s+0000000020000420$/m);
    t.regex(status, /^NoNewPrivs:\s+1$/m);
    const environ = fs.readFileSync(`/proc/${restart.pid}/environ`, 'utf8').split('\0').filter(Boolean).sort();
    t.deepEqual(environ, ['HOME=/', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'VIGIL_CONTAINER=oci-watched', 'VIGIL_PROCESS=main']);
  } finally {
    await monitor.stop();
  }
  env.ok(t, 'rm', '-f', 'oci-watched');
  t.deepEqual(env.leftovers(['oci-watched']), []);
});

/** chown -R for a rootfs seen through a user namespace (symlinks themselves, not their targets). */
function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

run('a user namespace from linux.uidMappings: root inside, an unprivileged id on the host; the same view as runc run', async (t) => {
  const dir = makeBundle('userns', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.process.args = ['sh', '-c', `${probe("cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '")}\nexec sleep 600`];
  });
  chownTree(path.join(dir, 'rootfs'), 100000, 100000);
  // runc walks to the bundle as the namespace's root (vigil does so as the host's): the test root is 0700.
  fs.chmodSync(env.root, 0o711);
  const runcConfig = path.join(dir, 'config.json');
  // runc's process must end for `runc run` to return: the same probe without the sleep.
  const original = fs.readFileSync(runcConfig, 'utf8');
  const c = JSON.parse(original);
  c.process.args[2] = c.process.args[2].replace('\nexec sleep 600', '');
  fs.writeFileSync(runcConfig, JSON.stringify(c));
  const runc = runcRun(t, dir, 'userns');
  fs.writeFileSync(runcConfig, original);
  const vigil = await vigilRun(t, dir, 'oci-userns');
  compare(t, vigil, runc);
  t.regex(vigil, /^ids=0:0 groups=0$/m);
  t.regex(vigil, /^ 0 100000 65536$/m);
  t.regex(vigil, /^CapEff:0000000020000420$/m);
  t.regex(vigil, /^mount:\/dev\/null \S+ devtmpfs$/m, 'device nodes are the host\'s, bound (no mknod in a user namespace)');
  const pid = env.inspect(t, 'oci-userns').processes[0].pid!;
  t.regex(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+100000\s+100000\s+100000\s+100000$/m, 'an unprivileged uid on the host');
  const exec = env.cli('exec', 'oci-userns', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "');
  t.is(exec.status, 0, exec.stderr);
  t.is(exec.stdout, '0\n 0 100000 65536\n', 'vigil exec joins the user namespace too');
  env.ok(t, 'rm', '-f', 'oci-userns');
  t.deepEqual(env.leftovers(['oci-userns']), []);
});

/** Each broken bundle: how to break it, and what the refusal must say. */
const broken: Array<[string, (dir: string) => void, RegExp, number]> = [
  ['no config.json', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json: the bundle has no config\.json/, 2],
  ['config.json that is not JSON', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"ociVersion": '), /config\.json: not valid JSON/, 2],
  ['an unsupported field', (d) => edit(d, (c) => (c.hooks = { prestart: [{ path: '/bin/true' }] })), /config\.json: hooks: not supported by vigil/, 2],
  ['an unknown field', (d) => edit(d, (c) => (c.linux.resources.frobs = 3)), /config\.json: linux\.resources\.frobs: not supported by vigil/, 2],
  ['a missing rootfs', (d) => fs.rmSync(path.join(d, 'rootfs'), { recursive: true }), /config\.json: root\.path: ".*\/rootfs" cannot be used: ENOENT/, 2],
  ['a bad resource value', (d) => edit(d, (c) => (c.linux.resources.memory = { limit: 100 })), /config\.json: linux\.resources\.memory\.limit: must be at least 4194304, got 100/, 2],
  ['a missing bind source', (d) => edit(d, (c) => c.mounts.push({ destination: '/x', source: '/nonexistent/vigil', options: ['bind'] })), /config\.json: mounts\[7\]\.source: "\/nonexistent\/vigil" cannot be used: ENOENT/, 2],
  ['terminal true', (d) => edit(d, (c) => (c.process.terminal = true)), /config\.json: process\.terminal: true needs a console/, 2],
  ['a mount the kernel refuses', (d) => edit(d, (c) => (c.mounts[1].options = ['nosuid', 'size=lots'])), /mount '\/dev': EINVAL/, 125],
  ['a program that does not exist', (d) => edit(d, (c) => (c.process.args = ['/bin/nothing-here'])), /exec '\/bin\/nothing-here': ENOENT/, 127],
];

function edit(dir: string, change: (c: Record<string, any>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

run('broken bundles are refused naming the field, and leave nothing behind', (t) => {
  broken.forEach(([what, breakIt, message, status], i) => {
    const name = `oci-bad-${i}`;
    const dir = makeBundle(name);
    breakIt(dir);
    for (const verb of ['run', 'create']) {
      const r = env.cli(verb, '--bundle', dir, '--name', name);
      t.is(r.status, verb === 'create' && status !== 2 ? 0 : status, `${verb} ${what}: ${r.stderr}`);
      if (verb === 'run' || status === 2) t.regex(r.stderr, message, `${verb} ${what}`);
      // create records a container the kernel has not yet judged; start then fails the same way and rm clears it.
      if (verb === 'create' && status !== 2) {
        const s = env.cli('start', name);
        t.is(s.status, status, `start ${what}: ${s.stderr}`);
        t.regex(s.stderr, message);
        env.ok(t, 'rm', name);
      }
      t.deepEqual(env.leftovers([name]), [], `${verb} ${what} left something`);
    }
  });
  t.is(env.cli('run', '--bundle', path.join(env.root, 'no-such-bundle')).status, 2);
  t.regex(env.cli('run', '--bundle', path.join(env.root, 'no-such-bundle')).stderr, /--bundle: ".*no-such-bundle" cannot be used: ENOENT/);
  t.regex(env.cli('run', '--bundle', path.join(env.root, 'bundles'), '--memory', '64M').stderr, /--bundle takes only --name and --restart/);
});
