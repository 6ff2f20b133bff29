/**
 * Linux capabilities by name, Docker's default set, and the set a process
 * gets from its container's and its own `security` fields. Pure.
 */

/** Capability numbers from linux/capability.h. */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CHOWN: 0, DAC_OVERRIDE: 1, DAC_READ_SEARCH: 2, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7,
  SETPCAP: 8, LINUX_IMMUTABLE: 9, NET_BIND_SERVICE: 10, NET_BROADCAST: 11, NET_ADMIN: 12, NET_RAW: 13,
  IPC_LOCK: 14, IPC_OWNER: 15, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_CHROOT: 18, SYS_PTRACE: 19,
  SYS_PACCT: 20, SYS_ADMIN: 21, SYS_BOOT: 22, SYS_NICE: 23, SYS_RESOURCE: 24, SYS_TIME: 25,
  SYS_TTY_CONFIG: 26, MKNOD: 27, LEASE: 28, AUDIT_WRITE: 29, AUDIT_CONTROL: 30, SETFCAP: 31,
  MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34, WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37,
  PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
};

export const ALL_CAPABILITIES: readonly string[] = Object.keys(CAPABILITIES);

/** Docker's default set: what a container's processes keep unless the spec says otherwise. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP',
];

/** "cap_net_admin", "CAP_NET_ADMIN" and "NET_ADMIN" all name NET_ADMIN; "ALL" names every one. */
export function normalizeCapability(text: string): string | null {
  const name = text.toUpperCase().replace(/^CAP_/, '');
  return name === 'ALL' || name in CAPABILITIES ? name : null;
}

export interface CapabilityChange {
  add: string[];
  drop: string[];
}

/** Drops first, then adds (so `drop: [ALL], add: [NET_BIND_SERVICE]` keeps one), container before process. */
export function resolveCapabilities(privileged: boolean, changes: CapabilityChange[]): string[] {
  const set = new Set(privileged ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES);
  for (const { add, drop } of changes) {
    for (const c of drop) if (c === 'ALL') set.clear(); else set.delete(c);
    for (const c of add) if (c === 'ALL') ALL_CAPABILITIES.forEach((a) => set.add(a)); else set.add(c);
  }
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}

/** The bit mask the helper takes (bit N = capability N), as hex. */
export function capabilityMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(CAPABILITIES[n]);
  return mask.toString(16);
}

/** Names from a /proc/PID/status Cap* hex field. */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return ALL_CAPABILITIES.filter((c) => (mask >> BigInt(CAPABILITIES[c])) & 1n);
}
