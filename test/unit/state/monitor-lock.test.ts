import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { controlSocketPath } from '../../../src/control/protocol.js';
import { Store } from '../../../src/state/store.js';
import { monitorHoldsLock, takeMonitorLock } from '../../../src/state/monitor-lock.js';

function tempStore(t: ExecutionContext): Store {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-unit-mlock-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return new Store(root);
}

/** Another process holds monitor.lock until `release` is written to its stdin; resolves once it holds it. */
async function holdElsewhere(store: Store): Promise<{ release: () => Promise<void> }> {
  const child = spawn('flock', ['--exclusive', store.monitorLockFile, 'sh', '-c', 'echo held; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return {
    release: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end('\n');
    }),
  };
}

test.serial('no lock file: no monitor, and nothing is made by asking', (t) => {
  const store = tempStore(t);
  t.false(monitorHoldsLock(store));
  t.false(fs.existsSync(store.monitorLockFile));
});

test.serial('a hold with the control socket present is a monitor: refused at once, while the holder still holds', async (t) => {
  const store = tempStore(t);
  fs.mkdirSync(path.dirname(controlSocketPath(store.root)), { recursive: true });
  fs.writeFileSync(controlSocketPath(store.root), '');
  const holder = await holdElsewhere(store);
  t.is(takeMonitorLock(store, true), null);
  t.true(monitorHoldsLock(store));
  await holder.release();
  const fd = takeMonitorLock(store, true);
  t.true(typeof fd === 'number');
  fs.closeSync(fd as number);
});

test.serial('a hold without the socket that outlasts the patience is taken for a monitor starting', async (t) => {
  const store = tempStore(t);
  const holder = await holdElsewhere(store);
  t.is(takeMonitorLock(store, true), null, 'held for the whole second: a monitor');
  await holder.release();
});

test.serial('another command\'s brief hold (no socket) is waited out, not taken for a monitor', async (t) => {
  const store = tempStore(t);
  fs.writeFileSync(store.monitorLockFile, '');
  // The holder lets go 200 ms after it got the lock, from another process, while we wait synchronously.
  const child = spawn('flock', ['--exclusive', store.monitorLockFile, 'sh', '-c', 'echo held; sleep 0.2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const fd = takeMonitorLock(store, true);
  t.true(typeof fd === 'number', 'taken once the other hold ended');
  fs.closeSync(fd as number);
  await new Promise((r) => child.once('exit', r));
});
