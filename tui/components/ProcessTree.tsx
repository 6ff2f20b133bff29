/**
 * The selected container's processes as a tree under its vigil-init: pid,
 * name, state, restarts, health, and how it last ended (with the reason and
 * the sender of a fatal signal), or when the monitor restarts it next while
 * it backs off.
 */
import { Box, Text } from 'ink';
import { duration, exitSummary, fit, since } from '../format.js';
import { processTrouble, TROUBLE_MARK, type ContainerRow, type ProcessRow } from '../model.js';
import { usePaint } from '../theme.js';

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
  const paint = usePaint();
  if (!container) {
    return (
      <Box flexDirection="column" height={height}>
        <Text bold>  Processes</Text>
        <Text dimColor>  no container selected</Text>
      </Box>
    );
  }
  const rows = Math.max(1, height - 2);
  const ps = container.processes;
  const at = Math.max(0, ps.findIndex((p) => p.name === selected));
  const first = Math.min(Math.max(0, at - rows + 1), Math.max(0, ps.length - rows));
  const nameW = Math.max(8, Math.min(24, Math.max(...ps.map((p) => p.name.length))));
  // Health checks are not built yet (SPEC's `health` is refused): no column until a process has one.
  const withHealth = ps.some((p) => p.health !== null);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold color={paint(focused ? 'cyan' : undefined)} wrap="truncate">
        {fit(`${focused ? '▸ ' : '  '}Processes of ${container.name}${first > 0 ? ` ↑${first}` : ''}${first + rows < ps.length ? ` ↓${ps.length - first - rows}` : ''}`, columns, false)}
      </Text>
      <Text dimColor wrap="truncate">{fit(`  vigil-init ${container.pid ?? '-'} (${container.state})`, columns, false)}</Text>
      {ps.slice(first, first + rows).map((p, i) => {
        const last = first + i === ps.length - 1;
        const trouble = processTrouble(p);
        const sel = p.name === selected;
        const line = `${sel ? '›' : ' '}${trouble ? TROUBLE_MARK[trouble] : ' '}${last ? '└─' : '├─'} ${fit(String(p.pid ?? '-'), 7)} ${fit(p.name, nameW)} ${fit(p.state, 11)} ${fit(`r${p.restarts}`, 4)} ${withHealth ? `${fit(p.health ?? '-', 7)} ` : ''}${processInfo(p, nextRestart(p.name), nowMs)}`;
        return (
          <Text key={p.name} wrap="truncate" inverse={sel && focused} bold={sel} color={paint(trouble === 'backing-off' ? 'yellow' : trouble ? 'red' : p.state === 'running' ? undefined : 'gray')}>
            {fit(line, columns, false)}
          </Text>
        );
      })}
    </Box>
  );
}
