/**
 * The helper configuration for what confines a process: capabilities,
 * no_new_privs, rlimits, supplementary groups, umask. Pure: spec in, helper
 * key/value pairs out. The helper applies them in the order the kernel needs.
 */
import { capabilityMask, resolveCapabilities, type CapabilityChange } from './capabilities.js';
import type { HelperConfig } from './helper.js';
import type { ContainerSpec, ProcessSpec } from './spec.js';

const NO_CHANGE: CapabilityChange = { add: [], drop: [] };

/** Capabilities a process gets: Docker's default (or all, privileged), then the container's changes, then its own. */
export function processCapabilities(spec: ContainerSpec, proc: ProcessSpec | null): string[] {
  const changes = [spec.security?.capabilities ?? NO_CHANGE];
  if (proc?.security) changes.push(proc.security.capabilities);
  return resolveCapabilities(spec.privileged ?? false, changes);
}

/** no_new_privs is on unless the process, or else the container, turns it off; privileged turns it off by default. */
export function noNewPrivileges(spec: ContainerSpec, proc: ProcessSpec | null): boolean {
  return proc?.security?.noNewPrivileges ?? spec.security?.noNewPrivileges ?? !(spec.privileged ?? false);
}

export function securityConfig(spec: ContainerSpec, proc: ProcessSpec | null): HelperConfig {
  return [
    ['caps', capabilityMask(processCapabilities(spec, proc))],
    ['no_new_privs', noNewPrivileges(spec, proc) ? '1' : '0'],
  ];
}

/** rlimits, groups and umask of one process. */
export function processLimitsConfig(proc: ProcessSpec): HelperConfig {
  const config: HelperConfig = [];
  for (const [name, { soft, hard }] of Object.entries(proc.rlimits ?? {})) config.push(['rlimit', `${name}:${soft}:${hard}`]);
  for (const g of proc.groups ?? []) config.push(['group', String(g)]);
  if (proc.umask) config.push(['umask', proc.umask]);
  return config;
}

/**
 * vigil-init keeps the container's set plus KILL, whatever the spec drops: it
 * forwards termination signals to processes of any user. Nothing is started
 * from init, so its set reaches no business process.
 */
export function initSecurityConfig(spec: ContainerSpec): HelperConfig {
  const caps = processCapabilities(spec, null);
  return [
    ['caps', capabilityMask(caps.includes('KILL') ? caps : [...caps, 'KILL'])],
    ['no_new_privs', noNewPrivileges(spec, null) ? '1' : '0'],
  ];
}
