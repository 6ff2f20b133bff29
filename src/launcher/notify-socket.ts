/**
 * Where the notify socket lives (monitor/notify.ts binds it): one per state
 * root on the host, its directory bind-mounted read-only into every container
 * with a watchdog process. A directory rather than the socket itself, so a
 * new monitor's rebind (a new inode at the same path) is seen inside.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HelperConfig } from './helper.js';
import type { ContainerSpec, ProcessSpec } from './spec.js';

export const NOTIFY_DIR_IN_CONTAINER = '/run/vigil/notify';
export const NOTIFY_SOCKET_NAME = 'notify.sock';

export function notifyDir(root: string): string {
  return path.join(root, 'notify');
}

/** The environment a watchdog process gets; the helper adds WATCHDOG_PID, known only inside the pid namespace. */
export function notifyEnv(p: ProcessSpec): Record<string, string> {
  if (!p.watchdog) return {};
  return { NOTIFY_SOCKET: `${NOTIFY_DIR_IN_CONTAINER}/${NOTIFY_SOCKET_NAME}`, WATCHDOG_USEC: String(p.watchdog.interval * 1000) };
}

/** The bind mount for the container's create config, when a process of it has a watchdog. */
export function notifyMountConfig(root: string, spec: ContainerSpec): HelperConfig {
  if (!spec.processes.some((p) => p.watchdog)) return [];
  const dir = notifyDir(root);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return [['mount_source', dir], ['mount_target', NOTIFY_DIR_IN_CONTAINER], ['mount_readonly', '1']];
}
