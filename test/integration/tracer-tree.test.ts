/**
 * Descendants and the process tree on the real kernel: a process that moves
 * into a sub-cgroup of a watched cgroup stays visible (attributed to the
 * watched one, with its own cgroup id too); fork and exec events name the
 * parent and the binary; unwatching the parent stops its descendants too.
 * And the OOM hooks: the one the kernel's BTF picks, and the fentry form
 * forced (the form kernels with mark_victim(int pid) use).
 */
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TESTBIN_PATH } from '../../src/paths.js';
import { ensureTracer, openConsumer, removeTracer, unwatch, watch } from '../../src/tracer/tracer.js';
import type { DecodedEvent, OomEvent } from '../../src/events/decode.js';
import { kernelSerial } from '../helpers/kernel-test.js';
import { OBJ, PYTHON, TracerHarness, ownMemcgDir, ownV2Dir, rmdirRetry } from '../helpers/tracer-harness.js';

const { serial, missing } = kernelSerial('tracer tree');
const h = new TracerHarness('tree');
const TB = TESTBIN_PATH;

if (!missing) {
  test.before(() => {
    h.open();
  });
  test.after.always(async () => {
    await h.close();
  });
}

serial('a process in a sub-cgroup (two levels down) is reported as the watched cgroup\'s', async (t) => {
  const sub = path.join(h.cg, 'svc');
  const subId = h.mkdir(sub);
  const deeper = path.join(sub, 'worker');
  const deeperId = h.mkdir(deeper);
  const r = h.runIn(`exec ${TB} exit 4`, deeper);
  t.is((await r.exited).code, 4);
  const exit = await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]);
  t.like(exit, { cgroupId: h.cgroupId, taskCgroupId: deeperId, status: 4 });
  t.not(subId, deeperId);
});

serial('a process that moves itself into a sub-cgroup after starting stays visible', async (t) => {
  const sub = path.join(h.cg, 'moved');
  const subId = h.mkdir(sub);
  // Starts in the watched cgroup, then moves one level down and is killed there.
  const r = h.runIn(`echo $$ > ${sub}/cgroup.procs && kill -KILL $$`);
  t.is((await r.exited).signal, 'SIGKILL');
  const exit = await h.waitFor('exit event', () => h.exitsOf(r.pid)[0]);
  t.like(exit, { cgroupId: h.cgroupId, taskCgroupId: subId, signal: 9 });
  t.like(h.signalsTo(r.pid)[0], { cgroupId: h.cgroupId, taskCgroupId: subId, signal: 9 });
});

serial('fork and exec events: parent, child, binary; threads are not forks', async (t) => {
  const script = 'import os, threading, subprocess\nthreading.Thread(target=lambda: None).start()\nsubprocess.run(["/bin/true"])\nos._exit(0)';
  const r = h.runIn(`exec ${PYTHON} -c '${script}'`);
  await r.exited;
  const exec = await h.waitFor('python exec', () => h.execsOf(r.pid)[0]);
  t.like(exec, { filename: PYTHON, cgroupId: h.cgroupId, task: { pid: r.pid, comm: 'python3' } });
  const child = await h.waitFor('fork of /bin/true', () => h.seen.find((e): e is Extract<DecodedEvent, { kind: 'fork' }> => e.kind === 'fork' && e.parent.pid === r.pid));
  t.like(child, { cgroupId: h.cgroupId, parent: { pid: r.pid, comm: 'python3' } });
  t.is(child.child.tid, child.child.pid, 'a new process, not a thread');
  const trueExec = await h.waitFor('exec of /bin/true', () => h.execsOf(child.child.pid)[0]);
  t.like(trueExec, { filename: '/bin/true', task: { comm: 'true', startBoottimeNs: child.child.startBoottimeNs } });
  t.is(h.seen.filter((e) => e.kind === 'fork' && e.parent.pid === r.pid).length, 1, 'the thread is not reported as a fork');
  // the shell that moved itself in was watched when it forked nothing: its own exec is python's
  t.is(h.forksOf(r.pid).length, 0, 'the shell started outside the watched cgroup');
});

serial('unwatching a cgroup stops its descendants\' events too; watching again restores them', async (t) => {
  const sub = path.join(h.cg, 'quiet');
  h.mkdir(sub);
  unwatch(h.pinDir, h.cgroupId);
  try {
    const r = h.runIn(`exec ${TB} exit 3`, sub);
    await r.exited;
    await sleep(300);
    t.is(h.exitsOf(r.pid).length + h.execsOf(r.pid).length, 0);
  } finally {
    watch(h.pinDir, h.cgroupId);
  }
  const again = h.runIn(`exec ${TB} exit 3`, sub);
  await again.exited;
  t.like(await h.waitFor('exit event', () => h.exitsOf(again.pid)[0]), { cgroupId: h.cgroupId, status: 3 });
});

const memcgParent = ownMemcgDir();
const v2Memory = existsSync(path.join(ownV2Dir(), 'cgroup.controllers')) && ((): boolean => {
  try {
    return readFileSync(path.join(ownV2Dir(), 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
  } catch {
    return false;
  }
})();

/** A python that allocates far beyond a 32 MiB limit, in the watched cgroup and in `memDir`. */
function oomOnce(cg: string, memDir: string, v1: boolean) {
  writeFileSync(path.join(memDir, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(32 * 1024 * 1024));
  const hog = `${PYTHON} -c 'b = b"x" * (200 * 1024 * 1024)'`;
  const join = v1 ? `echo $$ > ${memDir}/cgroup.procs && echo $$ > ${cg}/cgroup.procs` : `echo $$ > ${memDir}/cgroup.procs`;
  const r = h.run('/bin/sh', ['-c', `${join} && exec ${hog}`]);
  return r;
}

/**
 * Can fentry programs attach here? Some sandboxes lock ftrace (reading its
 * function list is EPERM). Where tracefs is not mounted, it is mounted in a
 * mount namespace of its own to look, so nothing stays mounted.
 */
function ftraceLocked(): boolean {
  const list = '/sys/kernel/tracing/available_filter_functions';
  try {
    readFileSync(list, { encoding: 'utf8', flag: 'r' }).slice(0, 1);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') return true;
    if (code !== 'ENOENT') return false;
  }
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tracefs tracefs /sys/kernel/tracing && head -c 1 ${list} >/dev/null`], { encoding: 'utf8' });
  return r.status !== 0 && /Operation not permitted/.test(r.stderr);
}

serial('OOM in a memcg: the hook the kernel\'s BTF picks attributes the victim to its container', async (t) => {
  if (!memcgParent) return t.pass('memory is not on v1 here: the v2 case below covers it');
  t.is(h.ensured!.oomHook, 'tracepoint', 'this kernel\'s mark_victim passes the task');
  const memDir = path.join(memcgParent, `vigil-test-tree-oom-${process.pid}`);
  mkdirSync(memDir);
  try {
    const r = oomOnce(h.cg, memDir, true);
    t.is((await r.exited).signal, 'SIGKILL');
    const oom = await h.waitFor('OOM event', () => h.oomsOf(r.pid)[0]);
    t.like(oom, { hook: 'tracepoint', scope: 'memcg', cgroupId: h.cgroupId, victim: { pid: r.pid, comm: 'python3' }, uid: 0, oomScoreAdj: 0 });
    // The 32 MiB limit: most of it is the victim's anonymous memory.
    t.true(oom.sizes.anonRssKb > 16_000n && oom.sizes.anonRssKb <= 33_000n, `anon rss ${oom.sizes.anonRssKb} KiB`);
    t.true(oom.sizes.totalVmKb >= oom.sizes.anonRssKb + oom.sizes.fileRssKb, `total vm ${oom.sizes.totalVmKb} KiB`);
    t.true(oom.sizes.fileRssKb > 0n && oom.sizes.pgtablesKb > 0n);
    t.like(await h.waitFor('exit', () => h.exitsOf(r.pid)[0]), { signal: 9, oomVictim: true });
    t.is(h.oomsOf(r.pid).length, 1);
  } finally {
    await rmdirRetry(memDir);
  }
});

serial('the fentry OOM form (kernels whose mark_victim passes a pid): reports the victim, or fails clearly where ftrace is locked', async (t) => {
  const pinB = `${h.pinDir}-fentry`;
  let b;
  try {
    b = ensureTracer(OBJ, pinB, { oomHook: 'fentry' });
  } catch (err) {
    const e = err as { code: string; errno: string; detail?: string };
    t.true(ftraceLocked(), `fentry failed although ftrace is open: ${(err as Error).message}`);
    t.like(e, { code: 'ERR_BPF_LOAD', errno: 'EPERM' });
    t.regex(e.detail ?? '', /vigil_oom_fentry/);
    t.false(existsSync(pinB), 'nothing left pinned');
    t.log('this host locks ftrace (available_filter_functions: EPERM), so fentry cannot attach; the kernel matrix runs this form');
    return;
  }
  const got: DecodedEvent[] = [];
  const memDir = memcgParent ? path.join(memcgParent, `vigil-test-tree-oomf-${process.pid}`) : undefined;
  try {
    t.is(b.oomHook, 'fentry');
    if (!memDir) return;
    mkdirSync(memDir);
    watch(pinB, h.cgroupId);
    const c = openConsumer(pinB, (ev) => got.push(...ev));
    try {
      const r = oomOnce(h.cg, memDir, true);
      t.is((await r.exited).signal, 'SIGKILL');
      const ev = await h.waitFor('fentry OOM event', () => got.find((e): e is OomEvent => e.kind === 'oom' && e.victim.pid === r.pid));
      t.like(ev, { hook: 'fentry', scope: 'memcg', cgroupId: h.cgroupId, victim: { pid: r.pid, comm: 'python3' }, uid: 0 });
    } finally {
      c.close();
    }
  } finally {
    removeTracer(pinB);
    if (memDir) await rmdirRetry(memDir);
  }
});

serial('OOM with memory.oom.group on: every process of the container dies, each attributed to it', async (t) => {
  if (!v2Memory) {
    t.log('skipped: the v2 memory controller is not enabled in this cgroup (hybrid host: memory is on v1, which has no memory.oom.group); this case runs on pure-v2 kernels');
    t.pass('skipped: the v2 memory controller is not enabled in this cgroup (hybrid host: memory is on v1, which has no memory.oom.group); this case runs on pure-v2 kernels');
    return;
  }
  const memDir = path.join(h.cg, 'oomgroup');
  const id = h.mkdir(memDir);
  writeFileSync(path.join(h.cg, 'cgroup.subtree_control'), '+memory');
  writeFileSync(path.join(memDir, 'memory.oom.group'), '1');
  const bystander = h.runIn(`exec ${TB} sleep 60`, memDir);
  await h.waitFor('bystander exec', () => h.execsOf(bystander.pid)[0]);
  const r = oomOnce(h.cg, memDir, false);
  t.is((await r.exited).signal, 'SIGKILL');
  t.is((await bystander.exited).signal, 'SIGKILL', 'oom.group killed the bystander too');
  for (const pid of [r.pid, bystander.pid]) {
    t.like(await h.waitFor(`OOM event for ${pid}`, () => h.oomsOf(pid)[0]), { cgroupId: h.cgroupId, taskCgroupId: id });
    t.like(await h.waitFor(`exit of ${pid}`, () => h.exitsOf(pid)[0]), { signal: 9, oomVictim: true, cgroupId: h.cgroupId });
  }
});

serial('an optional program left out (as where a kernel refuses it): the rest loads and reports, and is not reloaded', async (t) => {
  const pinC = `${h.pinDir}-nofork`;
  const got: DecodedEvent[] = [];
  try {
    const r = ensureTracer(OBJ, pinC, { skip: ['fork'] });
    t.like(r, { loaded: true, oomHook: 'tracepoint' });
    t.deepEqual(r.skipped.map((s) => s.hook), ['fork']);
    t.false(existsSync(path.join(pinC, 'link_fork')));
    t.like(ensureTracer(OBJ, pinC, { skip: ['fork'] }), { loaded: false }, 'the same build is complete without its fork link');
    watch(pinC, h.cgroupId);
    const c = openConsumer(pinC, (ev) => got.push(...ev));
    try {
      const p = h.runIn(`exec ${PYTHON} -c 'import subprocess; subprocess.run(["/bin/true"])'`);
      await p.exited;
      await h.waitFor('exit on the reduced tracer', () => got.find((e) => e.kind === 'exit' && e.task.pid === p.pid));
      await h.waitFor('the same events on the full tracer', () => h.seen.find((e) => e.kind === 'fork' && e.parent.pid === p.pid));
      t.is(got.filter((e) => e.kind === 'fork').length, 0);
      t.true(got.some((e) => e.kind === 'exec' && e.task.pid === p.pid));
    } finally {
      c.close();
    }
    t.throws(() => ensureTracer(OBJ, pinC, { skip: ['exit' as 'fork'] }), { message: /options.skip\[\].*'fork' or 'exec'/ });
  } finally {
    removeTracer(pinC);
  }
});
