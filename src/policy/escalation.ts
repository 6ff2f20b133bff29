/**
 * The escalation chain, pure: what happens when restarting a process is not
 * enough.
 *
 *   process dies ──> restart.ts decide(): restart it (back-off), ...
 *                ──> its give-up rule fires with then: restart-container,
 *                    or onOom / onFault say restart-container,
 *                    or vigil-init died (the container is down)
 *                      ──> escalate(): restart the container (count it), ...
 *                      ──> containerRestarts already used within the window
 *                            ──> stop the container and raise an alert.
 *
 * A container restart starts every process afresh (new attempt and death
 * tallies), so it is the container tally here that ends a loop of them.
 * Windows include their edge: a restart exactly `within` ago still counts.
 */
import type { EscalationSpec } from '../launcher/spec-ops.js';
import { formatDuration } from './describe.js';

export type ContainerDecision =
  | { action: 'restart-container'; count: number; reason: string }
  | { action: 'stop-and-alert'; reason: string };

/**
 * `tallyMs`: wall-clock ms of this container's recent restarts by the
 * monitor, oldest first. `cause`: why a container restart is wanted, for the
 * reason ("api gave up: 5 deaths within 1 m").
 */
export function escalate(policy: EscalationSpec, tallyMs: number[], nowMs: number, cause: string): { decision: ContainerDecision; tallyMs: number[] } {
  const recent = tallyMs.filter((t) => nowMs - t <= policy.within);
  const window = formatDuration(policy.within);
  if (recent.length >= policy.containerRestarts) {
    return {
      decision: {
        action: 'stop-and-alert',
        reason: `${cause}; ${recent.length} container restart${recent.length === 1 ? '' : 's'} within ${window} already (escalation allows ${policy.containerRestarts}): stopping the container, alert`,
      },
      tallyMs: recent,
    };
  }
  const count = recent.length + 1;
  return {
    decision: { action: 'restart-container', count, reason: `${cause}; container restart ${count} of ${policy.containerRestarts} within ${window}` },
    tallyMs: [...recent, nowMs],
  };
}

/** Marks the records of container restarts the monitor did, so a later monitor can count them. */
export const CONTAINER_RESTART_MARK = 'restart-container';

/**
 * The tallies a new monitor starts from, rebuilt from the journal: the times
 * of the container restarts earlier monitors did (records marked
 * `escalation: restart-container`), within `horizonMs` of now. So a monitor
 * restart does not hand a restarting container a fresh allowance.
 */
export function talliesFromRecords(records: Array<{ container: string | null; time: string; escalation?: unknown }>, nowMs: number, horizonMs: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    if (r.escalation !== CONTAINER_RESTART_MARK || !r.container) continue;
    const t = Date.parse(r.time);
    if (!(nowMs - t <= horizonMs) || t > nowMs) continue;
    out.set(r.container, [...(out.get(r.container) ?? []), t]);
  }
  return out;
}
