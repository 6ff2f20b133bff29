/**
 * The selected container's processes as a tree under its vigil-init: pid,
 * name, state, restarts, health, and how it last ended (with the reason and
 * the sender of a fatal signal), or when the monitor restarts it next while
 * it backs off.
 */
import { Box } from 'ink';
import { duration, exitSummary, fit, since } from '../format.js';
import { processTrouble, TROUBLE_MARK, type ContainerRow, type ProcessRow } from '../model.js';
import { Line } from './Line.js';

export function processInfo(p: ProcessRow, nextRestartMs: number | null, nowMs: number): string {
  if (p.state === 'backing-off') {
    const when = nextRestartMs === null ? 'restart pending' : nextRestartMs > nowMs ? `restart in ${duration(nextRestartMs - nowMs)}` : 'restarting now';
    return `${when} · last: ${exitSummary(p.lastExit)}`;
  }
  const up = p.state === 'running' ? `up ${since(p.startedAt, nowMs)}` : '';
  const last = p.lastExit ? `last: ${exitSummary(p.lastExit)} ${since(p.lastExit.at, nowMs)} ago` : '';
  return [up, last].filter(Boolean).join(' · ') || '-';
}

export function ProcessTree({ container, selected, focused, nextRestart, nowMs, columns, height }: {
  container: ContainerRow | null;
  selected: string | null;
  focused: boolean;
  nextRestart: (process: string) => number | null;
  nowMs: number;
  columns: number;
  height: number;
}) {
  if (!container) {
    return (
      <Box flexDirection="column" height={height}>
        <Line text="  Processes" width={columns} bold />
        <Line text="  no container selected" width={columns} dim />
      </Box>
    );
  }
  const rows = Math.max(1, height - 2);
  const ps = container.processes;
  const at = Math.max(0, ps.findIndex((p) => p.name === selected));
  const first = Math.min(Math.max(0, at - rows + 1), Math.max(0, ps.length - rows));
  const nameW = Math.max(8, Math.min(24, Math.max(...ps.map((p) => p.name.length))));
  // No health column for a container none of whose processes has a check: it would be all dashes.
  const withHealth = ps.some((p) => p.health !== null);
  const title = `${focused ? '▸ ' : '  '}Processes of ${container.name}${first > 0 ? ` ↑${first}` : ''}${first + rows < ps.length ? ` ↓${ps.length - first - rows}` : ''}`;
  return (
    <Box flexDirection="column" height={height}>
      <Line text={title} width={columns} bold color={focused ? 'cyan' : undefined} />
      <Line text={`  vigil-init ${container.pid ?? '-'} (${container.state})`} width={columns} dim />
      {ps.slice(first, first + rows).map((p, i) => {
        const last = first + i === ps.length - 1;
        const trouble = processTrouble(p);
        const sel = p.name === selected;
        const line = `${sel ? '›' : ' '}${trouble ? TROUBLE_MARK[trouble] : ' '}${last ? '└─' : '├─'} ${fit(String(p.pid ?? '-'), 7)} ${fit(p.name, nameW)} ${fit(p.state, 11)} ${fit(`r${p.restarts}`, 4)} ${withHealth ? `${fit(p.health ?? '-', 7)} ` : ''}${processInfo(p, nextRestart(p.name), nowMs)}`;
        return <Line key={p.name} text={line} width={columns} inverse={sel && focused} bold={sel} color={trouble === 'backing-off' ? 'yellow' : trouble ? 'red' : p.state === 'running' ? undefined : 'gray'} />;
      })}
    </Box>
  );
}
