/**
 * Container-level actions the monitor asks of the launcher: run as `vigil`
 * child processes, so the monitor's event loop never waits on a container's
 * stop timeout, and the launcher's own locking applies unchanged.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { restoreChildPriority } from './priority.js';
import { VIA_MONITOR_ENV } from '../control/protocol.js';

const VIGIL = path.join(PACKAGE_ROOT, 'bin/vigil');

export interface CliOutcome {
  status: number | null;
  stderr: string;
}

export function runVigil(root: string, args: string[]): Promise<CliOutcome> {
  return new Promise((resolve) => {
    // VIGIL_VIA_MONITOR (this monitor's pid): the monitor journals what it asks for itself; the child must not note it again.
    const child = spawn(process.execPath, [VIGIL, '--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [VIA_MONITOR_ENV]: String(process.pid) } });
    restoreChildPriority(child.pid);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ status: null, stderr: err.message }));
    child.on('close', (status) => resolve({ status, stderr: stderr.trim() }));
  });
}
