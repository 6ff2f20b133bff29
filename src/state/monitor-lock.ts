/**
 * `monitor.lock` tells whether a monitor runs: a monitor holds it for its
 * life. CLI commands take it too, for milliseconds: to probe for a monitor
 * (`monitorRunning`) and to append to the journal while none runs
 * (journal/without-monitor.ts). So a held lock is a monitor's only when the
 * monitor's control socket is there, or when it stays held: a command that
 * finds it held without a socket waits (up to a second) for another
 * command's brief hold to end, instead of taking that command for a monitor.
 */
import fs from 'node:fs';
import { controlSocketPath } from '../control/protocol.js';
import { sleepSync } from '../launcher/proc.js';
import { flock } from '../tracer/native.js';
import type { Store } from './store.js';

/** How long another command's hold is waited out before the holder is taken for a monitor starting. */
const PATIENCE_MS = 1000;
const RETRY_MS = 10;

/**
 * The lock, taken (close the descriptor to release it), or null when a
 * monitor holds it; with `create: false` and no lock file yet, 'absent' (no
 * monitor ever ran there, and nothing is made by asking).
 */
export function takeMonitorLock(store: Store, create: boolean): number | null | 'absent' {
  let fd: number;
  try {
    fd = fs.openSync(store.monitorLockFile, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY, 0o644);
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  if (lockPatiently(fd, PATIENCE_MS, () => fs.existsSync(controlSocketPath(store.root)))) return fd;
  fs.closeSync(fd);
  return null;
}

/**
 * Take an exclusive flock on fd, waiting out another's brief hold for up to
 * patienceMs, or less once `giveUp` says the holder is there to stay.
 */
export function lockPatiently(fd: number, patienceMs: number, giveUp: () => boolean = () => false): boolean {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    if (flock(fd, true, false)) return true;
    if (giveUp() || Date.now() >= deadline) return false;
    sleepSync(RETRY_MS);
  }
}

/** Does a monitor run for this root? */
export function monitorHoldsLock(store: Store): boolean {
  const fd = takeMonitorLock(store, false);
  if (fd === null) return true;
  if (fd !== 'absent') fs.closeSync(fd);
  return false;
}
