/** One line per event and decision: words on a terminal, JSON lines with --json. */
export interface MonitorRecord {
  kind: 'exit' | 'signal' | 'oom' | 'restart' | 'give-up' | 'operator' | 'start' | 'stop' | 'lost' | 'monitor' | 'error';
  container: string | null;
  process: string | null;
  pid: number | null;
  reason: string;
  [extra: string]: unknown;
}

export class Reporter {
  private seq = 0;
  constructor(private readonly json: boolean, private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {}

  emit(record: MonitorRecord): void {
    const seq = ++this.seq;
    const time = new Date().toISOString();
    if (this.json) {
      this.write(JSON.stringify({ seq, time, ...record }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const who = record.container ? `${record.container}${record.process ? `/${record.process}` : ''}${record.pid ? ` pid ${record.pid}` : ''}` : 'vigil';
    this.write(`${time.slice(11, 23)} ${record.kind.padEnd(7)} ${who}: ${record.reason}\n`);
  }
}
