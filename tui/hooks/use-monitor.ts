/**
 * Wire a monitor link to the reducer: snapshots and status as they come,
 * records through a Batcher so the screen redraws at most every FLUSH_MS
 * whatever the event rate.
 */
import { useEffect } from 'react';
import type { Snapshot } from '../../src/control/protocol.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import { Batcher, type Timers } from '../batcher.js';
import type { Link } from '../link.js';
import { FEED_LIMIT, type LinkStatus, type TuiAction } from '../state.js';

export function useMonitor(link: Link, dispatch: (a: TuiAction) => void, timers?: Timers, flushMs?: number): void {
  useEffect(() => {
    const batcher = new Batcher((records) => dispatch({ type: 'records', records }), FEED_LIMIT, timers, flushMs);
    const onRecord = (r: JournalRecord) => batcher.push(r);
    const onSnapshot = (snapshot: Snapshot, atMs: number) => dispatch({ type: 'snapshot', snapshot, atMs });
    const onStatus = (status: LinkStatus) => dispatch({ type: 'link', status });
    link.on('record', onRecord);
    link.on('snapshot', onSnapshot);
    link.on('status', onStatus);
    link.start();
    return () => {
      link.off('record', onRecord);
      link.off('snapshot', onSnapshot);
      link.off('status', onStatus);
      batcher.close();
      link.close();
    };
  }, [link]);
}
