/**
 * Units with their domain in the type: durations from specs are Millis; kernel
 * and monitor timestamps are MonoNs (CLOCK_MONOTONIC, the clock of
 * bpf_ktime_get_ns and of process.hrtime).
 */
export type Millis = number & { readonly __unit: 'ms' };
export type MonoNs = bigint & { readonly __unit: 'mono-ns' };

export const ms = (n: number): Millis => n as Millis;
export const monoNow = (): MonoNs => process.hrtime.bigint() as MonoNs;
export const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_SCALE: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "100ms", "1.5s", "2m", "1h" -> Millis, or null when the text is no duration. */
export function parseDuration(text: string): Millis | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  return ms(Math.round(Number(m[1]) * DURATION_SCALE[m[2]]));
}

const SIZE = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i;
const SIZE_SCALE: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "256M", "1G", "4096" -> bytes, or null when the text is no size. */
export function parseSize(text: string): number | null {
  const m = SIZE.exec(text.trim());
  if (!m) return null;
  const bytes = Math.floor(Number(m[1]) * SIZE_SCALE[m[2].toUpperCase()]);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
