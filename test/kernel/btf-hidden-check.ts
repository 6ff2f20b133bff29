/**
 * The BTF-hidden cell's check (run by test/kernel/matrix.sh in a guest whose
 * /sys/kernel/btf is masked): `vigil doctor` says plainly that BTF is missing,
 * and a process's exit is still detected and reported by `vigil monitor`.
 * Prints TAP, so the matrix counts it like the ava suite. Not an ava file: on a
 * host with BTF it has nothing to prove, and ava would run it there.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { KernelEnv, TESTBIN_IN_CONTAINER } from '../helpers/kernel-env.js';

let n = 0;
let failed = 0;
function report(ok: boolean, name: string, detail = ''): void {
  n++;
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - btf-hidden › ${name}`);
  if (!ok && detail) console.log(detail.split('\n').map((l) => `  # ${l}`).join('\n'));
}

console.log('TAP version 13');
if (fs.existsSync('/sys/kernel/btf/vmlinux')) {
  report(false, 'BTF is hidden in this cell', '/sys/kernel/btf/vmlinux exists: the cell did not mask it');
} else {
  report(true, 'BTF is hidden in this cell');
  const env = new KernelEnv('nobtf');
  try {
    const doctor = spawnSync(process.execPath, ['bin/vigil', 'doctor'], { env: env.env, encoding: 'utf8', timeout: 120_000 });
    const text = `${doctor.stdout}${doctor.stderr}`;
    report(/BTF/.test(text) && text.includes('/sys/kernel/btf/vmlinux'), 'vigil doctor names the missing BTF and where it looked', text);

    const monitor = env.startMonitor();
    const started = await monitor.waitFor((l) => l.kind === 'monitor', 120_000).then(() => true, (err: Error) => err.message);
    report(started === true, 'vigil monitor starts without BTF', started === true ? '' : `${started}\n${monitor.stderr}`);
    if (started === true) {
      const file = env.writeSpec('nobtf', env.spec('nobtf', [{ name: 'quitter', command: [TESTBIN_IN_CONTAINER, 'exit', '3'], restart: 'never' }]));
      const run = env.cli('run', file);
      report(run.status === 0, 'vigil run starts a container without BTF', run.stderr);
      const exit = await monitor.waitFor((l) => l.kind === 'exit' && l.process === 'quitter', 120_000).then((l) => l, (err: Error) => err);
      report(!(exit instanceof Error) && exit.code === 3, 'the exit (status 3) is detected and reported', exit instanceof Error ? exit.message : JSON.stringify(exit));
    }
  } finally {
    env.cleanup();
  }
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
