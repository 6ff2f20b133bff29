/**
 * Appending to the journal while no monitor runs. Only one process may write
 * the journal (journal.ts): the monitor, which holds `monitor.lock` for its
 * life. A CLI command that wants a record while no monitor runs takes that
 * same lock for the few milliseconds of its append, so a monitor never opens
 * the journal meanwhile (another command's brief hold is waited out, see
 * state/monitor-lock.ts); when a monitor holds it, nothing is written here
 * and the monitor's own records stand (no record twice).
 */
import fs from 'node:fs';
import type { Store } from '../state/store.js';
import { takeMonitorLock } from '../state/monitor-lock.js';
import { journalDir, JournalWriter, type JournalEntry, type JournalRecord } from './journal.js';

/** The records as stored, or null when a monitor runs (it owns the journal). */
export function appendWithoutMonitor(store: Store, entries: JournalEntry[]): JournalRecord[] | null {
  fs.mkdirSync(store.root, { recursive: true });
  const fd = takeMonitorLock(store, true);
  if (fd === null || fd === 'absent') return null;
  try {
    const journal = JournalWriter.open(journalDir(store.root));
    try {
      return entries.map((e) => journal.append(e));
    } finally {
      journal.close();
    }
  } finally {
    fs.closeSync(fd); // releases the lock
  }
}
