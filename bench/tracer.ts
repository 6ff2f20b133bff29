/**
 * The tracer's own cost, in one run (a benchmark, not a test):
 *
 * 1. Kernel run time per event: kernel.bpf_stats_enabled is switched on for
 *    the run (and restored), and each program's run_time_ns / run_cnt is read
 *    from the kernel (bpf prog info) around a fork/exit storm, once in an
 *    unwatched cgroup (what host noise costs: the filter only) and once in a
 *    watched one (a record written for every fork and exit).
 * 2. Throughput: parallel fork/exit storms in a watched cgroup, every exit
 *    delivered to a consumer on the main loop, counted against the processes
 *    started, with the kernel's lost and rate-limited counts.
 * 3. Slowdown: the same fork/exit workload without the tracer, with it
 *    attached but the workload unwatched, and with it watching the workload,
 *    interleaved round by round so machine noise falls on all alike.
 * 4. Sustained: bench-storm paced at VIGIL_BENCH_SUSTAIN_RATE exits a second
 *    (default 20,000) in a watched cgroup for VIGIL_BENCH_SUSTAIN_S seconds
 *    (default 60; 0 skips it), every exit counted by the consumer second by
 *    second against what the storm says it did, with the kernel's losses.
 *
 *   node dist/bench/tracer.js [processes per storm]      (npm run bench)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BPF_OBJECT_PATH, TESTBIN_PATH } from '../src/paths.js';
import { startStorm } from './lib/storm.js';
import { bpffsMount, dropCounts, ensureTracer, openConsumer, removeTracer, tracerInfo, watch, type EventConsumer } from '../src/tracer/tracer.js';
import { ownV2Dir } from '../test/helpers/tracer-harness.js';

const PIN_DIR = `/sys/fs/bpf/vigil-bench-tracer-${process.pid}`;
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

/** Run `testbin storm n` with its shell moved into `cgroupDir` first; resolves with the storm's own elapsed ns. */
function storm(cgroupDir: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && exec ${TESTBIN_PATH} storm ${n}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ns = Number(out.trim().split('\n').pop());
      if (code !== 0 || !Number.isFinite(ns)) reject(new Error(`storm exited ${code}: ${out}`));
      else resolve(ns);
    });
  });
}

/**
 * A paced fork/exit storm (bench-storm, vfork + _exit, two workers) in the
 * watched cgroup for `seconds`: are all its exits delivered, second by
 * second, and does the kernel lose none? `delivered` reads the consumer's
 * running count of exit events.
 */
async function sustained(cgroupDir: string, rate: number, seconds: number, delivered: () => number, losses: () => ReturnType<typeof dropCounts>): Promise<void> {
  const lostBefore = losses();
  const startCount = delivered();
  const storm = startStorm(cgroupDir, rate, 2);
  const perSecond: number[] = [];
  let last = startCount;
  for (let s = 0; s < seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = delivered();
    perSecond.push(now - last);
    last = now;
  }
  const { exits: stormExits, seconds: stormSeconds } = await storm.stop();
  const expected = stormExits + 2 + 1; // the children, the two workers, the storm's main process
  const deadline = Date.now() + 10_000;
  while (delivered() - startCount < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const after = losses();
  const steady = perSecond.slice(1, -1); // the first and last seconds hold the start and the stop
  console.log(`\nSustained: a fork/exit storm paced at ${rate} exits/s in a watched cgroup for ${seconds} s\n`);
  console.log(table(['measure', 'value'], [
    ['exits per second (the storm\'s own count)', (stormExits / stormSeconds).toFixed(0)],
    ['exit events delivered / expected', `${delivered() - startCount} / ${expected}`],
    ['exits delivered per second: min / median / max (steady seconds)', steady.length ? `${Math.min(...steady)} / ${median(steady)} / ${Math.max(...steady)}` : '-'],
    ['exits lost in the kernel', String(after.lost.exit - lostBefore.lost.exit)],
    ['forks / execs lost (ring buffer half full)', `${after.lost.fork - lostBefore.lost.fork} / ${after.lost.exec - lostBefore.lost.exec}`],
  ]));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ')} |`;
  return [line(head), `|${w.map((x, i) => (i ? '-'.repeat(x + 1) + ':' : '-'.repeat(x + 2))).join('|')}|`, ...rows.map(line)].join('\n');
}

type Runs = Map<string, { runTimeNs: bigint; runCount: bigint }>;
function programRuns(): Runs {
  return new Map(tracerInfo(PIN_DIR).programs.map((p) => [p.link.replace('link_', ''), { runTimeNs: p.runTimeNs, runCount: p.runCount }]));
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 4000);
  const base = path.join(ownV2Dir(), `vigil-bench-tracer-${process.pid}`);
  const watchedDir = `${base}-watched`;
  const plainDir = `${base}-plain`;
  const statsBefore = readFileSync(STATS, 'utf8').trim();
  let consumer: EventConsumer | undefined;
  mkdirSync(watchedDir);
  mkdirSync(plainDir);
  bpffsMount();
  try {
    let exits = 0;
    let records = 0;
    const load = () => {
      ensureTracer(BPF_OBJECT_PATH, PIN_DIR);
      watch(PIN_DIR, statSync(watchedDir, { bigint: true }).ino);
      consumer = openConsumer(PIN_DIR, (events) => {
        records += events.length;
        for (const e of events) if (e.kind === 'exit') exits++;
      });
    };
    const unload = () => {
      if (!consumer) return;
      consumer.close();
      consumer = undefined;
      removeTracer(PIN_DIR);
    };

    // 1. kernel run time per event
    load();
    writeFileSync(STATS, '1');
    const cost: string[][] = [];
    for (const [label, dir] of [['unwatched (filter only)', plainDir], ['watched (record written)', watchedDir]] as const) {
      const before = programRuns();
      await storm(dir, n);
      const after = programRuns();
      for (const [prog, a] of after) {
        const b = before.get(prog);
        if (!b || prog === 'oom') continue;
        const runs = a.runCount - b.runCount;
        const ns = a.runTimeNs - b.runTimeNs;
        cost.push([`${prog}, ${label}`, String(runs), runs ? (Number(ns) / Number(runs)).toFixed(0) : '-']);
      }
    }
    writeFileSync(STATS, statsBefore);
    console.log(`\nKernel run time per program invocation (bpf_stats, a storm of ${n} fork+exit; runs include the rest of the host)\n`);
    console.log(table(['program, workload', 'runs', 'ns/run'], cost));

    // 2. throughput: parallel storms, every exit delivered?
    const workers = 2;
    const lostBefore = dropCounts(PIN_DIR);
    exits = 0;
    records = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: workers }, () => storm(watchedDir, n * 2)));
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const expected = workers * n * 2 + workers; // the storms' children, and each storm process itself
    const deadline = Date.now() + 5000;
    while (exits < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const after = dropCounts(PIN_DIR);
    console.log(`\nThroughput: ${workers} parallel fork/exit storms in a watched cgroup (${expected} processes)\n`);
    console.log(table(['measure', 'value'], [
      ['exits per second (achieved)', (expected / wallS).toFixed(0)],
      ['exit events delivered / expected', `${exits} / ${expected}`],
      ['records delivered (fork + exit + exec)', String(records)],
      ['records per second', (records / wallS).toFixed(0)],
      ['exits lost in the kernel', String(after.lost.exit - lostBefore.lost.exit)],
      ['forks lost (ring buffer half full)', String(after.lost.fork - lostBefore.lost.fork)],
    ]));

    // 4. sustained rate (before the slowdown rounds unload the tracer)
    const sustainS = Number(process.env.VIGIL_BENCH_SUSTAIN_S ?? 60);
    const sustainRate = Number(process.env.VIGIL_BENCH_SUSTAIN_RATE ?? 20_000);
    if (sustainS > 0) await sustained(watchedDir, sustainRate, sustainS, () => exits, () => dropCounts(PIN_DIR));

    // 3. slowdown, interleaved
    unload();
    const rounds = 5;
    const perProc: Record<'none' | 'unwatched' | 'watched', number[]> = { none: [], unwatched: [], watched: [] };
    const settle = () => new Promise((r) => setTimeout(r, 1500)); // detaching ends in RCU work; let it pass
    for (let i = 0; i < rounds; i++) {
      // The order rotates so that neither variant always runs first after a (un)load.
      const order = (['none', 'unwatched', 'watched'] as const).map((_, k, a) => a[(k + i) % 3]!);
      for (const v of order) {
        if (v === 'none') unload();
        else if (!consumer) load();
        await settle();
        perProc[v].push((await storm(v === 'watched' ? watchedDir : plainDir, n)) / n);
      }
      unload();
    }
    const none = median(perProc.none);
    const row = (label: string, xs: number[]) => [label, (median(xs) / 1000).toFixed(1), `${(((median(xs) - none) / none) * 100).toFixed(1)}%`];
    console.log(`\nSlowdown of a fork/exit workload (${rounds} interleaved rounds of ${n}; median µs per fork+exit+wait)\n`);
    console.log(table(['tracer', 'µs/process', 'vs none'], [
      row('not loaded', perProc.none),
      row('loaded, workload not watched', perProc.unwatched),
      row('loaded, workload watched', perProc.watched),
    ]));
    console.log('\n(Other tracers pinned on this host, e.g. by parallel test runs, are attached in every round alike.)');
  } finally {
    try {
      writeFileSync(STATS, statsBefore);
    } catch {
      // left as it was
    }
    consumer?.close();
    removeTracer(PIN_DIR);
    for (const d of [watchedDir, plainDir]) {
      try {
        rmdirSync(d);
      } catch {
        // busy for a moment after the last storm
      }
    }
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
