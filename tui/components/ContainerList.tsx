/**
 * One row per container: mark, name, state, uptime, running/total
 * processes, restarts, health, memory and cpu against their limits. Marks:
 * X a process gave up, ~ one is backing off, ! one has died and is not
 * running; the selected row starts with ›.
 */
import { Box } from 'ink';
import { bytes, fit, since } from '../format.js';
import { containerTrouble, TROUBLE_MARK, type ContainerRow } from '../model.js';
import type { Usage } from '../usage.js';
import { Line } from './Line.js';

const TROUBLE_COLOR = { 'given-up': 'red', 'backing-off': 'yellow', failing: 'red' } as const;

function memText(c: ContainerRow, u: Usage | undefined): string {
  const used = u?.memoryBytes ?? null;
  if (c.limits.memory === null) return used === null ? '-' : bytes(used);
  const pct = used === null ? '' : ` ${Math.round((used / c.limits.memory) * 100)}%`;
  return `${bytes(used)}/${bytes(c.limits.memory)}${pct}`;
}

function cpuText(c: ContainerRow, u: Usage | undefined): string {
  const used = u?.cpus ?? null;
  const usedText = used === null ? '-' : used.toFixed(2);
  return c.limits.cpus === null ? usedText : `${usedText}/${c.limits.cpus}`;
}

function health(c: ContainerRow): string {
  const hs = c.processes.map((p) => p.health).filter((h): h is string => h !== null);
  if (!hs.length) return '-';
  const bad = hs.filter((h) => h !== 'healthy').length;
  return bad ? `${bad} bad` : 'ok';
}

export function ContainerList({ containers, selected, focused, usage, nowMs, columns, height }: {
  containers: ContainerRow[];
  selected: string | null;
  focused: boolean;
  usage: Map<string, Usage>;
  nowMs: number;
  columns: number;
  height: number;
}) {
  const nameW = Math.max(8, Math.min(40, columns - 66));
  const head = `  ${fit('NAME', nameW)} ${fit('STATE', 8)} ${fit('UP', 7)} ${fit('PROCS', 5)} ${fit('RST', 4)} ${fit('HEALTH', 6)} ${fit('MEMORY', 15)} CPU`;
  const rows = Math.max(1, height - 2);
  const at = Math.max(0, containers.findIndex((c) => c.name === selected));
  const first = Math.min(Math.max(0, at - rows + 1), Math.max(0, containers.length - rows));
  const shown = containers.slice(first, first + rows);
  const title = `${focused ? '▸ ' : '  '}Containers (${containers.length})${first > 0 ? ` ↑${first}` : ''}${first + rows < containers.length ? ` ↓${containers.length - first - rows}` : ''}`;
  return (
    <Box flexDirection="column" height={height}>
      <Line text={title} width={columns} bold color={focused ? 'cyan' : undefined} />
      <Line text={head} width={columns} dim />
      {containers.length === 0 ? <Line text="  no containers (vigil run SPEC.yaml creates one)" width={columns} dim /> : null}
      {shown.map((c) => {
        const trouble = containerTrouble(c);
        const running = c.processes.filter((p) => p.state === 'running').length;
        const restarts = c.processes.reduce((a, p) => a + p.restarts, 0);
        const sel = c.name === selected;
        const line = `${sel ? '›' : ' '}${trouble ? TROUBLE_MARK[trouble] : ' '}${fit(c.name, nameW)} ${fit(c.state, 8)} ${fit(c.state === 'running' ? since(c.startedAt, nowMs) : '-', 7)} ${fit(`${running}/${c.processes.length}`, 5)} ${fit(String(restarts), 4)} ${fit(health(c), 6)} ${fit(memText(c, usage.get(c.name)), 15)} ${cpuText(c, usage.get(c.name))}`;
        return <Line key={c.name} text={line} width={columns} inverse={sel && focused} bold={sel} color={trouble ? TROUBLE_COLOR[trouble] : c.state === 'running' ? undefined : 'gray'} />;
      })}
    </Box>
  );
}
