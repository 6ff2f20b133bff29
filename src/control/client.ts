/**
 * A client of the monitor's control socket (protocol.ts): for `vigil events`
 * and the TUI. It imports nothing of the monitor.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { JournalRecord } from '../journal/journal.js';
import { encodeFrame, FrameStream } from '../journal/frame.js';
import { ControlError, StateError, VigilError } from '../util/errors.js';
import { controlSocketPath, type Reply, type Request, type ServerMessage, type Snapshot } from './protocol.js';

/** No monitor listens on this root (no socket, or a dead one's). */
export class MonitorNotRunningError extends VigilError {
  constructor(readonly socketPath: string, cause: unknown) {
    super('ERR_NO_MONITOR', `no monitor is running (nothing listens at ${socketPath})`, { cause });
  }
}

// ControlError lives with the other error types, so that the CLI's exit-code
// mapping does not load this client (and node:net) for every command.
export { ControlError } from '../util/errors.js';

type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export interface ControlClientEvents {
  event: [JournalRecord];
  missed: [{ from: number; to: number }];
  close: [Error | null];
}

export class ControlClient extends EventEmitter<ControlClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedWith: Error | null | undefined = undefined;

  private constructor(private readonly socket: net.Socket) {
    super();
    const frames = new FrameStream();
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = frames.push(chunk);
      } catch (err) {
        this.finish(new ControlError('ERR_PROTOCOL', `the monitor sent ${(err as Error).message}`));
        return;
      }
      for (const v of values) this.onMessage(v as ServerMessage);
    });
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish(null));
  }

  /** Connect to the monitor of `root`; rejects with MonitorNotRunningError when none listens. */
  static connect(root: string, timeoutMs = 5000): Promise<ControlClient> {
    const socketPath = controlSocketPath(root);
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new StateError(`the monitor did not accept a connection at ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new MonitorNotRunningError(socketPath, err) : err);
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  request(body: RequestBody): Promise<unknown> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith ?? new ControlError('ERR_CLOSED', 'the connection to the monitor is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(encodeFrame({ ...body, id }));
    });
  }

  snapshot(): Promise<Snapshot> {
    return this.request({ type: 'snapshot' }) as Promise<Snapshot>;
  }

  restart(container: string, process: string | null = null): Promise<unknown> {
    return this.request({ type: 'restart', container, process });
  }

  start(container: string, process: string | null = null): Promise<unknown> {
    return this.request({ type: 'start', container, process });
  }

  stop(container: string, process: string | null = null, timeoutMs?: number): Promise<unknown> {
    return this.request({ type: 'stop', container, process, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  }

  /**
   * Events with seq > since, then live ones, as 'event'; 'missed' if this
   * client fell behind. Resolves once the monitor accepted.
   */
  async subscribe(since: number): Promise<void> {
    await this.request({ type: 'subscribe', since });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'event':
        this.emit('event', m.event);
        return;
      case 'missed':
        this.emit('missed', { from: m.from, to: m.to });
        return;
      case 'refused':
        this.finish(new ControlError('ERR_REFUSED', `the monitor refused this connection: ${m.message}`));
        return;
      default:
        this.settle(m);
    }
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.type === 'ok') waiter.resolve(reply.result);
    else waiter.reject(new ControlError(reply.code, reply.message));
  }

  private finish(err: Error | null): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err;
    const why = err ?? new ControlError('ERR_CLOSED', 'the monitor closed the connection');
    for (const w of this.pending.values()) w.reject(why);
    this.pending.clear();
    this.socket.destroy();
    this.emit('close', err);
  }
}
