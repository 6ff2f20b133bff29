/**
 * Size-based rotation of process logs that processes write themselves.
 *
 * A process's stdout and stderr are the log file itself, opened O_APPEND by
 * vigil-helper: no relay process copies its output. So rotation cannot
 * rename the file away (the process would go on writing to the renamed one)
 * and cannot reopen anything in the process. It copies and truncates
 * instead: the current contents are copied to `P.log.1` (older generations
 * move to `.2` .. `.keep`, the oldest is dropped), then `P.log` is truncated
 * to zero. Because every writer appends (O_APPEND), its next write lands at
 * the new end, offset 0: no hole, no sparse file.
 *
 * The one loss: bytes written between the last read of the copy (which reads
 * until the size stops growing) and the truncate, a window of microseconds.
 * In-place collapse (fallocate COLLAPSE_RANGE) would lose nothing but works
 * on ext4 and xfs only, not on the tmpfs where /run/vigil lives.
 *
 * Rotators (the monitor, `vigil logs`, `vigil ps`) take an exclusive flock on
 * the log file; the writers never lock it.
 */
import fs from 'node:fs';
import { DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_BYTES } from '../launcher/spec.js';
import { flock } from '../tracer/native.js';

export interface LogPolicy {
  /** Rotate when the current file reaches this size (bytes). */
  maxBytes: number;
  /** Rotated generations kept (P.log.1 .. P.log.keep); 0 keeps none. */
  keep: number;
}

export const DEFAULT_LOG_POLICY: LogPolicy = { maxBytes: DEFAULT_LOG_MAX_BYTES, keep: DEFAULT_LOG_KEEP };

/** A container's policy; state written by older builds has none. */
export function logPolicyOf(spec: { logs?: LogPolicy }): LogPolicy {
  return spec.logs ?? DEFAULT_LOG_POLICY;
}

/** Rotate every log of a container that has grown past its policy: its processes' and `exec`'s. */
export function rotateContainerLogs(logFile: (process: string) => string, spec: { logs?: LogPolicy; processes: Array<{ name: string }> }): string[] {
  const policy = logPolicyOf(spec);
  const rotated: string[] = [];
  for (const name of [...spec.processes.map((p) => p.name), 'exec']) {
    const file = logFile(name);
    if (rotateIfLarge(file, policy)) rotated.push(file);
  }
  return rotated;
}

export function generation(file: string, n: number): string {
  return `${file}.${n}`;
}

const CHUNK = 1 << 20;

/** Copy everything in `fd` to `out`, reading until the size stops growing. Returns the bytes copied. */
function copyAll(fd: number, out: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let offset = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, CHUNK, offset);
    if (n === 0) return offset;
    fs.writeSync(out, buf, 0, n);
    offset += n;
  }
}

/**
 * Rotate `file` if it has reached `policy.maxBytes`. Returns whether it did.
 * A missing file, or one another rotator holds, is left alone.
 */
export function rotateIfLarge(file: string, policy: LogPolicy): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch {
    return false;
  }
  try {
    if (fs.fstatSync(fd).size < policy.maxBytes) return false;
    if (!flock(fd, true, false)) return false;
    // Locked: check again, another rotator may have just finished.
    if (fs.fstatSync(fd).size < policy.maxBytes) return false;
    if (policy.keep > 0) {
      fs.rmSync(generation(file, policy.keep), { force: true });
      for (let n = policy.keep - 1; n >= 1; n--) {
        try {
          fs.renameSync(generation(file, n), generation(file, n + 1));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      const tmp = `${generation(file, 1)}.tmp`;
      const out = fs.openSync(tmp, 'w', 0o640);
      try {
        copyAll(fd, out);
      } finally {
        fs.closeSync(out);
      }
      fs.ftruncateSync(fd, 0);
      fs.renameSync(tmp, generation(file, 1));
    } else {
      fs.ftruncateSync(fd, 0);
    }
    return true;
  } finally {
    fs.closeSync(fd); // releases the lock
  }
}

/** The log's generations and the current file, oldest first, as one text. */
export function readLog(file: string, keep: number): string {
  const parts: string[] = [];
  for (let n = keep; n >= 1; n--) {
    try {
      parts.push(fs.readFileSync(generation(file, n), 'utf8'));
    } catch {
      // not rotated that often yet
    }
  }
  try {
    parts.push(fs.readFileSync(file, 'utf8'));
  } catch {
    // nothing written yet
  }
  return parts.join('');
}
