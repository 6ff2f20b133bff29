/** Small pure formatters for the screen: durations, sizes, widths. */

/** 850ms, 12s, 5m03s, 2h10m, 3d4h. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const neg = ms < 0;
  ms = Math.abs(ms);
  let out: string;
  if (ms < 1000) out = `${Math.round(ms)}ms`;
  else if (ms < 60_000) out = `${Math.floor(ms / 1000)}s`;
  else if (ms < 3_600_000) out = `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  else if (ms < 86_400_000) out = `${Math.floor(ms / 3_600_000)}h${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}m`;
  else out = `${Math.floor(ms / 86_400_000)}d${Math.floor((ms % 86_400_000) / 3_600_000)}h`;
  return neg ? `-${out}` : out;
}

export function since(iso: string | null, nowMs: number): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '-' : duration(nowMs - t);
}

/** 512B, 12K, 3.4M, 1.2G (powers of 1024, as the spec's suffixes). */
export function bytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)}${units[i]}`;
}

/** Cut to a width with an ellipsis; pad to it when `pad`. */
export function fit(text: string, width: number, pad = true): string {
  if (width <= 0) return '';
  const t = text.length > width ? (width > 1 ? text.slice(0, width - 1) + '…' : text.slice(0, width)) : text;
  return pad ? t.padEnd(width) : t;
}

export function clockTime(iso: string): string {
  return iso.slice(11, 19);
}

/** How a process last ended, in a few words: "SIGKILL from bash (pid 12, host)", "exit 3", "oom-killed". */
export function exitSummary(e: { code: number | null; signal: string | null; reason: string; sender: { pid: number; comm: string; container: string | null } | null } | null): string {
  if (!e) return '-';
  const how = e.reason === 'oom-killed' ? 'oom-killed' : e.signal ? e.signal : `exit ${e.code ?? '?'}`;
  const why = e.reason === 'operator' ? ' (operator)' : e.reason === 'lost' ? ' (lost)' : '';
  const who = e.sender ? ` from ${e.sender.comm} (pid ${e.sender.pid}${e.sender.container ? ` in ${e.sender.container}` : ', host'})` : '';
  return `${how}${why}${who}`;
}

/** Break text into lines of at most `width` at spaces (a word longer than that is cut). */
export function wrapWords(text: string, width: number): string[] {
  if (width <= 0) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (next.length <= width) line = next;
    else {
      if (line) lines.push(line);
      line = word.length > width ? fit(word, width, false) : word;
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}
