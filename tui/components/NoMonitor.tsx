/**
 * What the screen says when no monitor answers: plainly that none runs (or
 * that the link is down), what the TUI does about it (tries again every
 * second), and how to start one: the `m` key, or the exact command.
 */
import { Box } from 'ink';
import { duration, wrapWords } from '../format.js';
import type { LinkStatus } from '../state.js';
import { Line } from './Line.js';

export function monitorCommand(root: string): string {
  return `vigil --root ${root} monitor`;
}

type Para = { text: string; bold?: boolean; color?: string };

export function NoMonitor({ link, root, nowMs, canStart, ownMonitor, height, columns, compact = false }: {
  link: LinkStatus;
  root: string;
  nowMs: number;
  canStart: boolean;
  ownMonitor: number | null;
  height: number;
  columns: number;
  /** A banner above the last known state: a few lines, each cut to the width. */
  compact?: boolean;
}) {
  const paras: Para[] = [];
  if (link.kind === 'refused') {
    paras.push({ text: link.message, bold: true, color: 'red' }, { text: 'Run vigil tui as root: the control socket is root only.' });
  } else if (link.kind === 'connecting') {
    paras.push({ text: `Connecting to the monitor of ${root}…` });
  } else if (link.kind !== 'live' && compact) {
    const what = link.kind === 'no-monitor' ? 'NO MONITOR' : 'DISCONNECTED';
    paras.push({ text: `${what} for ${duration(Math.max(0, nowMs - link.sinceMs))}: ${link.message}`, bold: true, color: 'red' });
    paras.push({ text: 'Below: the last known state. Retrying every second; the feed resumes where it stopped.' });
    paras.push({ text: ownMonitor !== null ? `A monitor started from here (pid ${ownMonitor}) is coming up…` : `${canStart ? 'm: start one here · ' : ''}or run: ${monitorCommand(root)}` });
  } else if (link.kind !== 'live') {
    const what = link.kind === 'no-monitor' ? `No monitor is running for ${root}.` : `The monitor of ${root} does not answer.`;
    paras.push({ text: what, bold: true, color: 'red' }, { text: link.message });
    paras.push({ text: `Trying again every second (for ${duration(Math.max(0, nowMs - link.sinceMs))} so far); the feed resumes where it stopped.` });
    paras.push({ text: '' });
    if (ownMonitor !== null) paras.push({ text: `A monitor started from here (pid ${ownMonitor}) is coming up…` });
    else if (canStart) paras.push({ text: 'Press m to start one here: it runs as a child of this TUI and stops when you quit.', bold: true });
    paras.push({ text: `Or start it yourself in another terminal: ${monitorCommand(root)}` });
    paras.push({ text: 'Containers keep running without a monitor; the tracer records their exits meanwhile.' });
  }
  // Compact lines are cut; full ones wrap at spaces.
  const lines = paras.flatMap((p) => (compact ? [p] : wrapWords(p.text, columns - 2).map((text) => ({ ...p, text }))));
  return (
    <Box flexDirection="column" height={height}>
      {lines.slice(0, height).map((l, i) => (
        <Line key={i} text={`  ${l.text}`} width={columns} bold={l.bold} color={l.color} />
      ))}
    </Box>
  );
}
