/**
 * Two lines: where (host, monitor pid and uptime, version, kernel, cgroup
 * layout) and how fresh (tracer state, events per second, drops, last
 * event, and LIVE / STALE / NO MONITOR / DISCONNECTED in words).
 */
import { Box } from 'ink';
import { duration, fit, since } from '../format.js';
import { isStale, type TuiState } from '../state.js';
import { Line } from './Line.js';

export function Header({ state, nowMs, columns }: { state: TuiState; nowMs: number; columns: number }) {
  const m = state.snapshot?.monitor;
  const link = state.link;
  let mark: { text: string; color: string };
  if (link.kind === 'live') {
    mark = isStale(state, nowMs) ? { text: `STALE (no snapshot for ${duration(nowMs - (state.snapshotAtMs ?? nowMs))})`, color: 'yellow' } : { text: 'LIVE', color: 'green' };
  } else if (link.kind === 'connecting') mark = { text: 'CONNECTING', color: 'yellow' };
  else if (link.kind === 'no-monitor') mark = { text: `NO MONITOR (${duration(Math.max(0, nowMs - link.sinceMs))})`, color: 'red' };
  else if (link.kind === 'disconnected') mark = { text: `DISCONNECTED (${duration(Math.max(0, nowMs - link.sinceMs))})`, color: 'red' };
  else mark = { text: 'REFUSED', color: 'red' };
  if (state.frozen) mark = { text: `${mark.text} · FEED PAUSED (+${state.newWhilePaused})`, color: mark.color };

  const host = m?.host;
  const where = m
    ? `${host?.hostname ?? 'host ?'} · monitor pid ${m.pid} up ${duration(m.uptimeMs + (state.snapshotAtMs !== null ? Math.max(0, nowMs - state.snapshotAtMs) : 0))} · vigil ${m.version}${host ? ` · kernel ${host.kernel} · cgroup ${host.cgroupLayout}` : ''}`
    : 'vigil · no monitor data yet';
  const tracer = m?.tracer;
  const tracerText = tracer ? `tracer ${tracer.attached ? 'attached' : 'NOT ATTACHED'}${tracer.pinned ? ', pinned' : ', NOT PINNED'}` : 'tracer ?';
  const eps = state.eventsPerSecond === null ? '-' : state.eventsPerSecond < 10 ? state.eventsPerSecond.toFixed(1) : String(Math.round(state.eventsPerSecond));
  const drops = m ? (m.tracerDrops === '0' ? 'drops 0' : `DROPS ${m.tracerDrops}`) : 'drops ?';
  const last = m ? `last event ${m.lastEventAt ? `${since(m.lastEventAt, nowMs)} ago` : 'none'} (seq ${Math.max(m.lastSeq, state.lastSeq)})` : '';
  const left = `${tracerText} · ${eps} ev/s · ${drops} · ${last}`;
  const markText = fit(mark.text, columns, false);
  const room = Math.max(0, columns - markText.length - 1);
  return (
    <Box flexDirection="column">
      <Line text={where} width={columns} bold />
      <Box>
        {room > 0 ? <Line text={`${fit(left, room)} `} width={room + 1} color={m && m.tracerDrops !== '0' ? 'yellow' : undefined} /> : null}
        <Line text={markText} width={columns} bold inverse={link.kind !== 'live' || isStale(state, nowMs)} color={mark.color} />
      </Box>
    </Box>
  );
}
