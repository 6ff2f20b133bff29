/**
 * The monitor's side of the control socket: what a snapshot holds, and the
 * operator's restart, start and stop, performed by the same launcher code as the
 * CLI (as `vigil` child processes, so the monitor never waits on a stop
 * timeout) and so recorded as operator intent, never answered by an
 * automatic restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectView } from '../cli/view.js';
import { NAME_PATTERN, PROCESS_NAME_PATTERN } from '../launcher/spec.js';
import { ControlServer, type CommandRequest, type Peer } from '../control/server.js';
import { ERR_BAD_REQUEST, PROTOCOL_VERSION, type CgroupLayoutName, type ContainerView, type Snapshot } from '../control/protocol.js';
import { journalDir, readJournal } from '../journal/journal.js';
import { describeLayout, detectLayout } from '../launcher/cgroups.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { ContainerState, Store } from '../state/store.js';
import { drops } from '../tracer/tracer.js';
import type { TreeNodeView } from './process-tree.js';
import type { TracerView } from './tracer-health.js';
import { NotFoundError, StateError, VigilError } from '../util/errors.js';
import { runVigil } from './cli-actions.js';
import type { Reporter } from './report.js';

const VERSION = (JSON.parse(fs.readFileSync(`${PACKAGE_ROOT}/package.json`, 'utf8')) as { version: string }).version;

/** What the monitor adds to a snapshot beyond the state files. */
export interface SnapshotExtras {
  tracer: () => TracerView;
  /** A container's processes as the tracer's fork/exec/exit events describe them. */
  tree: (cgroupId: bigint) => TreeNodeView[];
  /** Kernel events the monitor has read since it started. */
  events: () => number;
}

/** Pins of an attached tracer (the links every build has) and of its maps (src/tracer, native/addon/tracer.c). */
const LINK_PINS = ['link_exit', 'link_signal'];
const MAP_PINS = ['events', 'watched', 'drops'];

export function startControl(store: Store, reporter: Reporter, startedAtMs: number, extras?: SnapshotExtras): ControlServer {
  const host = { hostname: os.hostname(), kernel: os.release(), cgroupLayout: cgroupLayout() };
  const server = ControlServer.listen(store.root, {
    snapshot: (): Snapshot => ({
      monitor: {
        pid: process.pid,
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        root: store.root,
        startedAt: new Date(startedAtMs).toISOString(),
        uptimeMs: Date.now() - startedAtMs,
        tracerDrops: tracerDrops(store),
        lastSeq: reporter.lastSeq,
        lastEventAt: reporter.lastRecordAt,
        host,
        tracer: {
          ...(extras ? extras.tracer() : {}),
          pinDir: store.pinDir,
          attached: LINK_PINS.every((p) => fs.existsSync(path.join(store.pinDir, p))),
          pinned: MAP_PINS.every((p) => fs.existsSync(path.join(store.pinDir, p))),
          events: extras ? extras.events() : 0,
        },
      },
      containers: store.list().map((c) => {
        const view = containerView(store, c);
        return extras && c.cgroup ? { ...view, tree: extras.tree(BigInt(c.cgroup.id)) } : view;
      }),
    }),
    command: (request, peer) => operatorCommand(store, reporter, request, peer),
    backlog: (since) => readJournal(journalDir(store.root), since).records,
    notice: (message) => reporter.emit({ kind: 'monitor', container: null, process: null, pid: null, reason: message }),
  });
  reporter.onRecord((r) => server.publish(r));
  return server;
}

function cgroupLayout(): CgroupLayoutName {
  try {
    return describeLayout(detectLayout());
  } catch {
    return 'unknown';
  }
}

/** `vigil inspect`'s view plus what a live client shows in details: policy, death tally, log file. */
function containerView(store: Store, c: ContainerState): ContainerView {
  const view = inspectView(c) as ContainerView;
  view.processes = view.processes.map((p) => {
    const spec = c.spec.processes.find((q) => q.name === p.name);
    const state = c.processes.find((q) => q.name === p.name);
    return { ...p, policy: spec?.restart ?? null, deaths: state?.deaths ?? [], logFile: store.logFile(c.name, p.name) };
  });
  return view;
}

function tracerDrops(store: Store): string {
  if (!fs.existsSync(`${store.pinDir}/drops`)) return '0'; // degraded mode: no BPF tracer
  try {
    return drops(store.pinDir).reduce((a, b) => a + b, 0n).toString();
  } catch {
    return 'unknown';
  }
}

async function operatorCommand(store: Store, reporter: Reporter, request: CommandRequest, peer: Peer): Promise<unknown> {
  if (request.type === 'note') {
    // The command line did it itself; the peer (root, by its credentials) is who says so.
    const { kind, container, process, pid, action, reason, deadline } = request;
    // Names are journaled as given: only a name a container or process could have.
    if (!NAME_PATTERN.test(container)) throw new VigilError(ERR_BAD_REQUEST, `container: expected a container name, got ${JSON.stringify(container)}`);
    if (process !== null && !PROCESS_NAME_PATTERN.test(process)) throw new VigilError(ERR_BAD_REQUEST, `process: expected a process name or null, got ${JSON.stringify(process)}`);
    // Read after its sender gave up on it (this monitor was stopped, or busy): it said the record was lost, so it is.
    if (deadline !== undefined && Date.now() > deadline) throw new StateError(`the note came ${Date.now() - deadline} ms after its sender stopped waiting: not journaled`);
    return { seq: reporter.emit({ kind, container, process, pid, action, peerPid: peer.pid, reason }).seq };
  }
  const target = request.process ? `${request.container}/${request.process}` : request.container;
  const state = store.tryRead(request.container);
  if (!state) throw new NotFoundError(`no container named "${request.container}"`);
  const proc = request.process ? state.processes.find((p) => p.name === request.process) : null;
  if (request.process && !proc) throw new NotFoundError(`container "${request.container}" has no process named "${request.process}"`);
  const pid = proc ? proc.pid : state.init?.pid ?? null;
  const args = [request.type, request.container, ...(request.process ? [request.process] : [])];
  if (request.type === 'stop' && request.timeoutMs !== undefined) args.push('-t', String(request.timeoutMs / 1000));
  reporter.emit({ kind: 'operator', container: request.container, process: request.process ?? null, pid, action: request.type, peerPid: peer.pid, reason: `operator ${request.type} of ${target} asked over the control socket (pid ${peer.pid})` });
  const { status, stderr } = await runVigil(store.root, args);
  const message = stderr.replace(/^vigil: /, '');
  if (status !== 0) {
    reporter.emit({ kind: 'operator', container: request.container, process: request.process ?? null, pid, action: request.type, peerPid: peer.pid, reason: `operator ${request.type} of ${target} failed: ${message}` });
    throw status === 1 ? new StateError(message) : new VigilError('ERR_COMMAND', `vigil ${args.join(' ')} exited ${status}: ${message}`);
  }
  const after = store.tryRead(request.container);
  const now = request.process ? after?.processes.find((p) => p.name === request.process) : null;
  const done = reporter.emit({
    kind: request.type === 'stop' ? 'stop' : 'start', container: request.container, process: request.process ?? null,
    pid: request.type === 'stop' ? pid : (now ? now.pid : after?.init?.pid ?? null),
    action: request.type, peerPid: peer.pid,
    reason: request.type === 'stop' ? `operator stop of ${target} done: not restarted` : `operator ${request.type} of ${target} done`,
  });
  return { seq: done.seq, container: after ? inspectView(after) : null };
}
