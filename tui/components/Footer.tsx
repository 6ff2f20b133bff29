/**
 * The last line: a question waiting for y/n, a prompt being typed, the
 * outcome of the last request, or the keys that matter most.
 */
import { Text } from 'ink';
import { fit } from '../format.js';
import type { TuiState } from '../state.js';
import { usePaint } from '../theme.js';

const MESSAGE_MS = 8000;

export function Footer({ state, nowMs, columns }: { state: TuiState; nowMs: number; columns: number }) {
  const paint = usePaint();
  if (state.confirm) {
    const { action, target } = state.confirm;
    const what = target.process ? `process ${target.container}/${target.process}` : `container ${target.container} (all its processes)`;
    return <Text bold inverse color={paint('yellow')} wrap="truncate">{fit(`${action[0].toUpperCase()}${action.slice(1)} ${what}? y to confirm, any other key to cancel`, columns, false)}</Text>;
  }
  if (state.prompt) {
    const label = state.prompt.kind === 'search' ? 'search' : 'kinds';
    return <Text wrap="truncate">{fit(`${label}: ${state.prompt.text}▏ (enter to apply, esc to cancel)`, columns, false)}</Text>;
  }
  if (state.message && nowMs - state.message.atMs < MESSAGE_MS) {
    return <Text color={paint(state.message.error ? 'red' : 'green')} bold={state.message.error} wrap="truncate">{fit(state.message.text, columns, false)}</Text>;
  }
  const keys = state.view === 'main'
    ? '↑↓ move  tab focus  enter details  r restart  s stop  u start  f e / filter  space pause  ? help  q quit'
    : 'esc back  r restart  s stop  u start  ? help  q quit';
  return <Text dimColor wrap="truncate">{fit(keys, columns, false)}</Text>;
}
