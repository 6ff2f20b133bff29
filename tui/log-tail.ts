/**
 * The last lines of a process's log file (its path comes in the snapshot),
 * read from the end: at most TAIL_BYTES, however large the file has grown.
 */
import fs from 'node:fs';

const TAIL_BYTES = 16 * 1024;

export function readTail(file: string, lines: number): { lines: string[]; error: string | null } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { lines: [], error: code === 'ENOENT' ? `no log yet (${file})` : `${file}: ${(err as Error).message}` };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    let text = buf.toString('utf8');
    // A cut first line is not shown half.
    if (size > length) text = text.slice(text.indexOf('\n') + 1);
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    // Control characters would move the cursor: show them as '?'.
    return { lines: all.slice(-lines).map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')), error: null };
  } finally {
    fs.closeSync(fd);
  }
}
