/**
 * The live feed, newest at the bottom: time, kind, who, and the monitor's
 * reason (which names the signal's sender, the decision and its delay).
 * The title says which filters apply and whether the feed is paused.
 */
import { Box, Text } from 'ink';
import type { JournalRecord } from '../../src/journal/journal.js';
import { clockTime, fit } from '../format.js';
import { usePaint } from '../theme.js';

export function kindColor(r: JournalRecord): string | undefined {
  switch (r.kind) {
    case 'exit':
    case 'lost':
      return r.action === 'restart' ? 'yellow' : r.action === 'leave' ? undefined : 'red';
    case 'oom':
    case 'give-up':
    case 'error':
      return 'red';
    case 'restart':
    case 'start':
      return 'green';
    case 'operator':
    case 'stop':
      return 'cyan';
    case 'signal':
      return 'magenta';
    case 'monitor':
      return 'gray';
    default:
      return undefined;
  }
}

export function recordLine(r: JournalRecord): string {
  const who = r.container ? `${r.container}${r.process ? `/${r.process}` : ''}` : 'vigil';
  return `${clockTime(r.time)} ${r.kind.padEnd(8)} ${who}${r.pid ? ` ${r.pid}` : ''}: ${r.reason}`;
}

export function EventFeed({ records, total, title, columns, height }: {
  records: JournalRecord[];
  total: number;
  title: string;
  columns: number;
  height: number;
}) {
  const paint = usePaint();
  const rows = Math.max(1, height - 1);
  const shown = records.slice(-rows);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate">{fit(`  Events (${records.length} shown of ${total} kept)${title ? ` · ${title}` : ''}`, columns, false)}</Text>
      {shown.length === 0 ? <Text dimColor>  no events{total ? ' match the filters' : ' yet'}</Text> : null}
      {shown.map((r, i) => (
        <Text key={r.unjournaled === true ? `u${r.seq}:${i}` : r.seq} wrap="truncate" color={paint(kindColor(r))} bold={r.kind === 'give-up' || r.alert === true}>
          {fit(recordLine(r), columns, false)}
        </Text>
      ))}
    </Box>
  );
}
