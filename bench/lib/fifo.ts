/**
 * "The container's first process is running", as the harness sees it: the
 * process opens a FIFO bound in from the host, and the harness, blocked in
 * open(2) for reading, wakes at that moment. Every engine gets the same probe.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export class Fifo {
  readonly path: string;

  constructor(readonly dir: string, name = 'ready') {
    fs.mkdirSync(dir, { recursive: true });
    this.path = path.join(dir, name);
    fs.rmSync(this.path, { force: true });
    const r = spawnSync('mkfifo', [this.path]);
    if (r.status !== 0) throw new Error(`mkfifo ${this.path} failed`);
  }

  /**
   * Wait for the next writer: resolves with process.hrtime.bigint() at the
   * moment open(2) returned. What the writer writes is read to its end, so
   * it never sees EPIPE. cancel() releases a reader still waiting.
   */
  arm(): { opened: Promise<bigint>; cancel: () => void } {
    let settled = false;
    const opened = new Promise<bigint>((resolve, reject) => {
      fs.open(this.path, 'r', (err, fd) => {
        const at = process.hrtime.bigint();
        settled = true;
        if (err) return reject(err);
        drain(fd, () => resolve(at));
      });
    });
    const cancel = () => {
      if (settled) return;
      try {
        fs.closeSync(fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // no reader waiting after all
      }
    };
    return { opened, cancel };
  }
}

function drain(fd: number, done: () => void): void {
  const buf = Buffer.alloc(256);
  const next = () =>
    fs.read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err || n === 0) {
        fs.close(fd, () => done());
        return;
      }
      next();
    });
  next();
}
