/**
 * The restart decision, pure: a death, the process's history and the clock
 * in; a decision with its reason out. No I/O, no timers: the monitor acts on
 * what this returns, and tests drive it with a fake clock.
 *
 *   death ──> operator asked for it?        -> leave (stopped)
 *         ──> exit code in preventCodes?    -> leave (exited)
 *         ──> OOM kill / kernel fault with onOom / onFault leave or
 *             restart-container, or an exit code in forceCodes -> that rule (faultRule)
 *         ──> policy never / clean exit under on-failure (unless forced) -> leave (exited)
 *         ──> give-up tally reached?        -> give up (then: restart-container | stop | alert)
 *         ──> otherwise                     -> restart after max(restartBackoff(attempt), spacing floor)
 *
 * Reasons read "<death>, <rule>: <outcome>" ("exit 1, on-failure, attempt 3
 * of 4, next in 400 ms"; "exit 0, operator stop: not restarted").
 */
import type { Backoff, FaultAction, GiveUpAction, RestartPolicy } from '../launcher/spec.js';
import { formatDuration } from './describe.js';
import { signalName } from '../util/signals.js';
import { ms, type Millis } from '../util/units.js';

export type Death =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number; fault: boolean; coreDumped: boolean; sender: string | null }
  | { kind: 'oom-killed' }
  /** Found gone by reconciliation, without an exit event. */
  | { kind: 'lost' }
  /** A restart that failed before the command ran (counts as a death). */
  | { kind: 'start-failed'; why: string };

export interface History {
  /** Restarts since the back-off was last reset. */
  attempt: number;
  /** Wall-clock ms when the process last started, or null. */
  startedAtMs: number | null;
  /** Wall-clock ms of recent deaths, oldest first. */
  deathsMs: number[];
}

export type Decision =
  | { action: 'restart'; delay: Millis; attempt: number; reason: string }
  | { action: 'leave'; state: 'exited' | 'stopped'; reason: string }
  | { action: 'give-up'; then: GiveUpAction; reason: string }
  /** onOom / onFault restart-container: the container goes down and up again (escalation.ts bounds it). */
  | { action: 'restart-container'; reason: string };

export interface DecideInput {
  policy: RestartPolicy;
  death: Death;
  history: History;
  operatorStop: boolean;
  /** The container itself is down (its init is gone): nothing to restart into. */
  containerDown?: boolean;
  nowMs: number;
  random?: () => number;
}

/** How long after an operator's signal a plain exit still counts as the answer to it. */
export const OPERATOR_SIGNAL_GRACE_MS = 10_000;

/**
 * Was this death the operator's doing? A stop always is; after `vigil kill`,
 * a death by that very signal is, and so is an exit (not a signal) within the
 * grace period, a graceful shutdown in answer to it. A process that survived
 * the signal and later dies otherwise is not. A death with no account of how
 * it ended (`lost`: its exit event never came, e.g. a full ring buffer while
 * no monitor ran) after the operator's SIGKILL is the operator's however late
 * it is found: nothing survives SIGKILL, and `operatorKill` belongs to this
 * very start of the process (a new start clears it).
 */
export function isOperatorsDeath(
  operatorStop: boolean,
  operatorKill: { signal: string; at: string } | null,
  death: { signal: string | null; reason?: string },
  nowMs: number,
): boolean {
  if (operatorStop) return true;
  if (!operatorKill) return false;
  if (death.reason === 'lost' && operatorKill.signal === 'SIGKILL') return true;
  if (death.signal !== null) return death.signal === operatorKill.signal;
  return nowMs - Date.parse(operatorKill.at) <= OPERATOR_SIGNAL_GRACE_MS;
}

/**
 * The delay before restart number `attempt` (1-based):
 *   min(max, initial * factor^(attempt-1)) * (1 + jitter * u),  u uniform in [-1, 1)
 * so the first restart waits `initial`, and the delay never passes `max`
 * (jitter aside).
 */
export function restartBackoff(backoff: Backoff, attempt: number, random: () => number = Math.random): Millis {
  const base = Math.min(backoff.max, backoff.initial * backoff.factor ** Math.max(0, attempt - 1));
  const spread = backoff.jitter * (2 * random() - 1);
  return ms(Math.max(0, Math.round(base * (1 + spread))));
}

/**
 * The longest wait a restart decision under `backoff` can give: the capped
 * back-off at its most jittered, or the spacing floor. A kept back-off
 * (state backoffUntil) is never waited out longer than this.
 */
export function longestRestartDelay(backoff: Backoff): Millis {
  return ms(Math.max(Math.round(backoff.max * (1 + backoff.jitter)), backoff.minSpacing ?? 0));
}

export function describeDeath(death: Death): string {
  switch (death.kind) {
    case 'exited':
      return `exit ${death.code}`;
    case 'signaled': {
      const name = signalName(death.signal);
      const how = death.fault ? `crashed with ${name}` : `killed by ${name}`;
      return `${how}${death.sender ? ` from ${death.sender}` : ''}${death.coreDumped ? ' (core dumped)' : ''}`;
    }
    case 'oom-killed':
      return 'OOM-killed';
    case 'lost':
      return 'gone without an exit event';
    case 'start-failed':
      return `restart failed (${death.why})`;
  }
}

export function isFailure(death: Death, policy: RestartPolicy): boolean {
  return death.kind !== 'exited' || !policy.successCodes.includes(death.code);
}

/** The death tally keeps what give-up rules need, and at least this many. */
const TALLY_MIN = 64;

/**
 * The rule an OOM kill, a kernel fault or a force code sets apart from the
 * restart condition, and its name for the reason; null: the condition decides.
 * State written by older builds lacks these fields: they mean "policy".
 */
export function faultRule(death: Death, policy: RestartPolicy): { action: Exclude<FaultAction, 'policy'>; label: string } | null {
  let action: FaultAction = 'policy';
  let label = '';
  if (death.kind === 'oom-killed') [action, label] = [policy.onOom ?? 'policy', `onOom ${policy.onOom}`];
  else if (death.kind === 'signaled' && death.fault) [action, label] = [policy.onFault ?? 'policy', `onFault ${policy.onFault}`];
  else if (death.kind === 'exited' && (policy.forceCodes ?? []).includes(death.code)) [action, label] = ['restart', `force code ${death.code}`];
  return action === 'policy' ? null : { action, label };
}

export function decide({ policy, death, history, operatorStop, containerDown, nowMs, random }: DecideInput): { decision: Decision; history: History } {
  const what = describeDeath(death);
  const deathsMs = [...history.deathsMs, nowMs].slice(-Math.max(TALLY_MIN, policy.giveUp?.deaths ?? 0));
  const leave = (state: 'exited' | 'stopped', why: string) => ({
    decision: { action: 'leave' as const, state, reason: `${what}, ${why}` },
    history: { ...history, deathsMs },
  });

  if (operatorStop) return leave('stopped', 'operator stop: not restarted');
  if (containerDown) return leave('exited', 'container down (vigil-init is gone): not restarted on its own');
  if (death.kind === 'exited' && policy.preventCodes.includes(death.code)) {
    return leave('exited', `prevent code ${death.code}: not restarted`);
  }
  const rule = faultRule(death, policy);
  if (rule?.action === 'leave') return leave('exited', `${rule.label}: not restarted`);
  if (rule?.action === 'restart-container') {
    return { decision: { action: 'restart-container', reason: `${what}, ${rule.label}: the container is restarted` }, history: { ...history, deathsMs } };
  }
  if (!rule) {
    if (policy.policy === 'never') return leave('exited', 'never: not restarted');
    if (policy.policy === 'on-failure' && !isFailure(death, policy)) return leave('exited', 'on-failure: a success, not restarted');
  }
  const label = rule ? rule.label : policy.policy;

  let inWindow = 0;
  if (policy.giveUp) {
    const { deaths, within, then } = policy.giveUp;
    inWindow = deathsMs.filter((t) => nowMs - t <= within).length;
    if (inWindow >= deaths) {
      return {
        decision: { action: 'give-up', then, reason: `${what}, ${label}: ${inWindow} deaths within ${formatDuration(within)}, giving up (then ${then})` },
        history: { ...history, deathsMs },
      };
    }
  }

  // A process that stayed up for resetAfter starts its back-off from the beginning.
  const ranMs = history.startedAtMs === null ? 0 : nowMs - history.startedAtMs;
  const attempt = ranMs >= policy.backoff.resetAfter ? 1 : history.attempt + 1;
  const backoffDelay = restartBackoff(policy.backoff, attempt, random);
  const floor = spacingFloor(policy.backoff, history.startedAtMs, nowMs);
  const delay = ms(Math.max(backoffDelay, floor));
  const count = policy.giveUp ? `attempt ${inWindow} of ${policy.giveUp.deaths - 1} within ${formatDuration(policy.giveUp.within)}` : `attempt ${attempt}`;
  const floored = floor > backoffDelay ? ` (held to one start per ${formatDuration(policy.backoff.minSpacing)})` : '';
  return {
    decision: { action: 'restart', delay, attempt, reason: `${what}, ${label}, ${count}, next in ${formatDuration(delay)}${floored}` },
    history: { attempt, startedAtMs: history.startedAtMs, deathsMs },
  };
}

/**
 * The floor on restart spacing: the next start comes no sooner than
 * minSpacing after the last one, whatever the back-off (a reset back-off, an
 * initial of 0 ms) says. Returns the wait that keeps it, 0 if none is needed.
 */
export function spacingFloor(backoff: Backoff, lastStartMs: number | null, nowMs: number): number {
  const minSpacing = backoff.minSpacing ?? 0;
  if (lastStartMs === null || minSpacing <= 0) return 0;
  return Math.max(0, lastStartMs + minSpacing - nowMs);
}
