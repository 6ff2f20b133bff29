/**
 * `vigil tui`: the screen and its keys. State lives in one reducer
 * (state.ts); the monitor comes through a Link (link.ts) and everything with
 * a side effect (usage, log tails, starting a monitor) is handed in, so the
 * whole screen renders in tests from a fake link and fixed clock.
 *
 * Height: the App draws at most rows - 1 lines, so Ink redraws in place and
 * never has to clear the terminal.
 */
import { Box, useApp, useInput, type Key } from 'ink';
import { useCallback, useMemo, useReducer, useRef } from 'react';
import type { Timers } from './batcher.js';
import { ContainerList } from './components/ContainerList.js';
import { DetailView } from './components/DetailView.js';
import { EventFeed } from './components/EventFeed.js';
import { Footer } from './components/Footer.js';
import { Header } from './components/Header.js';
import { HelpView } from './components/HelpView.js';
import { NoMonitor } from './components/NoMonitor.js';
import { ProcessTree } from './components/ProcessTree.js';
import { useClock } from './hooks/use-clock.js';
import type { TailReader } from './hooks/use-log-tail.js';
import { useMonitor } from './hooks/use-monitor.js';
import { useTerminalSize, type Size } from './hooks/use-terminal-size.js';
import type { Link } from './link.js';
import { containersOf, type ContainerRow } from './model.js';
import { initialState, nextRestartAtMs, reduce, visibleFeed, type Action, type Target, type TuiState } from './state.js';
import { ThemeContext } from './theme.js';
import { UsageReader, type Usage } from './usage.js';

export interface OwnMonitor {
  pid: number;
  /** Resolves with a sentence when that monitor ends. */
  ended: Promise<string>;
}

export interface AppProps {
  link: Link;
  root: string;
  noColor?: boolean;
  /** A fixed size (tests); otherwise the terminal's, live. */
  size?: Size;
  now?: () => number;
  /** How often ages and uptimes move; 0: never (tests). */
  tickMs?: number;
  timers?: Timers;
  flushMs?: number;
  usage?: { sample(containers: ContainerRow[], nowMs: number): Map<string, Usage> };
  readLog?: TailReader;
  /** Start `vigil monitor` as a child (the `m` key); absent: the key only tells the command. */
  startMonitor?: () => OwnMonitor;
  onQuit?: () => void;
}

function targetName(t: Target): string {
  return t.process ? `${t.container}/${t.process}` : t.container;
}

function feedTitle(s: TuiState): string {
  const parts: string[] = [];
  if (s.scope === 'container') parts.push(`container ${s.selectedContainer ?? '-'}`);
  if (s.scope === 'process') parts.push(`process ${s.selectedContainer ?? '-'}/${s.selectedProcess ?? '-'}`);
  if (s.kinds) parts.push(`kinds ${s.kinds.join(',')}`);
  if (s.search) parts.push(`search "${s.search}"`);
  if (s.frozen) parts.push(`PAUSED, ${s.newWhilePaused} new`);
  return parts.join(' · ');
}

export function App(props: AppProps) {
  const now = props.now ?? Date.now;
  const [state, dispatch] = useReducer(reduce, undefined, initialState);
  const stateRef = useRef(state);
  stateRef.current = state;
  const { exit } = useApp();
  useMonitor(props.link, dispatch, props.timers, props.flushMs);
  const nowMs = useClock(now, props.tickMs ?? 1000);
  const size = useTerminalSize(props.size);
  const usageReader = useMemo(() => props.usage ?? new UsageReader(), [props.usage]);
  const containers = useMemo(() => containersOf(state.snapshot), [state.snapshot]);
  const usage = useMemo(() => usageReader.sample(containers, state.snapshotAtMs ?? now()), [containers]);

  const say = useCallback((text: string, error = false) => dispatch({ type: 'message', text, error, atMs: now() }), [now]);

  const perform = useCallback((action: Action, target: Target) => {
    say(`asking the monitor to ${action} ${targetName(target)}…`);
    props.link.request(action, target).then(
      (result) => {
        const seq = (result as { seq?: number } | null)?.seq;
        say(`${action} of ${targetName(target)} done${seq ? ` (journal seq ${seq})` : ''}`);
      },
      (err: Error) => say(`${action} of ${targetName(target)} failed: ${err.message}`, true),
    );
  }, [props.link, say]);

  const startMonitor = useCallback(() => {
    const s = stateRef.current;
    if (s.link.kind === 'live' || s.link.kind === 'connecting') return say('a monitor is already running', true);
    if (s.ownMonitor !== null) return say(`a monitor started from here (pid ${s.ownMonitor}) is coming up`, true);
    if (!props.startMonitor) return say(`start one with: vigil --root ${props.root} monitor`, true);
    try {
      const m = props.startMonitor();
      dispatch({ type: 'own-monitor', pid: m.pid });
      say(`started vigil monitor (pid ${m.pid}); it stops when you quit`);
      void m.ended.then((why) => {
        dispatch({ type: 'own-monitor', pid: null });
        say(`the monitor started from here ended: ${why}`, true);
      });
    } catch (err) {
      say(`could not start a monitor: ${(err as Error).message}`, true);
    }
  }, [props.startMonitor, props.root, say]);

  const onKey = (input: string, key: Key) => {
    const s = stateRef.current;
    if (s.confirm) {
      dispatch({ type: 'confirmed' });
      if (input === 'y' || input === 'Y') perform(s.confirm.action, s.confirm.target);
      else say(`${s.confirm.action} of ${targetName(s.confirm.target)} cancelled`);
      return;
    }
    if (s.prompt) {
      if (key.return) dispatch({ type: 'prompt-done', atMs: now() });
      else if (key.escape) dispatch({ type: 'back' });
      else if (key.backspace || key.delete) dispatch({ type: 'prompt-text', text: s.prompt.text.slice(0, -1) });
      else if (input && !key.ctrl && !key.meta) dispatch({ type: 'prompt-text', text: s.prompt.text + input });
      return;
    }
    if (input === 'q' || (key.ctrl && input === 'c')) {
      props.onQuit?.();
      exit();
      return;
    }
    if (key.escape) dispatch({ type: 'back' });
    else if (input === '?') dispatch({ type: 'help' });
    else if (key.upArrow || input === 'k') dispatch({ type: 'move', by: -1 });
    else if (key.downArrow || input === 'j') dispatch({ type: 'move', by: 1 });
    else if (key.pageUp) dispatch({ type: 'move', by: -5 });
    else if (key.pageDown) dispatch({ type: 'move', by: 5 });
    else if (key.tab) dispatch({ type: 'focus' });
    else if (key.leftArrow) dispatch({ type: 'focus', focus: 'containers' });
    else if (key.rightArrow) dispatch({ type: 'focus', focus: 'processes' });
    else if (key.return) dispatch({ type: 'open' });
    else if (input === 'r') dispatch({ type: 'ask', action: 'restart', atMs: now() });
    else if (input === 's') dispatch({ type: 'ask', action: 'stop', atMs: now() });
    else if (input === 'u') {
      const t = s.view === 'detail' && s.detail ? s.detail : s.selectedContainer ? { container: s.selectedContainer, process: s.focus === 'processes' ? s.selectedProcess : null } : null;
      if (t) perform('start', t);
      else say('select a container or process first', true);
    } else if (input === 'f') dispatch({ type: 'scope' });
    else if (input === 'e') dispatch({ type: 'prompt', kind: 'kinds' });
    else if (input === '/') dispatch({ type: 'prompt', kind: 'search' });
    else if (input === ' ' || input === 'p') dispatch({ type: 'pause' });
    else if (input === 'm') startMonitor();
  };

  useInput((input, key) => {
    // Keys typed faster than we read arrive as one chunk, which Ink does not
    // split ("\tr"): take them one by one. A question is answered only by a
    // key of its own (a chunk never confirms: each key sees the state from
    // before the chunk, when no question was open).
    if (input.length > 1 && !key.ctrl && !key.meta && !input.startsWith('\x1b') && !stateRef.current.prompt) {
      for (const c of input) onKey(c === '\t' || c === '\r' ? '' : c, { ...key, tab: c === '\t', return: c === '\r' });
      return;
    }
    onKey(input, key);
  });

  const { columns, rows } = size;
  const bodyHeight = Math.max(3, rows - 4);
  const selected = containers.find((c) => c.name === state.selectedContainer) ?? null;
  const nextRestart = (c: string) => (p: string) => nextRestartAtMs(state, c, p);
  const down = state.link.kind !== 'live';

  let body: JSX.Element;
  if (state.view === 'help') {
    body = <HelpView columns={columns} height={bodyHeight} />;
  } else if (down && !state.snapshot) {
    body = <NoMonitor link={state.link} root={props.root} nowMs={nowMs} canStart={Boolean(props.startMonitor)} ownMonitor={state.ownMonitor} height={bodyHeight} columns={columns} />;
  } else if (state.view === 'detail' && state.detail) {
    const d = state.detail;
    const c = containers.find((x) => x.name === d.container) ?? null;
    const events = (state.frozen ?? state.feed).filter((r) => r.container === d.container && (d.process === null || r.process === d.process));
    body = <DetailView container={c} process={d.process} events={events} usage={usage.get(d.container)} nextRestartMs={d.process ? nextRestartAtMs(state, d.container, d.process) : null} nowMs={nowMs} columns={columns} height={bodyHeight} readLog={props.readLog} />;
  } else {
    const banner = down && state.link.kind !== 'connecting' ? Math.min(3, Math.floor(bodyHeight / 4)) : 0;
    const rest = bodyHeight - banner;
    const cH = 2 + Math.min(Math.max(containers.length, 1), Math.max(1, Math.floor(rest * 0.3)));
    const pH = 2 + Math.min(Math.max(selected?.processes.length ?? 1, 1), Math.max(1, Math.floor(rest * 0.25)));
    const fH = Math.max(2, rest - cH - pH);
    const feed = visibleFeed(state);
    body = (
      <Box flexDirection="column" height={bodyHeight}>
        {banner ? <NoMonitor link={state.link} root={props.root} nowMs={nowMs} canStart={Boolean(props.startMonitor)} ownMonitor={state.ownMonitor} height={banner} columns={columns} compact /> : null}
        <ContainerList containers={containers} selected={state.selectedContainer} focused={state.focus === 'containers'} usage={usage} nowMs={nowMs} columns={columns} height={cH} />
        <ProcessTree container={selected} selected={state.selectedProcess} focused={state.focus === 'processes'} nextRestart={nextRestart(selected?.name ?? '')} nowMs={nowMs} columns={columns} height={pH} />
        <EventFeed records={feed} total={(state.frozen ?? state.feed).length} title={feedTitle(state)} columns={columns} height={fH} />
      </Box>
    );
  }

  return (
    <ThemeContext.Provider value={{ noColor: props.noColor ?? false }}>
      <Box flexDirection="column" width={columns} height={rows - 1}>
        <Header state={state} nowMs={nowMs} columns={columns} />
        {body}
        <Footer state={state} nowMs={nowMs} columns={columns} />
      </Box>
    </ThemeContext.Provider>
  );
}

