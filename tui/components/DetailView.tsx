/**
 * One process or one container in full: state, policy, death tally, the
 * recent events that concern it, and (for a process) its log's tail.
 */
import { Box } from 'ink';
import type { JournalRecord } from '../../src/journal/journal.js';
import { bytes, duration, exitSummary, since } from '../format.js';
import type { ContainerRow, PolicyView, ProcessRow } from '../model.js';
import { useLogTail, type TailReader } from '../hooks/use-log-tail.js';
import type { Usage } from '../usage.js';
import { Line } from './Line.js';
import { processInfo } from './ProcessTree.js';
import { kindColor, recordLine } from './EventFeed.js';

export function policyText(p: PolicyView | null): string {
  if (!p) return 'policy unknown (a monitor older than this TUI)';
  const b = p.backoff;
  const backoff = b ? `back-off ${duration(b.initial)} ×${b.factor} up to ${duration(b.max)}, jitter ${Math.round(b.jitter * 100)}%, reset after ${duration(b.resetAfter)} running` : '';
  const giveUp = p.giveUp ? `give up after ${p.giveUp.deaths} deaths within ${duration(p.giveUp.within)}, then ${p.giveUp.then}` : 'never gives up';
  const codes = [p.successCodes.length ? `success codes ${p.successCodes.join(',')}` : '', p.preventCodes.length ? `never restarted on ${p.preventCodes.join(',')}` : ''].filter(Boolean).join(' · ');
  return [`restart ${p.policy}`, backoff, giveUp, codes].filter(Boolean).join(' · ');
}

export function tallyText(p: ProcessRow, nowMs: number): string {
  if (!p.deaths.length) return 'no deaths recorded';
  const window = p.policy?.giveUp?.within ?? null;
  const inWindow = window === null ? null : p.deaths.filter((d) => nowMs - Date.parse(d) <= window).length;
  const recent = p.deaths.slice(-5).reverse().map((d) => `${since(d, nowMs)} ago`).join(', ');
  const rule = inWindow === null ? '' : ` · ${inWindow} of ${p.policy!.giveUp!.deaths} within ${duration(window!)}`;
  return `${p.deaths.length} recorded${rule} · latest: ${recent}`;
}

function Lines({ items, columns }: { items: Array<{ text: string; color?: string; bold?: boolean }>; columns: number }) {
  return (
    <>
      {items.map((l, i) => (
        <Line key={i} text={l.text} width={columns} color={l.color} bold={l.bold} />
      ))}
    </>
  );
}

export function DetailView({ container, process, events, usage, nextRestartMs, nowMs, columns, height, readLog }: {
  container: ContainerRow | null;
  process: string | null;
  events: JournalRecord[];
  usage: Usage | undefined;
  nextRestartMs: number | null;
  nowMs: number;
  columns: number;
  height: number;
  readLog?: TailReader;
}) {
  const p = process ? container?.processes.find((x) => x.name === process) ?? null : null;
  const top: Array<{ text: string; color?: string; bold?: boolean }> = [];
  if (!container || (process && !p)) {
    top.push({ text: `${container ? `${container.name}/${process}` : 'this container'} is gone (removed, or not in the last snapshot)`, color: 'red', bold: true });
  } else if (p) {
    top.push({ text: `${container.name}/${p.name} · ${p.state}${p.pid ? ` pid ${p.pid}` : ''} · restarts ${p.restarts} · health ${p.health ?? '-'}`, bold: true });
    top.push({ text: `command: ${p.command.join(' ') || '-'}` });
    top.push({ text: `now: ${processInfo(p, nextRestartMs, nowMs)}` });
    top.push({ text: `last exit: ${p.lastExit ? `${exitSummary(p.lastExit)}, ${p.lastExit.reason}, at ${p.lastExit.at}` : 'none'}` });
    top.push({ text: `policy: ${policyText(p.policy)}` });
    top.push({ text: `death tally: ${tallyText(p, nowMs)}` });
  } else {
    const l = container.limits;
    top.push({ text: `${container.name} · ${container.state}${container.pid ? ` init pid ${container.pid}` : ''} · up ${container.state === 'running' ? since(container.startedAt, nowMs) : '-'}`, bold: true });
    top.push({ text: `limits: memory ${l.memory === null ? 'none' : bytes(l.memory)} · cpus ${l.cpus ?? 'none'} · pids ${l.pids ?? 'none'}` });
    top.push({ text: `use: memory ${bytes(usage?.memoryBytes ?? null)} · cpu ${usage?.cpus == null ? '-' : usage.cpus.toFixed(2)}` });
    top.push({ text: `cgroups: ${container.cgroupDirs.join(' ') || '-'}` });
    for (const q of container.processes) top.push({ text: `  ${q.name}: ${q.state} · r${q.restarts} · ${processInfo(q, null, nowMs)}` });
  }
  const rest = Math.max(2, height - top.length - 1);
  const eventRows = p ? Math.max(1, Math.floor(rest / 2) - 1) : rest - 1;
  const logRows = p ? Math.max(1, rest - eventRows - 2) : 0;
  const tail = useLogTail(p?.logFile ?? null, logRows, readLog);
  const shown = events.slice(-eventRows);
  return (
    <Box flexDirection="column" height={height}>
      <Lines items={top} columns={columns} />
      <Line text={`  Recent events (${events.length})`} width={columns} bold />
      <Lines items={shown.length ? shown.map((r) => ({ text: recordLine(r), color: kindColor(r) })) : [{ text: '  none in the feed' }]} columns={columns} />
      {p ? (
        <>
          <Line text={`  Log tail (${p.logFile ?? 'no log file known'})`} width={columns} bold />
          <Lines items={tail.error ? [{ text: `  ${tail.error}` }] : tail.lines.length ? tail.lines.map((t) => ({ text: t })) : [{ text: '  (empty)' }]} columns={columns} />
        </>
      ) : null}
    </Box>
  );
}
