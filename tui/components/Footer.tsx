/**
 * The last line: a question waiting for y/n, a prompt being typed, the
 * outcome of the last request, or the keys that matter most.
 */
import { Line } from './Line.js';
import type { TuiState } from '../state.js';

const MESSAGE_MS = 8000;

export function Footer({ state, nowMs, columns }: { state: TuiState; nowMs: number; columns: number }) {
  if (state.confirm) {
    const { action, target } = state.confirm;
    const what = target.process ? `process ${target.container}/${target.process}` : `container ${target.container} (all its processes)`;
    return <Line text={`${action[0].toUpperCase()}${action.slice(1)} ${what}? y to confirm, any other key to cancel`} width={columns} bold inverse color="yellow" />;
  }
  if (state.prompt) {
    const label = state.prompt.kind === 'search' ? 'search' : 'kinds';
    return <Line text={`${label}: ${state.prompt.text}▏ (enter to apply, esc to cancel)`} width={columns} />;
  }
  if (state.message && nowMs - state.message.atMs < MESSAGE_MS) {
    return <Line text={state.message.text} width={columns} color={state.message.error ? 'red' : 'green'} bold={state.message.error} />;
  }
  const keys = state.view === 'main'
    ? '? help  q quit  ↑↓ move  tab focus  enter details  r restart  s stop  u start  f e / filter  space pause'
    : '? help  q quit  esc back  r restart  s stop  u start';
  return <Line text={keys} width={columns} dim />;
}
