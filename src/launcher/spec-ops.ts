/**
 * Spec extensions for operations (docs/decisions.md, "Escalation, hooks,
 * metrics"): how many container restarts a container gets before it is
 * stopped with an alert, and commands run on the host when chosen events
 * happen (alarms). Pure, like spec.ts.
 */
import { JOURNAL_KINDS } from '../journal/journal.js';
import { ms, type Millis } from '../util/units.js';
import type { Checker } from './spec.js';

export interface EscalationSpec {
  /** Container restarts allowed within `within`; one more stops the container and alerts. */
  containerRestarts: number;
  within: Millis;
}

export const DEFAULT_ESCALATION: EscalationSpec = { containerRestarts: 5, within: ms(60_000) };

/** A hook's `on`: any record kind of the journal, or `alert` for every record raised as an alert. */
export const HOOK_EVENTS = [...JOURNAL_KINDS, 'alert'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface HookSpec {
  on: HookEvent[];
  /** argv, run on the host (not in the container), as the monitor's user (root). */
  command: string[];
  timeout: Millis;
}

export const DEFAULT_HOOK_TIMEOUT = ms(5000);
const MAX_HOOK_TIMEOUT = 60_000;
const MAX_HOOKS = 16;

export function escalationSpec(c: Checker, v: unknown, path: string): EscalationSpec | undefined {
  const o = c.object(v, path, ['containerRestarts', 'within']);
  if (!o) return undefined;
  const containerRestarts = o.containerRestarts === undefined ? DEFAULT_ESCALATION.containerRestarts : c.number(o.containerRestarts, `${path}.containerRestarts`, { min: 0, max: 1000, integer: true });
  const within = o.within === undefined ? DEFAULT_ESCALATION.within : c.duration(o.within, `${path}.within`);
  if (within !== undefined && within < 1000) return c.fail(`${path}.within`, `must be at least 1s (a shorter window cannot stop a restart loop), got ${within} ms`);
  return containerRestarts !== undefined && within !== undefined ? { containerRestarts, within } : undefined;
}

export function hooksSpec(c: Checker, v: unknown, path: string): HookSpec[] | undefined {
  if (!Array.isArray(v)) return c.fail(path, `expected a list of hooks such as [{on: [give-up], command: ["/usr/local/bin/page"]}], got ${Array.isArray(v) ? 'a list' : typeof v}`);
  if (v.length > MAX_HOOKS) return c.fail(path, `at most ${MAX_HOOKS} hooks, got ${v.length}`);
  const out: HookSpec[] = [];
  let ok = true;
  v.forEach((h, i) => {
    const hp = `${path}[${i}]`;
    const o = c.object(h, hp, ['on', 'command', 'timeout']);
    if (!o) return (ok = false);
    let on: HookEvent[] | undefined;
    if (!Array.isArray(o.on) || o.on.length === 0) {
      c.fail(`${hp}.on`, `expected a non-empty list of events (${HOOK_EVENTS.join(', ')})`);
    } else {
      on = [];
      o.on.forEach((e, j) => {
        const kind = c.oneOf(e, `${hp}.on[${j}]`, HOOK_EVENTS);
        if (kind) on!.push(kind);
      });
      if (on.length !== o.on.length) on = undefined;
    }
    let command: string[] | undefined;
    if (!Array.isArray(o.command) || o.command.length === 0) {
      c.fail(`${hp}.command`, 'expected a non-empty argv list whose first word is an absolute path');
    } else {
      command = [];
      o.command.forEach((arg, j) => {
        const s = j === 0 ? c.absolutePath(arg, `${hp}.command[0]`) : c.string(arg, `${hp}.command[${j}]`);
        if (s !== undefined) command!.push(s);
      });
      if (command.length !== o.command.length) command = undefined;
    }
    const timeout = o.timeout === undefined ? DEFAULT_HOOK_TIMEOUT : c.duration(o.timeout, `${hp}.timeout`);
    if (timeout !== undefined && (timeout < 1 || timeout > MAX_HOOK_TIMEOUT)) {
      c.fail(`${hp}.timeout`, `must be between 1ms and 1m (a hook must not hold an alarm back), got ${timeout} ms`);
      return (ok = false);
    }
    if (!on || !command || timeout === undefined) return (ok = false);
    out.push({ on, command, timeout });
  });
  return ok ? out : undefined;
}
