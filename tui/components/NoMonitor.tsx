/**
 * What the screen says when no monitor answers: plainly that none runs (or
 * that the link is down), what the TUI does about it (tries again every
 * second), and how to start one: the `m` key, or the exact command.
 */
import { Box, Text } from 'ink';
import { duration, fit } from '../format.js';
import type { LinkStatus } from '../state.js';
import { usePaint } from '../theme.js';

export function monitorCommand(root: string): string {
  return `vigil --root ${root} monitor`;
}

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
  const paint = usePaint();
  const lines: Array<{ text: string; bold?: boolean; color?: string }> = [];
  if (compact && link.kind !== 'live' && link.kind !== 'connecting' && link.kind !== 'refused') {
    const what = link.kind === 'no-monitor' ? 'NO MONITOR' : 'DISCONNECTED';
    lines.push({ text: `${what} for ${duration(Math.max(0, nowMs - link.sinceMs))}: ${link.message}`, bold: true, color: 'red' });
    lines.push({ text: 'Below: the last known state. Retrying every second; the feed resumes where it stopped.' });
    lines.push({ text: ownMonitor !== null ? `A monitor started from here (pid ${ownMonitor}) is coming up…` : `${canStart ? 'm: start one here · ' : ''}or run: ${monitorCommand(root)}` });
    return (
      <Box flexDirection="column" height={height}>
        {lines.slice(0, height).map((l, i) => (
          <Text key={i} bold={l.bold} color={paint(l.color)} wrap="truncate">{fit(`  ${l.text}`, columns, false)}</Text>
        ))}
      </Box>
    );
  }
  if (link.kind === 'refused') {
    lines.push({ text: link.message, bold: true, color: 'red' }, { text: 'Run vigil tui as root: the control socket is root only.' });
  } else if (link.kind === 'connecting') {
    lines.push({ text: `Connecting to the monitor of ${root}…` });
  } else if (link.kind !== 'live') {
    const what = link.kind === 'no-monitor' ? `No monitor is running for ${root}.` : `The monitor of ${root} does not answer.`;
    lines.push({ text: what, bold: true, color: 'red' }, { text: link.message });
    lines.push({ text: `Trying again every second (for ${duration(Math.max(0, nowMs - link.sinceMs))} so far); the feed resumes where it stopped.` });
    lines.push({ text: '' });
    if (ownMonitor !== null) lines.push({ text: `A monitor started from here (pid ${ownMonitor}) is coming up…` });
    else if (canStart) lines.push({ text: 'Press m to start one here: it runs as a child of this TUI and stops when you quit.', bold: true });
    lines.push({ text: `Or start it yourself in another terminal: ${monitorCommand(root)}` });
    lines.push({ text: 'Containers keep running without a monitor; the tracer records their exits meanwhile.' });
  }
  return (
    <Box flexDirection="column" height={height} paddingLeft={2}>
      {lines.map((l, i) => (
        <Text key={i} bold={l.bold} color={paint(l.color)} wrap="wrap">{l.text}</Text>
      ))}
    </Box>
  );
}
