/**
 * Words for durations in decision reasons: an operator reads "next in 400 ms"
 * or "within 1 m", not "within 60000 ms". A larger unit is used only when it
 * says the value exactly (to a tenth), so a boundary is never blurred:
 * 1999 ms stays "1999 ms", not "2 s".
 */
const UNITS: Array<[number, string]> = [[3_600_000, 'h'], [60_000, 'm'], [1000, 's']];

export function formatDuration(msValue: number): string {
  const whole = Math.round(msValue);
  for (const [size, name] of UNITS) {
    if (whole >= size && (whole * 10) % size === 0) return `${whole / size} ${name}`;
  }
  return `${whole} ms`;
}
