/**
 * The addon's notify socket on the host (no container, no root needed): a
 * sender's pid comes from the kernel, a stale socket is replaced, anything
 * else at the path is refused, and receiving never blocks.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TESTBIN_PATH } from '../../../src/paths.js';
import { notifyBind, notifyReceive, type NotifyMessage } from '../../../src/tracer/native.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-notify-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

async function receive(fd: number, want: number, timeoutMs = 5000): Promise<NotifyMessage[]> {
  const got: NotifyMessage[] = [];
  const end = Date.now() + timeoutMs;
  while (got.length < want && Date.now() < end) {
    got.push(...notifyReceive(fd, 64));
    await new Promise((r) => setTimeout(r, 20));
  }
  return got;
}

test('messages arrive with the sender\'s pid; an empty socket returns nothing at once', async (t) => {
  const sock = path.join(dir, 'a.sock');
  const fd = notifyBind(sock);
  t.teardown(() => fs.closeSync(fd));
  t.deepEqual(notifyReceive(fd, 10), []);
  t.is(fs.statSync(sock).mode & 0o777, 0o666);
  const child = spawn(TESTBIN_PATH, ['notify', '20', '2'], { env: { NOTIFY_SOCKET: sock }, stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const got = await receive(fd, 3);
  t.deepEqual(got.map((m) => m.text), ['READY=1\nSTATUS=serving', 'WATCHDOG=1', 'WATCHDOG=1']);
  for (const m of got) {
    t.is(m.pid, child.pid!);
    t.is(m.uid, process.getuid!());
  }
});

test('a stale socket left by an earlier monitor is replaced; another file is refused', (t) => {
  const sock = path.join(dir, 'b.sock');
  fs.closeSync(notifyBind(sock)); // bound, then its owner gone: the file stays
  t.true(fs.statSync(sock).isSocket());
  const fd = notifyBind(sock);
  fs.closeSync(fd);
  const plain = path.join(dir, 'plain');
  fs.writeFileSync(plain, 'x');
  const err = t.throws(() => notifyBind(plain));
  t.regex(err!.message, /bind \(not a socket\).*plain/);
  t.is(fs.readFileSync(plain, 'utf8'), 'x');
});
