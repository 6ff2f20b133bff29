/**
 * One record per event and decision: stored in the journal (which numbers
 * it), written as a line (words on a terminal, JSON with --json), and handed
 * to listeners (the control socket's subscribers).
 */
import type { JournalEntry, JournalRecord, JournalWriter } from '../journal/journal.js';

export type MonitorRecord = JournalEntry;

export class Reporter {
  private seq = 0;
  private journal: JournalWriter | null = null;
  private journalFailing = false;
  private readonly listeners = new Set<(record: JournalRecord) => void>();
  lastRecordAt: string | null = null;

  get lastSeq(): number {
    return this.seq;
  }

  constructor(private readonly json: boolean, private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {}

  /** From now on records are numbered by, and stored in, this journal. */
  attachJournal(journal: JournalWriter): void {
    this.journal = journal;
    this.seq = journal.lastSeq;
  }

  detachJournal(): void {
    this.journal?.close();
    this.journal = null;
  }

  onRecord(listener: (record: JournalRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(record: MonitorRecord): JournalRecord {
    let stored: JournalRecord;
    try {
      stored = this.journal ? this.journal.append(record) : { seq: ++this.seq, time: new Date().toISOString(), ...record };
      if (this.journalFailing) {
        this.journalFailing = false;
        this.line(this.journal!.append({ kind: 'error', container: null, process: null, pid: null, reason: 'journal: appending works again' }));
      }
    } catch (err) {
      // The monitor goes on without its journal rather than stop recovering.
      stored = { ...record, seq: this.journal?.lastSeq ?? this.seq, time: new Date().toISOString(), unjournaled: true };
      if (!this.journalFailing) {
        this.journalFailing = true;
        this.line({ kind: 'error', container: null, process: null, pid: null, reason: `journal: ${(err as Error).message}; records are not stored until it works again`, seq: stored.seq, time: stored.time });
      }
    }
    this.seq = stored.seq;
    this.lastRecordAt = stored.time;
    this.line(stored);
    for (const l of this.listeners) l(stored);
    return stored;
  }

  private line(record: JournalRecord): void {
    if (this.json) {
      this.write(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    this.write(formatRecord(record, false));
  }
}

/** The human line for a record; `full` adds the seq and the date. */
export function formatRecord(record: JournalRecord, full: boolean): string {
  const who = record.container ? `${record.container}${record.process ? `/${record.process}` : ''}${record.pid ? ` pid ${record.pid}` : ''}` : 'vigil';
  const when = full ? `${String(record.seq).padStart(6)} ${record.time}` : record.time.slice(11, 23);
  return `${when} ${record.kind.padEnd(7)} ${who}: ${record.reason}\n`;
}
