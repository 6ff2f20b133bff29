/** Summaries of repeated measurements: medians, quantiles, ranges, table cells. */

export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The q-quantile by the nearest-rank method (q = 0.5: the median of an odd count). */
export function quantile(xs: readonly number[], q: number): number {
  const s = sorted(xs);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Digits after the point that suit a value's size. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

/** "median (min–max)". */
export function medianRange(xs: readonly number[]): string {
  if (!xs.length) return '–';
  const s = sorted(xs);
  return `${fmt(median(s))} (${fmt(s[0])}–${fmt(s[s.length - 1])})`;
}

/** "p50 / p99 (max)". */
export function p50p99(xs: readonly number[]): string {
  if (!xs.length) return '–';
  return `${fmt(quantile(xs, 0.5))} / ${fmt(quantile(xs, 0.99))} (max ${fmt(Math.max(...xs))})`;
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(a / b >= 0.1 ? 2 : 3)}×`;
}

/** A Markdown table, columns padded to their widest cell. */
export function markdownTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
