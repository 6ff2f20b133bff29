/**
 * Metrics in the Prometheus text format (version 0.0.4), opt-in, on a
 * loopback address only: counts of exits, OOM kills, restarts and give-ups by
 * container, process and reason; tracer drops; detection and recovery latency
 * histograms in seconds; the monitor's uptime. Everything is derived from the
 * monitor's records (the same ones the journal holds), so the numbers and the
 * journal cannot disagree. Counters start at zero with each monitor.
 */
import http from 'node:http';
import net from 'node:net';
import type { JournalRecord } from '../journal/journal.js';
import { HostError, UsageError } from '../util/errors.js';

/** Kernel exit -> decision: sub-millisecond when idle. */
export const DETECTION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Kernel exit -> replacement running: includes the back-off delay, so it reaches minutes. */
export const RECOVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]++;
    });
  }
}

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + 1);
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [labels, v] of this.values) out += `${this.name}${labels} ${v}\n`;
    return out;
  }
}

export class Metrics {
  private readonly exits = new Counter('vigil_exits_total', 'Deaths of business processes (and of vigil-init), by container, process and reason.');
  private readonly ooms = new Counter('vigil_oom_kills_total', 'OOM kills the tracer reported in watched containers, by container and process.');
  private readonly restarts = new Counter('vigil_restarts_total', 'Restarts done by the monitor, by container, process (empty for a container restart) and the reason of the death answered.');
  private readonly giveUps = new Counter('vigil_give_ups_total', 'Give-ups, by container, process (empty for a container) and what followed.');
  private readonly detection = new Histogram(DETECTION_BUCKETS);
  private readonly recovery = new Histogram(RECOVERY_BUCKETS);
  /** The reason of each process's last death, for the restart that answers it. */
  private readonly lastDeath = new Map<string, string>();

  constructor(private readonly startedAtMs: number, private readonly tracerDrops: () => bigint | null) {}

  observe(r: JournalRecord): void {
    const container = r.container ?? '';
    const proc = r.process ?? '';
    switch (r.kind) {
      case 'exit':
      case 'lost': {
        // A restart that failed before the command ran is reported as an exit with no code and no signal.
        const startFailed = r.exitReason === 'exited' && r.code === null && r.signal === null;
        const reason = r.process === null ? 'init-died' : r.kind === 'lost' ? 'lost' : startFailed ? 'start-failed' : String(r.exitReason ?? 'exited');
        this.exits.inc({ container, process: r.process === null ? 'vigil-init' : proc, reason });
        this.lastDeath.set(`${container}/${proc}`, reason);
        if (typeof r.detectionMs === 'number') this.detection.observe(r.detectionMs / 1000);
        return;
      }
      case 'oom':
        this.ooms.inc({ container, process: proc });
        return;
      case 'restart': {
        const reason = r.process === null ? 'container' : this.lastDeath.get(`${container}/${proc}`) ?? 'unknown';
        this.restarts.inc({ container, process: proc, reason });
        if (typeof r.recoveryMs === 'number') this.recovery.observe(r.recoveryMs / 1000);
        return;
      }
      case 'give-up':
        this.giveUps.inc({ container, process: proc, then: String(r.then ?? r.action ?? 'alert') });
        return;
      default:
    }
  }

  render(nowMs: number = Date.now()): string {
    let out = this.exits.render() + this.ooms.render() + this.restarts.render() + this.giveUps.render();
    out += histogram('vigil_detection_latency_seconds', 'Kernel exit event to the monitor\'s decision.', this.detection);
    out += histogram('vigil_recovery_latency_seconds', 'Kernel exit event to the replacement process running (back-off included).', this.recovery);
    const drops = this.tracerDrops();
    if (drops !== null) out += `# HELP vigil_tracer_drops_total Events the tracer could not put in its ring buffer.\n# TYPE vigil_tracer_drops_total counter\nvigil_tracer_drops_total ${drops}\n`;
    out += `# HELP vigil_monitor_uptime_seconds Seconds since this monitor started.\n# TYPE vigil_monitor_uptime_seconds gauge\nvigil_monitor_uptime_seconds ${((nowMs - this.startedAtMs) / 1000).toFixed(3)}\n`;
    return out;
  }
}

function histogram(name: string, help: string, h: Histogram): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} histogram\n`;
  h.buckets.forEach((b, i) => (out += `${name}_bucket{le="${b}"} ${h.counts[i]}\n`));
  out += `${name}_bucket{le="+Inf"} ${h.count}\n${name}_sum ${h.sum}\n${name}_count ${h.count}\n`;
  return out;
}

/**
 * "127.0.0.1:9464" or "[::1]:9464" -> host and port. Only loopback: the
 * metrics name containers and processes, and the monitor runs as root.
 */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`option --metrics: expected HOST:PORT such as 127.0.0.1:9464, got ${JSON.stringify(text)}`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`option --metrics: a port is 0..65535, got ${port}`);
  const loopback = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  if (!loopback) throw new UsageError(`option --metrics: ${host} is not a loopback address; metrics are served on 127.0.0.1 or ::1 only (put a proxy in front to publish them)`);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

/** Serve GET /metrics; resolves once listening (with the port, if 0 was asked). */
export function serveMetrics(metrics: Metrics, address: { host: string; port: number }): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.render());
  });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => reject(HostError.from('listen for metrics on', `${address.host}:${address.port}`, err));
    server.once('error', fail);
    server.listen(address.port, address.host, () => {
      server.off('error', fail);
      const a = server.address() as net.AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({ server, url: `http://${host}:${a.port}/metrics` });
    });
  });
}
