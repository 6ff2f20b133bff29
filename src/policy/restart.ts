/**
 * The restart decision, pure: a death, the process's history and the clock
 * in; a decision with its reason out. No I/O, no timers: the monitor acts on
 * what this returns, and tests drive it with a fake clock.
 *
 *   death ──> operator asked for it?        -> leave (stopped)
 *         ──> exit code in preventCodes?    -> leave (exited)
 *         ──> policy never / clean exit under on-failure -> leave (exited)
 *         ──> give-up tally reached?        -> give up (then: stop | alert)
 *         ──> otherwise                     -> restart after restartBackoff(attempt)
 */
import type { Backoff, GiveUpAction, RestartPolicy } from '../launcher/spec.js';
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
  | { action: 'give-up'; then: GiveUpAction; reason: string };

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
 * the signal and later dies otherwise is not.
 */
export function isOperatorsDeath(
  operatorStop: boolean,
  operatorKill: { signal: string; at: string } | null,
  death: { signal: string | null },
  nowMs: number,
): boolean {
  if (operatorStop) return true;
  if (!operatorKill) return false;
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

export function decide({ policy, death, history, operatorStop, containerDown, nowMs, random }: DecideInput): { decision: Decision; history: History } {
  const what = describeDeath(death);
  const deathsMs = [...history.deathsMs, nowMs].slice(-Math.max(TALLY_MIN, policy.giveUp?.deaths ?? 0));
  const leave = (state: 'exited' | 'stopped', why: string) => ({
    decision: { action: 'leave' as const, state, reason: `${what}: ${why}` },
    history: { ...history, deathsMs },
  });

  if (operatorStop) return leave('stopped', 'operator stop, not restarted');
  if (containerDown) return leave('exited', 'the container is down (vigil-init is gone), not restarted on its own');
  if (death.kind === 'exited' && policy.preventCodes.includes(death.code)) {
    return leave('exited', `exit code ${death.code} is a prevent code, not restarted`);
  }
  if (policy.policy === 'never') return leave('exited', 'restart never, not restarted');
  if (policy.policy === 'on-failure' && !isFailure(death, policy)) return leave('exited', 'a success under on-failure, not restarted');

  if (policy.giveUp) {
    const recent = deathsMs.filter((t) => nowMs - t <= policy.giveUp!.within);
    if (recent.length >= policy.giveUp.deaths) {
      return {
        decision: {
          action: 'give-up',
          then: policy.giveUp.then,
          reason: `${what}: ${recent.length} deaths within ${policy.giveUp.within} ms, giving up (${policy.giveUp.then})`,
        },
        history: { ...history, deathsMs },
      };
    }
  }

  // A process that stayed up for resetAfter starts its back-off from the beginning.
  const ranMs = history.startedAtMs === null ? 0 : nowMs - history.startedAtMs;
  const attempt = ranMs >= policy.backoff.resetAfter ? 1 : history.attempt + 1;
  const delay = restartBackoff(policy.backoff, attempt, random);
  return {
    decision: { action: 'restart', delay, attempt, reason: `${what}, ${policy.policy}: restart ${attempt} in ${delay} ms` },
    history: { attempt, startedAtMs: history.startedAtMs, deathsMs },
  };
}
