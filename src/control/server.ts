/**
 * The monitor's end of the control socket (protocol.ts). It knows nothing of
 * the monitor: the monitor hands it a snapshot function, a command handler
 * and a backlog reader, and publishes each journal record to it.
 *
 * A subscriber can never slow the monitor: writes never block, and when what
 * waits unsent for one subscriber passes `queueBytes`, it gets nothing more
 * until it has read all of that; then it is told the seq range it missed. One
 * that stays stuck for `stallMs` is cut off.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { JournalRecord } from '../journal/journal.js';
import { encodeFrame, FrameStream } from '../journal/frame.js';
import { peerCred } from '../tracer/native.js';
import { HostError } from '../util/errors.js';
import { controlDir, controlSocketPath, ERR_BAD_REQUEST, requestProblem, type Request, type ServerMessage, type Snapshot } from './protocol.js';

export const DEFAULT_QUEUE_BYTES = 256 * 1024;
export const DEFAULT_STALL_MS = 10_000;
/** How long a refused peer may take to close its end. */
const REFUSED_LINGER_MS = 2000;
/** Unread replies (not subscription records) after which a peer's next requests wait. */
export const REPLY_BACKLOG_BYTES = 1024 * 1024;

export interface Peer {
  pid: number;
  uid: number;
  gid: number;
}

export type CommandRequest = Extract<Request, { type: 'restart' | 'start' | 'stop' | 'note' }>;

export interface ControlHandlers {
  snapshot(): Snapshot;
  /** Perform restart/start/stop, or journal a note; resolves with what to answer, rejects with an error to report. */
  command(request: CommandRequest, peer: Peer): Promise<unknown>;
  /** Journal records with seq > since, as stored now (synchronously). */
  backlog(since: number): JournalRecord[];
  /** A peer was refused or dropped: for the monitor's log. */
  notice(message: string): void;
}

interface Subscriber {
  lastSent: number;
  missed: { from: number; to: number } | null;
  stall: NodeJS.Timeout | null;
}

interface Connection {
  socket: net.Socket;
  peer: Peer;
  sub: Subscriber | null;
  /** Requests read but not yet answered: held while the peer leaves replies unread. */
  pending: unknown[];
}

export class ControlServer {
  private readonly connections = new Set<Connection>();

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
    private readonly handlers: ControlHandlers,
    private readonly queueBytes: number,
    private readonly stallMs: number,
  ) {}

  /**
   * Listen at `<root>/control/monitor.sock`. The caller holds the monitor
   * lock, so a socket file left there is a dead monitor's and is replaced.
   */
  static listen(root: string, handlers: ControlHandlers, options: { queueBytes?: number; stallMs?: number } = {}): ControlServer {
    const dir = controlDir(root);
    const socketPath = controlSocketPath(root);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
      fs.rmSync(socketPath, { force: true });
    } catch (err) {
      throw HostError.from('prepare control socket', dir, err);
    }
    const server = net.createServer();
    const control = new ControlServer(server, socketPath, handlers, options.queueBytes ?? DEFAULT_QUEUE_BYTES, options.stallMs ?? DEFAULT_STALL_MS);
    server.on('connection', (socket) => control.accept(socket));
    server.on('error', (err) => handlers.notice(`control socket: ${err.message}`));
    // A pipe is bound and listening when listen() returns (the event comes later).
    server.listen(socketPath);
    try {
      fs.chmodSync(socketPath, 0o600);
    } catch (err) {
      server.close();
      throw HostError.from('chmod', socketPath, err);
    }
    return control;
  }

  close(): void {
    for (const c of this.connections) this.drop(c);
    this.server.close();
    fs.rmSync(this.socketPath, { force: true });
  }

  /** Bytes written to subscribers that their sockets still hold unsent: bounded by about queueBytes each. */
  get queuedBytes(): number {
    return [...this.connections].reduce((n, c) => n + (c.sub ? c.socket.writableLength : 0), 0);
  }

  get subscriberCount(): number {
    return [...this.connections].filter((c) => c.sub).length;
  }

  private accept(socket: net.Socket): void {
    let peer: Peer;
    try {
      const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (typeof fd !== 'number' || fd < 0) throw new Error('no descriptor for the connection');
      peer = peerCred(fd);
    } catch (err) {
      this.handlers.notice(`control socket: refused a peer whose credentials could not be read (${(err as Error).message})`);
      socket.destroy();
      return;
    }
    if (peer.uid !== 0) {
      this.handlers.notice(`control socket: refused pid ${peer.pid} (uid ${peer.uid}): only root may connect`);
      // Say why, then let the peer close: what it sends meanwhile is
      // discarded unread (closing at once would turn its writes into EPIPE
      // before it could read the reason).
      socket.on('data', () => undefined);
      socket.on('error', () => socket.destroy());
      socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
      socket.end(encodeFrame({ type: 'refused', message: `uid ${peer.uid} may not use the monitor's control socket: only root may` } satisfies ServerMessage));
      return;
    }
    const conn: Connection = { socket, peer, sub: null, pending: [] };
    this.connections.add(conn);
    const frames = new FrameStream();
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = frames.push(chunk);
      } catch (err) {
        this.handlers.notice(`control socket: dropped pid ${peer.pid}: ${(err as Error).message}`);
        this.drop(conn);
        return;
      }
      conn.pending.push(...values);
      this.answerPending(conn);
    });
    socket.on('drain', () => {
      this.onDrain(conn);
      this.answerPending(conn);
    });
    socket.on('error', () => this.drop(conn));
    socket.on('close', () => this.drop(conn));
  }

  /**
   * Answer what a peer asked, but only while it reads the answers: past
   * REPLY_BACKLOG_BYTES unread, its requests wait (and the socket is not
   * read) until the replies drain. A peer that sends and never reads holds
   * that much of the monitor's memory, not more.
   */
  private answerPending(conn: Connection): void {
    while (conn.pending.length && conn.socket.writableLength <= REPLY_BACKLOG_BYTES && !conn.socket.destroyed) this.onRequest(conn, conn.pending.shift());
    if (conn.socket.destroyed) return;
    if (conn.pending.length) conn.socket.pause();
    else conn.socket.resume();
  }

  private drop(conn: Connection): void {
    if (conn.sub?.stall) clearTimeout(conn.sub.stall);
    this.connections.delete(conn);
    conn.socket.destroy();
  }

  private send(conn: Connection, message: ServerMessage): void {
    if (!conn.socket.destroyed) conn.socket.write(encodeFrame(message));
  }

  private onRequest(conn: Connection, v: unknown): void {
    const problem = requestProblem(v);
    const id = Number.isSafeInteger((v as { id?: unknown })?.id) ? (v as { id: number }).id : 0;
    if (problem) {
      this.send(conn, { id, type: 'error', code: ERR_BAD_REQUEST, message: problem });
      return;
    }
    const request = v as Request;
    switch (request.type) {
      case 'snapshot':
        this.reply(conn, id, () => this.handlers.snapshot());
        return;
      case 'subscribe':
        this.subscribe(conn, id, request.since);
        return;
      default:
        this.handlers.command(request, conn.peer).then(
          (result) => this.send(conn, { id, type: 'ok', result }),
          (err: Error & { code?: string }) => this.send(conn, { id, type: 'error', code: err.code ?? 'ERR_COMMAND', message: err.message }),
        );
    }
  }

  private reply(conn: Connection, id: number, fn: () => unknown): void {
    try {
      this.send(conn, { id, type: 'ok', result: fn() });
    } catch (err) {
      this.send(conn, { id, type: 'error', code: (err as { code?: string }).code ?? 'ERR_INTERNAL', message: (err as Error).message });
    }
  }

  /**
   * Backlog then live, with nothing between: the journal is appended
   * synchronously before publish(), so what the backlog read holds is
   * exactly everything up to the next record published.
   */
  private subscribe(conn: Connection, id: number, since: number): void {
    if (conn.sub) {
      this.send(conn, { id, type: 'error', code: ERR_BAD_REQUEST, message: 'already subscribed on this connection' });
      return;
    }
    let backlog: JournalRecord[];
    try {
      backlog = this.handlers.backlog(since);
    } catch (err) {
      this.send(conn, { id, type: 'error', code: (err as { code?: string }).code ?? 'ERR_INTERNAL', message: (err as Error).message });
      return;
    }
    conn.sub = { lastSent: since, missed: null, stall: null };
    this.send(conn, { id, type: 'ok', result: { since } });
    for (const event of backlog) {
      this.send(conn, { type: 'event', event });
      conn.sub.lastSent = event.seq;
    }
  }

  /** Hand one new record to every subscriber, never waiting for any. */
  publish(event: JournalRecord): void {
    for (const conn of this.connections) {
      const sub = conn.sub;
      if (!sub || event.seq <= sub.lastSent) continue;
      if (sub.missed) {
        sub.missed.to = event.seq;
        continue;
      }
      if (conn.socket.writableLength > this.queueBytes) {
        sub.missed = { from: event.seq, to: event.seq };
        sub.stall = setTimeout(() => {
          this.handlers.notice(`control socket: cut off subscriber pid ${conn.peer.pid}: it read nothing for ${this.stallMs} ms`);
          this.drop(conn);
        }, this.stallMs);
        continue;
      }
      this.send(conn, { type: 'event', event });
      sub.lastSent = event.seq;
    }
  }

  private onDrain(conn: Connection): void {
    const sub = conn.sub;
    if (!sub?.missed) return;
    if (sub.stall) clearTimeout(sub.stall);
    sub.stall = null;
    const { from, to } = sub.missed;
    sub.missed = null;
    sub.lastSent = to;
    this.send(conn, { type: 'missed', from, to });
  }
}
