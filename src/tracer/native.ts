/**
 * Typed loader for the vigil_native addon (native/addon). The .node file is
 * resolved from the package root (../paths.ts, which the CLI bundle shares).
 * Errors thrown by the addon carry `code` (ERR_BPF_*, ERR_SYSCALL,
 * ERR_INVALID_ARG_*), `syscall`, `path`, `errno` (a name such as 'ENOENT')
 * and, for load failures, `detail` (libbpf's log).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

export const ADDON_PATH = path.join(PACKAGE_ROOT, 'native/addon/build/Release/vigil_native.node');

export interface TracerEnsureOptions {
  /** Bit N = report signal N; set in .rodata before load. Default: DEFAULT_SIGNAL_MASK. */
  readonly signalMask?: bigint;
}

/** A reader of the pinned `events` ring buffer on the main loop. */
export interface NativeConsumer {
  /** Consume what is waiting now; calls the callback if anything came. Returns the count. */
  poll(): number;
  /** Stop reading and release the loop; safe to call twice. */
  close(): void;
  readonly closed: boolean;
}

export interface NativeConsumerConstructor {
  new (pinDir: string, callback: (records: Buffer[]) => void): NativeConsumer;
}

/** Shape of an error thrown by the addon. */
export interface NativeError extends Error {
  readonly code: string;
  readonly errno?: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly detail?: string;
}

export interface VigilNative {
  /** Load, attach and pin unless pinDir already holds a complete tracer. */
  tracerEnsure(objPath: string, pinDir: string, options?: TracerEnsureOptions): { loaded: boolean };
  /** Unlink every pin and the directory; missing ones are fine. */
  tracerRemove(pinDir: string): void;
  watch(pinDir: string, cgroupId: bigint): void;
  unwatch(pinDir: string, cgroupId: bigint): void;
  /** Lost records per kind index 0..7, summed over CPUs. */
  drops(pinDir: string): bigint[];
  /** flock(2). Returns false when !wait and the lock is held elsewhere. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns(). */
  monotonicNs(): bigint;
  /** SO_PEERCRED of a connected Unix socket: who connected (at connect time). */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  Consumer: NativeConsumerConstructor;
}

const require = createRequire(import.meta.url);

let cached: VigilNative | undefined;

/** Load the addon once (throws if it was not built: run `make addon`). */
export function loadNative(): VigilNative {
  cached ??= require(ADDON_PATH) as VigilNative;
  return cached;
}

export const tracerEnsure: VigilNative['tracerEnsure'] = (objPath, pinDir, options) =>
  loadNative().tracerEnsure(objPath, pinDir, options);
export const tracerRemove: VigilNative['tracerRemove'] = (pinDir) => loadNative().tracerRemove(pinDir);
export const watch: VigilNative['watch'] = (pinDir, cgroupId) => loadNative().watch(pinDir, cgroupId);
export const unwatch: VigilNative['unwatch'] = (pinDir, cgroupId) => loadNative().unwatch(pinDir, cgroupId);
export const drops: VigilNative['drops'] = (pinDir) => loadNative().drops(pinDir);
export const flock: VigilNative['flock'] = (fd, exclusive, wait) => loadNative().flock(fd, exclusive, wait);
export const monotonicNs: VigilNative['monotonicNs'] = () => loadNative().monotonicNs();
export const peerCred: VigilNative['peerCred'] = (fd) => loadNative().peerCred(fd);
export function openNativeConsumer(pinDir: string, callback: (records: Buffer[]) => void): NativeConsumer {
  return new (loadNative().Consumer)(pinDir, callback);
}
