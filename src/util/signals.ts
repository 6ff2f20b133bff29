/** Linux signal numbers and names (x86_64 and arm64 agree on these). */
import os from 'node:os';

const BY_NUMBER = new Map<number, string>(
  Object.entries(os.constants.signals).map(([name, num]) => [num, name]),
);
// os.constants lists SIGIOT and SIGABRT (6), SIGPOLL and SIGIO (29): prefer the usual names.
BY_NUMBER.set(6, 'SIGABRT');
BY_NUMBER.set(29, 'SIGIO');

export function signalName(sig: number): string {
  return BY_NUMBER.get(sig) ?? `SIG${sig}`;
}

/** "SIGKILL", "KILL", "kill" or "9" -> the signal's name; null if unknown. */
export function parseSignal(text: string): NodeJS.Signals | null {
  if (/^\d+$/.test(text)) {
    const name = BY_NUMBER.get(Number(text));
    return (name as NodeJS.Signals) ?? null;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in os.constants.signals ? (name as NodeJS.Signals) : null;
}

/** Signals the kernel raises for a fault in the process itself. */
export const FAULT_SIGNALS = new Set([4, 5, 6, 7, 8, 11, 31]); // ILL TRAP ABRT BUS FPE SEGV SYS
