/**
 * `critical: true`, pure: the death of such a process restarts its whole
 * container at once, whatever its own restart policy says, unless the
 * operator asked for it or the container is already down (then the init's
 * death is what gets answered, once).
 */
import type { ProcessSpec } from '../launcher/spec.js';

export function isCriticalDeath(spec: Pick<ProcessSpec, 'critical'>, operatorsDeath: boolean, containerDown: boolean): boolean {
  return spec.critical === true && !operatorsDeath && !containerDown;
}

export function criticalReason(processName: string, what: string): string {
  return `${what}: ${processName} is critical, restarting the container`;
}
