/** `?`: every key, the marks, and what the feed's filters do. */
import { Box } from 'ink';
import { Line } from './Line.js';

export const KEYS: Array<[string, string]> = [
  ['↑ ↓  j k', 'move in the focused list'],
  ['tab ← →', 'focus containers or processes'],
  ['enter', 'details of the selected process or container'],
  ['r', 'restart it (asks y/n)'],
  ['s', 'stop it (asks y/n; never answered by a restart)'],
  ['u', 'start it (a stopped process or container)'],
  ['f', 'feed scope: all, selected container, selected process'],
  ['e', 'feed kinds: e.g. "exit oom restart" (empty: all)'],
  ['/', 'search the feed (empty: off)'],
  ['space p', 'pause or resume the feed'],
  ['m', 'start a monitor here when none runs'],
  ['esc', 'back; cancel a question or a prompt'],
  ['?', 'this help'],
  ['q ctrl-c', 'quit'],
];

const MARKS = 'Marks: X a process gave up · ~ backing off (restart pending) · ! died and not running · › selected';

export function HelpView({ columns, height }: { columns: number; height: number }) {
  return (
    <Box flexDirection="column" height={height}>
      <Line text="  Keys" width={columns} bold />
      {KEYS.map(([k, what]) => (
        <Line key={k} text={`  ${k.padEnd(10)} ${what}`} width={columns} />
      ))}
      <Line text={`  ${MARKS}`} width={columns} />
      <Line text="  The header says LIVE only while snapshots come; STALE, NO MONITOR and DISCONNECTED say how old the figures are." width={columns} />
    </Box>
  );
}
