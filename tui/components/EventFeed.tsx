/**
 * The live feed, newest at the bottom: time, kind, who, and the monitor's
 * reason (which names the signal's sender, the decision and its delay).
 * The title says which filters apply and whether the feed is paused.
 */
import { Box } from 'ink';
import type { JournalRecord } from '../../src/journal/journal.js';
import { clockTime } from '../format.js';
import { Line } from './Line.js';

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
  const rows = Math.max(1, height - 1);
  const shown = records.slice(-rows);
  return (
    <Box flexDirection="column" height={height}>
      <Line text={`  Events (${records.length} shown of ${total} kept)${title ? ` · ${title}` : ''}`} width={columns} bold />
      {shown.length === 0 ? <Line text={`  no events${total ? ' match the filters' : ' yet'}`} width={columns} dim /> : null}
      {shown.map((r, i) => (
        <Line key={r.unjournaled === true ? `u${r.seq}:${i}` : r.seq} text={recordLine(r)} width={columns} color={kindColor(r)} bold={r.kind === 'give-up' || r.alert === true} />
      ))}
    </Box>
  );
}
