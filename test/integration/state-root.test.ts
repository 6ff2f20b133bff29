import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { kernelSerial } from '../helpers/kernel-test.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');
const { serial } = kernelSerial('state roots on kernel file systems');

// The /proc, /sys and /dev trees are refused by path (unit test); a kernel file
// system mounted anywhere else is refused by its type. The mount lives in a
// private mount namespace that ends with the command.
for (const [fsType, sub] of [['proc', 'self'], ['bpf', 'vigil'], ['cgroup2', 'vigil']]) {
  serial(`a state root on ${fsType} mounted outside /proc, /sys and /dev is refused at once`, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-root-fs-'));
    t.teardown(() => fs.rmdirSync(dir));
    const root = path.join(dir, sub);
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'mount -t "$1" none "$2" && exec "$3" "$4" --root "$5" run --name spin -- /bin/true', 'sh', fsType, dir, process.execPath, VIGIL, root],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, VIGIL_ROOT: '' } });
    t.is(r.signal, null, 'vigil ended by itself');
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, new RegExp(`^vigil: --root ${root}: a path on ${fsType}, a kernel pseudo file system`));
    t.deepEqual(fs.readdirSync(dir), [], 'nothing was made where the mount was');
  });
}
