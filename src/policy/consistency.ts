/**
 * Contradictory restart policy, refused at load with a sentence: settings
 * that each parse but together cannot mean anything (a code that is both a
 * success and a "never restart"), or a give-up rule that can never fire.
 * Pure: the spec check calls it with a parsed policy and reports each issue
 * at the field it names.
 */
import type { RestartPolicy } from '../launcher/spec.js';
import { formatDuration } from './describe.js';

export interface Contradiction {
  /** The field, relative to the restart policy (e.g. "giveUp.within"). */
  field: string;
  message: string;
}

function overlap(a: number[], b: number[]): number[] {
  return a.filter((code) => b.includes(code));
}

export function policyContradictions(p: RestartPolicy): Contradiction[] {
  const out: Contradiction[] = [];
  const codes = (list: number[]) => `exit code${list.length > 1 ? 's' : ''} ${list.join(', ')}`;
  const successPrevent = overlap(p.successCodes, p.preventCodes);
  if (successPrevent.length) out.push({ field: 'preventCodes', message: `${codes(successPrevent)} cannot be both a success and a prevent code` });
  const forcePrevent = overlap(p.forceCodes, p.preventCodes);
  if (forcePrevent.length) out.push({ field: 'forceCodes', message: `${codes(forcePrevent)} cannot both force a restart and prevent one` });
  const forceSuccess = overlap(p.forceCodes, p.successCodes);
  if (forceSuccess.length) out.push({ field: 'forceCodes', message: `${codes(forceSuccess)} cannot both force a restart and count as a success` });
  if (p.giveUp && p.giveUp.deaths > 1) {
    // Every restart waits at least initial (less its jitter), so N deaths span
    // at least N-1 such waits: a shorter window can never hold them all.
    const shortest = p.backoff.initial * (1 - p.backoff.jitter);
    const span = (p.giveUp.deaths - 1) * shortest;
    if (p.giveUp.within < span) {
      out.push({
        field: 'giveUp.within',
        message: `${p.giveUp.deaths} deaths take at least ${formatDuration(span)} when each restart waits at least ${formatDuration(shortest)} (backoff.initial${p.backoff.jitter ? ' less its jitter' : ''}), so a window of ${formatDuration(p.giveUp.within)} could never hold them and the give-up rule would never fire`,
      });
    }
  }
  return out;
}
