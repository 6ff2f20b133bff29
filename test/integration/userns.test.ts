/**
 * A user namespace from vigil's spec (`userns`), image-less: root inside is
 * an unprivileged id on the host, other users map along, `vigil exec` and a
 * restart by the monitor join the same namespace, and bad maps are refused
 * before anything is made.
 */
import test from 'ava';
import fs from 'node:fs';
import { KernelEnv } from '../helpers/kernel-env.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const { serial, missing } = kernelSerial('user namespace tests');

const env = missing ? null! : new KernelEnv('userns');
test.after.always(() => env?.cleanup());

const USERNS = { uidMap: [{ containerID: 0, hostID: 200000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 200000, size: 65536 }] };

const hostIds = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return [/^Uid:\s+(\d+)/m.exec(status)![1], /^Gid:\s+(\d+)/m.exec(status)![1]].map(Number);
};


serial('root inside is an unprivileged id on the host; other users, exec and a restart by the monitor follow the map', async (t) => {
  env.ok(t, 'run', env.writeSpec('mapped', {
    name: 'mapped',
    userns: USERNS,
    processes: [
      { name: 'root', command: ['/bin/sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "; touch /tmp/x && echo tmp-writable; echo done; exec sleep 600'], restart: { policy: 'always', backoff: { initial: '10ms' } } },
      { name: 'user', command: ['/bin/sleep', '600'], user: '1000:1000', groups: [5] },
    ],
  }));
  const log = await env.logUntil('mapped', 'root', 'done');
  t.regex(log, /^0\n 0 200000 65536\ntmp-writable\n/m);
  const procs = env.inspect(t, 'mapped').processes;
  t.deepEqual(hostIds(procs[0].pid!), [200000, 200000]);
  t.deepEqual(hostIds(procs[1].pid!), [201000, 201000]);
  t.deepEqual(hostIds(env.inspect(t, 'mapped').pid!), [200000, 200000], 'vigil-init too');
  const exec = env.cli('exec', 'mapped', '--', '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "');
  t.is(exec.stdout, '0\n 0 200000 65536\n', exec.stderr);

  const monitor = env.startMonitor();
  try {
    await monitor.waitFor((l) => l.kind === 'monitor' && /watching/.test(l.reason));
    const from = monitor.lines.length;
    process.kill(procs[0].pid!, 'SIGKILL');
    const restart = await monitor.waitFor((l) => l.kind === 'restart' && l.process === 'root', 10_000, from);
    t.deepEqual(hostIds(restart.pid!), [200000, 200000], 'the restarted process is in the user namespace');
    t.is(fs.readlinkSync(`/proc/${restart.pid}/ns/user`), fs.readlinkSync(`/proc/${env.inspect(t, 'mapped').pid}/ns/user`));
  } finally {
    await monitor.stop();
  }
  env.ok(t, 'rm', '-f', 'mapped');
  t.deepEqual(env.leftovers(['mapped']), []);
});

serial('a rootfs the mapped root may not write is reported by the helper with its step and path, and nothing is left', (t) => {
  // Owned by the host's root, which the user namespace does not map: its root cannot make /proc there.
  const rootfs = fs.mkdtempSync(`${env.root}/rootfs-`);
  fs.chmodSync(rootfs, 0o755);
  fs.chmodSync(env.root, 0o711);
  const r = env.cli('run', env.writeSpec('unwritable', { name: 'unwritable', rootfs, userns: USERNS, processes: [{ name: 'p', command: ['/bin/sleep', '600'] }] }));
  t.is(r.status, 125, r.stderr);
  t.regex(r.stderr, /mkdir\(mount point\) '\/proc': EACCES/);
  t.deepEqual(env.leftovers(['unwritable']), []);
});
