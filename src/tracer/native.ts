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
  /** Signal events per second allowed per watched cgroup (0 = no limit). Default 200. */
  readonly signalRate?: number;
  /** Signal events allowed above the rate in a burst. Default 400. */
  readonly signalBurst?: number;
  /**
   * Who the build is (object and settings): a pinned tracer with another
   * identity is replaced, without a gap. Up to 63 characters.
   */
  readonly identity?: string;
  /** Optional programs not to attach (as if this kernel could not load them). */
  readonly skip?: ReadonlyArray<'fork' | 'exec'>;
  /** Which OOM program to use; `auto` (the default) asks the kernel's BTF. */
  readonly oomHook?: 'auto' | 'tracepoint' | 'fentry' | 'none';
  /** BTF for CO-RE relocations and the hook choice instead of the kernel's own. */
  readonly btfPath?: string;
}

export type OomHookName = 'none' | 'tracepoint' | 'fentry';

export interface TracerEnsureResult {
  /** A build was loaded and attached by this call. */
  readonly loaded: boolean;
  /** ...replacing a pinned one (old and new overlapped; nothing missed). */
  readonly upgraded: boolean;
  /** The active generation (1 for the first build in a pin directory). */
  readonly generation: number;
  readonly oomHook: OomHookName;
  /**
   * Optional hooks (oom, fork, exec) left out, and why: this kernel would not
   * load or attach the program (the rest loaded), or it was asked for.
   */
  readonly skipped: ReadonlyArray<{ hook: 'oom' | 'fork' | 'exec'; why: string }>;
}

export interface TracerProgramInfo {
  /** The pin of its link, e.g. link_exit. */
  readonly link: string;
  readonly name: string;
  readonly id: number;
  /** Kernel run time and count (only grow while kernel.bpf_stats_enabled=1). */
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
}

export interface TracerInfo {
  readonly generation: number;
  readonly oomHook: OomHookName;
  readonly identity: string;
  readonly programs: TracerProgramInfo[];
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

/** One notify datagram and who sent it (pid in the receiver's pid namespace). */
export interface NotifyMessage {
  pid: number;
  uid: number;
  text: string;
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
  /** Load, attach and pin unless pinDir already holds a complete tracer of this identity. */
  tracerEnsure(objPath: string, pinDir: string, options?: TracerEnsureOptions): TracerEnsureResult;
  tracerInfo(pinDir: string): TracerInfo;
  /** Whether btfPath exists and the kernel offers BPF ring buffers. */
  kernelSupport(btfPath: string): { btf: boolean; ringbuf: boolean };
  /** Unlink every pin and the directory; missing ones are fine. */
  tracerRemove(pinDir: string): void;
  watch(pinDir: string, cgroupId: bigint): void;
  unwatch(pinDir: string, cgroupId: bigint): void;
  /** Per kind index 0..7, summed over CPUs: records lost (`drops`) or rate-limited (`limited`). */
  counters(pinDir: string, name: 'drops' | 'limited'): bigint[];
  /** flock(2). Returns false when !wait and the lock is held elsewhere. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** mount(2) the cgroup v2 hierarchy at target (nosuid, nodev, noexec); throws with errno and path. */
  mountCgroup2(target: string): void;
  /** CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns(). */
  monotonicNs(): bigint;
  /** SO_PEERCRED of a connected Unix socket: who connected (at connect time). */
  peerCred(fd: number): { pid: number; uid: number; gid: number };
  /** A non-blocking datagram Unix socket with SO_PASSCRED bound at path (a stale socket there is replaced); its fd. */
  notifyBind(path: string): number;
  /** Up to max waiting messages with the sender's pid (SCM_CREDENTIALS); never blocks. */
  notifyReceive(fd: number, max: number): NotifyMessage[];
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
export const counters: VigilNative['counters'] = (pinDir, name) => loadNative().counters(pinDir, name);
export const tracerInfo: VigilNative['tracerInfo'] = (pinDir) => loadNative().tracerInfo(pinDir);
export const kernelSupport: VigilNative['kernelSupport'] = (btfPath) => loadNative().kernelSupport(btfPath);
export const flock: VigilNative['flock'] = (fd, exclusive, wait) => loadNative().flock(fd, exclusive, wait);
export const mountCgroup2: VigilNative['mountCgroup2'] = (target) => loadNative().mountCgroup2(target);
export const monotonicNs: VigilNative['monotonicNs'] = () => loadNative().monotonicNs();
export const peerCred: VigilNative['peerCred'] = (fd) => loadNative().peerCred(fd);
export const notifyBind: VigilNative['notifyBind'] = (p) => loadNative().notifyBind(p);
export const notifyReceive: VigilNative['notifyReceive'] = (fd, max) => loadNative().notifyReceive(fd, max);
export function openNativeConsumer(pinDir: string, callback: (records: Buffer[]) => void): NativeConsumer {
  return new (loadNative().Consumer)(pinDir, callback);
}
