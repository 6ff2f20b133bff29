/**
 * The exit overflow (vigil.bpf.c exit_overflow) over many containers' lives:
 * a cgroup that overflowed once and was unwatched (its container removed or
 * restarted: a new cgroup) must not keep room in the share counters, or the
 * overflow stops working for every later container.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DecodedEvent, ExitEvent } from '../../src/events/decode.js';
import { TESTBIN_PATH } from '../../src/paths.js';
import { dropCounts, openConsumer, unwatch, watch } from '../../src/tracer/tracer.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { TracerHarness, cgroupIdOf, ownV2Dir, rmdirRetry } from '../helpers/tracer-harness.js';

const { serial } = kernelSerial('exit overflow');
const h = new TracerHarness('overflow');
test.after.always(() => h.close());

/** Fill the ring buffer (no consumer reads it): `n` processes exit in `dir`. */
function stormIn(dir: string, n: number): void {
  execFileSync('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${TESTBIN_PATH} storm ${n}`], { stdio: 'ignore' });
}

/** Everything waiting, read by a consumer opened for the purpose. */
async function drain(pinDir: string): Promise<ExitEvent[]> {
  const seen: DecodedEvent[] = [];
  const consumer = openConsumer(pinDir, (events) => seen.push(...events));
  try {
    while (consumer.poll() > 0) await sleep(10);
  } finally {
    consumer.close();
  }
  return seen.filter((e): e is ExitEvent => e.kind === 'exit');
}

serial('4,096 containers that each overflowed once and are gone leave the overflow working for the next one', async (t) => {
  h.open();
  h.consumer!.close(); // nobody reads: the ring buffer fills
  const stormDir = path.join(ownV2Dir(), `vigil-test-overflow-storm-${process.pid}`);
  watch(h.pinDir, h.mkdir(stormDir));
  stormIn(stormDir, 20_000);
  // Short-lived containers, one exit each while the buffer is full, removed
  // (unwatched, cgroup gone) before anything read them: as many as the
  // share counters hold, in batches the watched map has room for.
  const gone = path.join(ownV2Dir(), `vigil-test-overflow-gone-${process.pid}`);
  mkdirSync(gone);
  t.teardown(async () => {
    for (const d of readdirSync(gone, { withFileTypes: true })) if (d.isDirectory()) await rmdirRetry(path.join(gone, d.name));
    await rmdirRetry(gone);
  });
  const oneExitEach = 'for d in "$@"; do /bin/sh -c \'echo $$ > "$1/cgroup.procs"\' sh "$d"; done';
  const ids: bigint[] = [];
  for (let batch = 0; batch < 4; batch++) {
    const dirs = Array.from({ length: 1024 }, (_, i) => path.join(gone, `c${batch * 1024 + i}`));
    const batchIds = dirs.map((d) => {
      mkdirSync(d);
      const id = cgroupIdOf(d);
      watch(h.pinDir, id);
      return id;
    });
    execFileSync('/bin/sh', ['-c', oneExitEach, 'sh', ...dirs], { stdio: 'ignore' });
    for (const [i, id] of batchIds.entries()) {
      unwatch(h.pinDir, id);
      await rmdirRetry(dirs[i]);
    }
    ids.push(...batchIds);
  }
  const first = await drain(h.pinDir);
  t.true(first.filter((e) => ids.includes(e.cgroupId)).length > 4000, 'their exits waited in the overflow');

  // The next container: the buffer full again, one of its processes exits.
  stormIn(stormDir, 20_000);
  const lostBefore = dropCounts(h.pinDir).lost.exit;
  const quiet = h.runIn('exit 7');
  t.is((await quiet.exited).code, 7);
  const exits = (await drain(h.pinDir)).filter((e) => e.task.pid === quiet.pid);
  t.is(exits.length, 1, `its exit waited in the overflow (lost meanwhile: ${dropCounts(h.pinDir).lost.exit - lostBefore})`);
  t.is(exits[0]?.status, 7);
});
