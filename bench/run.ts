/**
 * vigil beside Docker, Podman, runc and crun: one table, medians and ranges
 * over interleaved repetitions, ratios to Docker measured in the same run.
 *
 *   npm run bench                      (make, then node dist/bench/run.js)
 *   node dist/bench/run.js [--vigil-only] [--rounds N] [--recoveries N]
 *                          [--kills N] [--containers 0,1,10,50] [--storm-rate 10000]
 *                          [--only docker,podman,runc,crun]   (vigil always runs)
 *
 * Peers appear only if `bench/peers/setup.sh [--install]` prepared them; the
 * hugetlb move that crun 1.8 needs on hybrid hosts is made for the run and
 * undone at its end (bench/peers/cgroups.sh). What each figure means is in
 * README.md ("Performance"). The tracer's own kernel cost is bench/tracer.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { detectLayout, createCgroups, resolveParent } from '../src/launcher/cgroups.js';
import { createConfig, createContainer, recordStart, startProcess } from '../src/launcher/container.js';
import { runHelper } from '../src/launcher/helper.js';
import { validateSpec } from '../src/launcher/spec.js';
import { BPF_OBJECT_PATH, PACKAGE_ROOT } from '../src/paths.js';
import { ensureTracer, watch } from '../src/tracer/tracer.js';
import { KernelEnv, VIGIL, type MonitorProcess } from '../test/helpers/kernel-env.js';
import { DockerEngine, OciEngine, PodmanEngine, VigilEngine, type Engine } from './engines.js';
import { Fifo } from './lib/fifo.js';
import { startStorm } from './lib/storm.js';
import { launch, pssMiB, rssMiB, sleep, sumPss, timedSync, type Cmd } from './lib/proc.js';
import { fmt, markdownTable, median, medianRange, p50p99, quantile, ratio } from './lib/stats.js';

interface Options {
  vigilOnly: boolean;
  rounds: number;
  recoveries: number;
  kills: number;
  containers: number[];
  stormRate: number;
  /** Engines to run (names, lower case); empty: all that are set up. */
  only: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { vigilOnly: false, rounds: 10, recoveries: 10, kills: 200, containers: [0, 1, 10, 50], stormRate: 10_000, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const count = () => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: expected a whole number ≥ 1, got ${JSON.stringify(v)}`);
      return n;
    };
    if (a === '--vigil-only') o.vigilOnly = true;
    else if (a === '--rounds') o.rounds = count();
    else if (a === '--recoveries') o.recoveries = count();
    else if (a === '--kills') o.kills = count();
    else if (a === '--storm-rate') o.stormRate = count();
    else if (a === '--only') o.only = value().toLowerCase().split(',');
    else if (a === '--containers') {
      const v = value();
      o.containers = v.split(',').map(Number);
      if (!o.containers.every((n) => Number.isInteger(n) && n >= 0)) throw new Error(`--containers: expected counts like 0,1,10,50, got ${JSON.stringify(v)}`);
    } else throw new Error(`unknown option ${a} (see the comment at the top of bench/run.ts)`);
  }
  return o;
}

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);
const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;

/** Issue a start command; ms until the container's first process opened the FIFO. */
async function timeStart(cmd: Cmd, fifo: Fifo): Promise<number> {
  const { opened, cancel } = fifo.arm();
  const t0 = process.hrtime.bigint();
  const { exited } = launch(cmd);
  const failed = exited.then((r) => (r.status === 0 ? new Promise<never>(() => {}) : Promise.reject(new Error(`${cmd.file} ${cmd.args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`))));
  try {
    const at = await Promise.race([opened, failed]);
    const r = await exited;
    if (r.status !== 0) throw new Error(`${cmd.file} exited ${r.status}: ${r.stderr.trim()}`);
    return ms(t0, at);
  } catch (err) {
    cancel();
    throw err;
  }
}

/** SIGKILL a pid; ms until the replacement opened the FIFO. */
async function timeRecovery(pid: number, fifo: Fifo, timeoutMs = 15_000): Promise<number> {
  const { opened, cancel } = fifo.arm();
  const t0 = process.hrtime.bigint();
  process.kill(pid, 'SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no replacement within ${timeoutMs} ms`)), timeoutMs)));
  try {
    return ms(t0, await Promise.race([opened, timeout]));
  } catch (err) {
    cancel();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * vigil's native create path, as the monitor and the launcher library use it
 * (no Node boot, no CLI): cgroups, tracer watch, `vigil-helper create`
 * (namespaces, mounts, vigil-init), `vigil-helper exec` of the first process.
 */
async function timeNativeStart(env: KernelEnv, vigil: VigilEngine, id: string, fifo: Fifo): Promise<{ total: number; create: number }> {
  const spec = validateSpec(vigil.spec(id, { restart: false, sigDir: fifo.dir }), id);
  createContainer(env.store, spec, null, env.cgroupParent);
  const state = env.store.read(id);
  const { opened, cancel } = fifo.arm();
  try {
    const t0 = process.hrtime.bigint();
    state.cgroup = createCgroups(detectLayout(), state.cgroupParent, id, spec.limits);
    ensureTracer(BPF_OBJECT_PATH, env.store.pinDir);
    watch(env.store.pinDir, BigInt(state.cgroup.id));
    const created = await runHelper('create', createConfig(env.store, state));
    const t1 = process.hrtime.bigint();
    state.init = { pid: created.pid, startTime: created.startTime };
    const started = await startProcess(env.store, state, 'first');
    const at = await opened;
    recordStart(state.processes[0], started, false);
    state.state = 'running';
    return { total: ms(t0, at), create: ms(t0, t1) };
  } catch (err) {
    cancel();
    throw err;
  } finally {
    env.store.withLock(() => env.store.write(state)); // so that remove finds what was made
  }
}

/** The peers' (now empty) cgroup parents, /vigil-bench-ENGINE in every hierarchy; a busy one stays. */
function removePeerCgroups(): void {
  const rmdirTree = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      // still in use
    }
  };
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    for (const top of ['vigil-bench-podman', 'vigil-bench-runc', 'vigil-bench-crun']) rmdirTree(path.join('/sys/fs/cgroup', h, top));
  }
}

function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

interface Results {
  start: Map<string, number[]>;
  nodeBoot: number[];
  cliLoad: number[];
  nativeTotal: number[];
  nativeCreate: number[];
  recovery: Map<string, number[]>;
  kernelRecoveryIdle: number[];
  detectionIdle: number[];
  detectionStorm: number[];
  kernelRecoveryStorm: number[];
  stormRate: number;
  memory: Map<string, Map<number, number>>;
  initPss: Map<number, number>;
  monitorRss: Map<number, number>;
}

/**
 * vigil's state and logs go where a deployment keeps them: /run/vigil is a
 * tmpfs on Debian, but not on every build machine, so the bench's private root
 * goes under /dev/shm when that is a tmpfs (else the usual temporary directory).
 */
function useTmpfsForState(): void {
  if (process.env.TMPDIR) return;
  const shm = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === '/dev/shm' && l.split(' ')[2] === 'tmpfs');
  if (shm) process.env.TMPDIR = '/dev/shm';
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  useTmpfsForState();
  const env = new KernelEnv('bench');
  const vigil = new VigilEngine(env);
  const engines: Engine[] = [vigil];
  if (!o.vigilOnly) {
    if (DockerEngine.available()) engines.push(new DockerEngine());
    if (PodmanEngine.available()) engines.push(new PodmanEngine());
    for (const rt of ['runc', 'crun'] as const) if (OciEngine.available(rt)) engines.push(new OciEngine(rt));
    if (o.only.length) engines.splice(1, engines.length, ...engines.slice(1).filter((e) => o.only.includes(e.name.toLowerCase())));
    if (engines.length === 1) log('no peer is set up (bench/peers/setup.sh [--install]); vigil alone');
  }
  const peersScripts = path.join(PACKAGE_ROOT, 'bench/peers');
  const needsCgroupFix = engines.some((e) => e.name === 'crun' || e.name === 'Podman');
  const restoreCgroups = () => {
    if (needsCgroupFix) spawnSync('bash', [path.join(peersScripts, 'cgroups.sh'), 'restore'], { stdio: 'inherit' });
  };
  const live = new Map<Engine, Set<string>>(engines.map((e) => [e, new Set<string>()]));
  let monitor: MonitorProcess | null = null;
  let storm: ReturnType<typeof startStorm> | null = null;
  let stormCgroup: string | null = null;
  const cleanup = () => {
    void storm?.stop();
    for (const [e, ids] of live) {
      try {
        e.remove([...ids]);
      } catch (err) {
        log(`cleaning up ${e.name}: ${(err as Error).message}`);
      }
      ids.clear();
    }
    env.cleanup();
    removePeerCgroups();
    if (stormCgroup) fs.rmSync(stormCgroup, { recursive: false, force: true }) ;
    restoreCgroups();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  if (needsCgroupFix) spawnSync('bash', [path.join(peersScripts, 'cgroups.sh'), 'apply'], { stdio: 'inherit' });
  const sigRoot = fs.mkdtempSync(path.join(env.root, 'sig-'));
  const fifoOf = (e: Engine) => new Fifo(path.join(sigRoot, e.name.toLowerCase()));
  const fifos = new Map(engines.map((e) => [e, fifoOf(e)]));
  const nativeFifo = new Fifo(path.join(sigRoot, 'native'));
  let serial = 0;
  const newId = (tag: string) => `b${process.pid}-${tag}-${serial++}`;

  const r: Results = {
    start: new Map(engines.map((e) => [e.name, []])), nodeBoot: [], cliLoad: [], nativeTotal: [], nativeCreate: [],
    recovery: new Map(), kernelRecoveryIdle: [], detectionIdle: [], detectionStorm: [], kernelRecoveryStorm: [], stormRate: 0,
    memory: new Map(), initPss: new Map(), monitorRss: new Map(),
  };
  try {
    log(`engines: ${engines.map((e) => e.name).join(', ')}; vigil rootfs: ${vigil.rootfs}; vigil state: ${env.root}`);

    // The monitor runs throughout, as where vigil is deployed: it keeps the tracer
    // pinned, so a start does not load the BPF program (the first start on a host does).
    monitor = env.startMonitor();
    await monitor.waitFor((l) => l.kind === 'monitor');
    vigil.monitorPid = monitor.child.pid!;

    // 1. start, interleaved; round 0 warms caches and is not counted.
    log(`start: ${o.rounds} rounds`);
    for (let round = 0; round <= o.rounds; round++) {
      const keep = round > 0;
      const boot = timedSync({ file: process.execPath, args: ['-e', '0'] });
      const cli = timedSync({ file: process.execPath, args: [VIGIL, '--version'], env: env.env });
      if (keep) {
        r.nodeBoot.push(boot);
        r.cliLoad.push(cli);
      }
      for (const e of rotate(engines, round)) {
        const id = newId('s');
        live.get(e)!.add(id);
        const t = await timeStart(e.startCommand(id, { restart: false, sigDir: fifos.get(e)!.dir }), fifos.get(e)!);
        if (keep) r.start.get(e.name)!.push(t);
        e.remove([id]);
        live.get(e)!.delete(id);
      }
      const id = newId('n');
      live.get(vigil)!.add(id);
      const native = await timeNativeStart(env, vigil, id, nativeFifo);
      vigil.remove([id]);
      live.get(vigil)!.delete(id);
      if (keep) {
        r.nativeTotal.push(native.total);
        r.nativeCreate.push(native.create);
      }
    }

    // 2. recovery, interleaved: a fresh container per round (Docker doubles its delay after
    //    quick restarts), SIGKILL of its business process -> the replacement opened the FIFO.
    const restarting = engines.filter((e) => e.restartPolicy !== null);
    for (const e of restarting) r.recovery.set(e.name, []);
    log(`recovery: ${o.recoveries} rounds`);
    for (let round = 0; round <= o.recoveries; round++) {
      for (const e of rotate(restarting, round)) {
        const id = newId('r');
        live.get(e)!.add(id);
        await timeStart(e.startCommand(id, { restart: true, sigDir: fifos.get(e)!.dir }), fifos.get(e)!);
        await sleep(200); // let the engine settle into watching it
        const t = await timeRecovery(e.businessPid(id), fifos.get(e)!);
        if (round > 0) r.recovery.get(e.name)!.push(t);
        e.remove([id]);
        live.get(e)!.delete(id);
      }
    }

    // 3. vigil's detection and recovery from the kernel's timestamps: repeated SIGKILLs
    //    of one business process, idle and with a fork/exit storm in another cgroup.
    const kill = async (mon: MonitorProcess, id: string, detection: number[], recovery: number[]) => {
      let pid = vigil.businessPid(id);
      for (let i = 0; i < o.kills; i++) {
        const from = mon.lines.length;
        process.kill(pid, 'SIGKILL');
        const exit = await mon.waitFor((l) => l.kind === 'exit' && l.pid === pid, 10_000, from);
        const restart = await mon.waitFor((l) => l.kind === 'restart' && l.container === id, 10_000, from);
        detection.push(exit.detectionMs as number);
        recovery.push(restart.recoveryMs as number);
        pid = restart.pid!;
        await sleep(5);
      }
    };
    const kid = newId('k');
    live.get(vigil)!.add(kid);
    const made = launch(vigil.startCommand(kid, { restart: true, sigDir: null }));
    if ((await made.exited).status !== 0) throw new Error(`vigil run: ${(await made.exited).stderr}`);
    log(`detection, idle: ${o.kills} kills`);
    await kill(monitor, kid, r.detectionIdle, r.kernelRecoveryIdle);
    stormCgroup = path.join(resolveParent(detectLayout(), `vigil-bench-storm-${process.pid}`).v2);
    fs.mkdirSync(stormCgroup, { recursive: true });
    storm = startStorm(stormCgroup, o.stormRate, 2);
    await sleep(500);
    log(`detection, storm of ${o.stormRate} exits/s: ${o.kills} kills`);
    await kill(monitor, kid, r.detectionStorm, r.kernelRecoveryStorm);
    const { exits, seconds } = await storm.stop();
    storm = null;
    r.stormRate = seconds ? exits / seconds : 0;
    fs.rmdirSync(stormCgroup);
    stormCgroup = null;
    vigil.remove([kid]);
    live.get(vigil)!.delete(kid);

    // 4. management memory with idle containers, one engine at a time.
    for (const e of engines) {
      const mem = new Map<number, number>();
      r.memory.set(e.name, mem);
      log(`memory: ${e.name}`);
      const ids = live.get(e)!;
      for (const target of o.containers) {
        while (ids.size < target) {
          const id = newId('m');
          ids.add(id);
          const made = launch(e.startCommand(id, { restart: false, sigDir: null }));
          const res = await made.exited;
          if (res.status !== 0) throw new Error(`${e.name} start: ${res.stderr}`);
        }
        // Let daemons and the monitor settle (watch, reconcile, GC), then take the
        // median of a few samples: a Node heap breathes.
        await sleep(1500);
        const samples: number[] = [];
        for (let i = 0; i < 5; i++, await sleep(500)) samples.push(sumPss(e.managementPids()));
        mem.set(target, median(samples));
        if (e === vigil) {
          const inits = env.store.list().map((s) => s.init!.pid);
          r.initPss.set(target, inits.reduce((s, p) => s + pssMiB(p), 0));
          r.monitorRss.set(target, rssMiB(vigil.monitorPid!));
        }
      }
      e.remove([...ids]);
      ids.clear();
    }
    await monitor.stop();
    monitor = null;
  } finally {
    cleanup();
  }
  print(o, engines, r);
}

function print(o: Options, engines: Engine[], r: Results): void {
  const names = engines.map((e) => e.name);
  const docker = names.includes('Docker') ? 'Docker' : null;
  const podman = names.includes('Podman') ? 'Podman' : null;
  const crun = names.includes('crun') ? 'crun' : null;
  const withRatio = (xs: number[] | undefined, base: number[] | undefined) => {
    if (!xs || !xs.length) return '–';
    return base && base.length ? `${medianRange(xs)} ${ratio(median(xs), median(base))}` : medianRange(xs);
  };
  const rows: string[][] = [['figure', ...names, 'vigil target', 'met']];
  const row = (figure: string, cells: Record<string, string>, target = '', met = '') => rows.push([figure, ...names.map((n) => cells[n] ?? '–'), target, met]);
  const yes = (ok: boolean) => (ok ? 'yes' : 'NO');

  // start
  const st = (n: string) => r.start.get(n)!;
  const vStart = median(st('vigil'));
  const startCells: Record<string, string> = {};
  for (const n of names) startCells[n] = withRatio(st(n), docker ? st(docker) : undefined);
  const startOk = (docker ? vStart <= 0.4 * median(st(docker)) : true) && (podman ? vStart < median(st(podman)) : true);
  row('start: command → first process running, ms', startCells, '≤ 0.4× Docker, < Podman', docker || podman ? yes(startOk) : '');
  // The split pairs the three commands of each round, so the machine's drift cancels.
  const cliPart = r.cliLoad.map((c, i) => c - r.nodeBoot[i]);
  const launchPart = st('vigil').map((v, i) => v - r.cliLoad[i]);
  row('  vigil: Node boot (node -e 0)', { vigil: medianRange(r.nodeBoot) });
  row('  vigil: + CLI loaded (vigil --version − node -e 0)', { vigil: medianRange(cliPart) });
  row('  vigil: + launch (vigil run − vigil --version)', { vigil: medianRange(launchPart) });
  const nativeCells: Record<string, string> = { vigil: medianRange(r.nativeTotal) };
  if (crun) nativeCells.crun = medianRange(st(crun));
  if (names.includes('runc')) nativeCells.runc = medianRange(st('runc'));
  row('start, no Node boot: vigil-helper create + exec, ms', nativeCells, '≤ crun', crun ? yes(median(r.nativeTotal) <= median(st(crun))) : '');
  row('  of which vigil-helper create (cgroups, namespaces, init)', { vigil: medianRange(r.nativeCreate) });

  // recovery
  const recCells: Record<string, string> = {};
  for (const [n, xs] of r.recovery) recCells[n] = withRatio(xs, docker ? r.recovery.get(docker) : undefined);
  for (const n of names) if (!r.recovery.has(n)) recCells[n] = 'no restart';
  row('recovery: SIGKILL → replacement running, ms', recCells);
  row(`  vigil: kernel exit → replacement running, p50 / p99 (${o.kills} kills)`, { vigil: p50p99(r.kernelRecoveryIdle) }, 'p50 ≤ 15, p99 ≤ 50',
    yes(quantile(r.kernelRecoveryIdle, 0.5) <= 15 && quantile(r.kernelRecoveryIdle, 0.99) <= 50));
  row(`  same, storm of ${fmt(r.stormRate)} exits/s elsewhere`, { vigil: p50p99(r.kernelRecoveryStorm) });
  row('detection: kernel exit → decision, idle, p50 / p99, ms', { vigil: p50p99(r.detectionIdle) }, 'p99 ≤ 2', yes(quantile(r.detectionIdle, 0.99) <= 2));
  row(`detection, storm of ${fmt(r.stormRate)} exits/s elsewhere`, { vigil: p50p99(r.detectionStorm) }, 'p99 ≤ 10', yes(quantile(r.detectionStorm, 0.99) <= 10));

  // memory
  const mem = (n: string, c: number) => r.memory.get(n)?.get(c) ?? NaN;
  for (const c of o.containers) {
    const cells: Record<string, string> = {};
    for (const n of names) cells[n] = docker && n !== docker ? `${fmt(mem(n, c))} ${ratio(mem(n, c), mem(docker, c))}` : fmt(mem(n, c));
    const last = c === Math.max(...o.containers) && docker;
    row(`memory: management PSS, ${c} idle containers, MiB`, cells, last ? '≤ 15 % of Docker' : '', last ? yes(mem('vigil', c) <= 0.15 * mem(docker!, c)) : '');
  }
  const lo = Math.min(...o.containers);
  const hi = Math.max(...o.containers);
  if (hi > lo) {
    const cells: Record<string, string> = {};
    for (const n of names) cells[n] = fmt((mem(n, hi) - mem(n, lo)) / (hi - lo));
    const per = (mem('vigil', hi) - mem('vigil', lo)) / (hi - lo);
    row(`  per extra container (${lo} → ${hi}), MiB`, cells, '≤ 0.17', yes(per <= 0.17));
    row(`  vigil monitor's RSS at ${lo} / ${hi} (its PSS when no other Node process shares its pages)`, { vigil: `${fmt(r.monitorRss.get(lo) ?? NaN)} / ${fmt(r.monitorRss.get(hi) ?? NaN)}` });
    row('  of which vigil-init (PID 1 in each container)', { vigil: fmt(((r.initPss.get(hi) ?? 0) - (r.initPss.get(lo) ?? 0)) / (hi - lo)) });
  }
  console.log(`\n${markdownTable(rows)}\n`);
  console.log(`Medians (min–max) over ${o.rounds} interleaved rounds (start) and ${o.recoveries} (recovery); [x×] = ÷ Docker in this run.`);
  console.log(`vigil rootfs: ${engines[0] instanceof VigilEngine ? (engines[0] as VigilEngine).rootfs : ''}; restart policies: ${engines.map((e) => `${e.name}: ${e.restartPolicy ?? 'none'}`).join('; ')}.`);
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
