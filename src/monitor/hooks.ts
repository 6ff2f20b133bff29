/**
 * Hooks: commands run on the host when chosen events happen (alarms). The
 * event is written to the command's stdin as one JSON line. The monitor never
 * waits for a hook: each runs as a child in its own process group, is killed
 * (the group, SIGKILL) when its timeout passes, and a failure (spawn error,
 * non-zero exit, signal, timeout) is journaled as one `error` record. Hooks
 * never fire on records about hooks, so a failing alarm cannot feed itself.
 *
 * Hooks run as the monitor's user (root), outside every container: they are
 * the operator's own commands, like the spec file itself.
 */
import { spawn } from 'node:child_process';
import type { JournalRecord } from '../journal/journal.js';
import { DEFAULT_HOOK_TIMEOUT, HOOK_EVENTS, type HookEvent, type HookSpec } from '../launcher/spec-ops.js';
import { UsageError } from '../util/errors.js';
import { formatDuration } from '../policy/describe.js';
import type { Reporter } from './report.js';

/** Hooks running at once; more are skipped (and that is journaled once per burst). */
export const MAX_RUNNING_HOOKS = 16;
const STDERR_KEEP = 512;

export function hookMatches(hook: HookSpec, record: JournalRecord): boolean {
  return hook.on.includes(record.kind as HookEvent) || (hook.on.includes('alert') && record.alert === true);
}

/** `--hook give-up,oom=/usr/local/bin/page` -> a hook for every container and for the monitor's own records. */
export function parseHookOption(text: string): HookSpec {
  const eq = text.indexOf('=');
  const usage = 'expected --hook EVENT[,EVENT...]=/absolute/path (for example give-up,oom=/usr/local/bin/page)';
  if (eq <= 0) throw new UsageError(`option --hook: ${usage}, got ${JSON.stringify(text)}`);
  const on = text.slice(0, eq).split(',');
  const command = text.slice(eq + 1);
  for (const e of on) {
    if (!(HOOK_EVENTS as readonly string[]).includes(e)) throw new UsageError(`option --hook: unknown event ${JSON.stringify(e)} (known: ${HOOK_EVENTS.join(', ')})`);
  }
  if (!command.startsWith('/')) throw new UsageError(`option --hook: ${usage}; the command must be an absolute path, got ${JSON.stringify(command)}`);
  return { on: on as HookEvent[], command: [command], timeout: DEFAULT_HOOK_TIMEOUT };
}

export class HookRunner {
  private running = 0;
  private skipped = 0;
  readonly counters = { started: 0, failed: 0, skipped: 0 };

  /**
   * `containerHooks` gives a container's spec hooks (read from its state);
   * `monitorHooks` apply to every record, container or not.
   */
  constructor(
    private readonly reporter: Reporter,
    private readonly containerHooks: (container: string) => HookSpec[],
    private readonly monitorHooks: HookSpec[] = [],
    /** The state root, given to hooks as VIGIL_ROOT so they can run `vigil`. */
    private readonly root: string | null = null,
  ) {}

  /** Subscribe to the reporter; returns the unsubscribe function. */
  attach(): () => void {
    return this.reporter.onRecord((r) => this.onRecord(r));
  }

  onRecord(record: JournalRecord): void {
    if (record.hook) return;
    const hooks = [...this.monitorHooks, ...(record.container ? this.safeContainerHooks(record.container) : [])];
    for (const h of hooks) if (hookMatches(h, record)) this.run(h, record);
  }

  private safeContainerHooks(container: string): HookSpec[] {
    try {
      return this.containerHooks(container);
    } catch {
      return [];
    }
  }

  private run(hook: HookSpec, record: JournalRecord): void {
    const what = `hook ${hook.command.join(' ')} (on ${record.kind}, seq ${record.seq})`;
    if (this.running >= MAX_RUNNING_HOOKS) {
      this.counters.skipped++;
      if (this.skipped++ === 0) this.journal(record, `${what} skipped: ${MAX_RUNNING_HOOKS} hooks are still running (further skips are not journaled until one ends)`);
      return;
    }
    this.running++;
    this.counters.started++;
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(hook.command[0], hook.command.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true, // its own process group, killed whole on timeout
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        VIGIL_EVENT: record.kind,
        VIGIL_CONTAINER: record.container ?? '',
        ...(this.root ? { VIGIL_ROOT: this.root } : {}),
      },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, hook.timeout);
    const done = (failure: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.running--;
      if (this.running < MAX_RUNNING_HOOKS) this.skipped = 0;
      if (failure) {
        this.counters.failed++;
        this.journal(record, `${what} ${failure}`);
      }
    };
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < STDERR_KEEP) stderr += d;
    });
    child.stdin!.on('error', () => {}); // a hook that does not read its stdin is fine
    child.stdin!.end(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
    child.on('error', (err) => done(`could not start: ${err.message}`));
    child.on('close', (code, signal) => {
      const tail = stderr.trim().split('\n').at(-1)?.slice(0, 200);
      if (timedOut) done(`timed out after ${formatDuration(hook.timeout)}: killed`);
      else if (signal) done(`killed by ${signal}${tail ? `: ${tail}` : ''}`);
      else if (code !== 0) done(`failed with exit ${code}${tail ? `: ${tail}` : ''}`);
      else done(null);
    });
    child.unref();
  }

  private journal(record: JournalRecord, reason: string): void {
    this.reporter.emit({ kind: 'error', container: record.container, process: record.process, pid: null, hook: true, reason });
  }
}
