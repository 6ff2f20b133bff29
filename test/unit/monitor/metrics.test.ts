import test from 'ava';
import http from 'node:http';
import { Metrics, parseMetricsAddress, serveMetrics } from '../../../src/monitor/metrics.js';
import type { JournalRecord } from '../../../src/journal/journal.js';

let seq = 0;
const rec = (r: Partial<JournalRecord> & { kind: JournalRecord['kind'] }): JournalRecord =>
  ({ seq: ++seq, time: new Date(0).toISOString(), container: 'svc', process: 'api', pid: 1, reason: 'x', ...r }) as JournalRecord;

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix + ' ') || l === prefix);
}

test('records become counters by container, process and reason, and latency histograms in seconds', (t) => {
  const m = new Metrics(1000, () => 7n);
  m.observe(rec({ kind: 'exit', exitReason: 'signaled', action: 'restart', detectionMs: 0.3 }));
  m.observe(rec({ kind: 'restart', recoveryMs: 12 }));
  m.observe(rec({ kind: 'oom', process: 'hog' }));
  m.observe(rec({ kind: 'exit', process: 'hog', exitReason: 'oom-killed', action: 'restart', detectionMs: 2 }));
  m.observe(rec({ kind: 'restart', process: 'hog', recoveryMs: 250 }));
  m.observe(rec({ kind: 'give-up', process: 'crasher', then: 'alert' }));
  m.observe(rec({ kind: 'exit', process: null, action: 'restart-container' }));
  m.observe(rec({ kind: 'restart', process: null }));
  m.observe(rec({ kind: 'give-up', process: null, action: 'stop' }));
  m.observe(rec({ kind: 'monitor', container: null, process: null }));
  m.observe(rec({ kind: 'exit', process: 'api', exitReason: 'exited', code: null, signal: null, action: 'restart' }));
  m.observe(rec({ kind: 'exit', process: 'api', exitReason: 'exited', code: 1, signal: null, action: 'restart' }));
  const text = m.render(3500);
  t.is(line(text, 'vigil_exits_total{container="svc",process="api",reason="signaled"}'), 'vigil_exits_total{container="svc",process="api",reason="signaled"} 1');
  t.truthy(line(text, 'vigil_exits_total{container="svc",process="hog",reason="oom-killed"} 1'));
  t.truthy(line(text, 'vigil_exits_total{container="svc",process="vigil-init",reason="init-died"} 1'));
  t.truthy(line(text, 'vigil_oom_kills_total{container="svc",process="hog"} 1'));
  t.truthy(line(text, 'vigil_exits_total{container="svc",process="api",reason="start-failed"} 1'));
  t.truthy(line(text, 'vigil_exits_total{container="svc",process="api",reason="exited"} 1'));
  t.truthy(line(text, 'vigil_restarts_total{container="svc",process="api",reason="signaled"} 1'));
  t.truthy(line(text, 'vigil_restarts_total{container="svc",process="hog",reason="oom-killed"} 1'));
  t.truthy(line(text, 'vigil_restarts_total{container="svc",process="",reason="container"} 1'));
  t.truthy(line(text, 'vigil_give_ups_total{container="svc",process="crasher",then="alert"} 1'));
  t.truthy(line(text, 'vigil_give_ups_total{container="svc",process="",then="stop"} 1'));
  // 0.3 ms and 2 ms: both under 2.5 ms, one under 0.5 ms
  t.truthy(line(text, 'vigil_detection_latency_seconds_bucket{le="0.0005"} 1'));
  t.truthy(line(text, 'vigil_detection_latency_seconds_bucket{le="0.00025"} 0'));
  t.truthy(line(text, 'vigil_detection_latency_seconds_bucket{le="0.0025"} 2'));
  t.truthy(line(text, 'vigil_detection_latency_seconds_bucket{le="+Inf"} 2'));
  t.truthy(line(text, 'vigil_detection_latency_seconds_count 2'));
  t.truthy(line(text, 'vigil_detection_latency_seconds_sum 0.0023'));
  t.truthy(line(text, 'vigil_recovery_latency_seconds_bucket{le="0.025"} 1'));
  t.truthy(line(text, 'vigil_recovery_latency_seconds_bucket{le="0.25"} 2'));
  t.truthy(line(text, 'vigil_tracer_drops_total 7'));
  t.truthy(line(text, 'vigil_monitor_uptime_seconds 2.500'));
  t.true(text.includes('# TYPE vigil_exits_total counter\n'));
  t.true(text.includes('# TYPE vigil_recovery_latency_seconds histogram\n'));
  t.true(text.endsWith('\n'));
});

test('label values are escaped; no tracer means no drops line', (t) => {
  const m = new Metrics(0, () => null);
  m.observe(rec({ kind: 'oom', process: 'a"b\\c\nd' }));
  const text = m.render(0);
  t.truthy(line(text, 'vigil_oom_kills_total{container="svc",process="a\\"b\\\\c\\nd"} 1'));
  t.false(text.includes('vigil_tracer_drops_total'));
});

test('only loopback addresses are accepted, with a sentence for the rest', (t) => {
  t.deepEqual(parseMetricsAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  t.deepEqual(parseMetricsAddress('127.1.2.3:0'), { host: '127.1.2.3', port: 0 });
  t.deepEqual(parseMetricsAddress('[::1]:9464'), { host: '::1', port: 9464 });
  t.deepEqual(parseMetricsAddress('localhost:9464'), { host: '127.0.0.1', port: 9464 });
  t.throws(() => parseMetricsAddress('0.0.0.0:9464'), { message: /0\.0\.0\.0 is not a loopback address; metrics are served on 127\.0\.0\.1 or ::1 only/ });
  t.throws(() => parseMetricsAddress('[::]:9464'), { message: /:: is not a loopback address/ });
  t.throws(() => parseMetricsAddress('192.168.1.5:9464'), { message: /not a loopback address/ });
  t.throws(() => parseMetricsAddress('9464'), { message: /expected HOST:PORT such as 127\.0\.0\.1:9464, got "9464"/ });
  t.throws(() => parseMetricsAddress('127.0.0.1:70000'), { message: /a port is 0\.\.65535/ });
});

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

test('the endpoint serves /metrics in the text format, and nothing else', async (t) => {
  const m = new Metrics(Date.now(), () => 0n);
  const { server, url } = await serveMetrics(m, { host: '127.0.0.1', port: 0 });
  try {
    t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const ok = await get(url);
    t.is(ok.status, 200);
    t.is(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
    t.regex(ok.body, /^vigil_monitor_uptime_seconds \d+\.\d{3}$/m);
    t.is((await get(url.replace('/metrics', '/'))).status, 404);
    // a port in use is refused with the address
    await t.throwsAsync(serveMetrics(m, { host: '127.0.0.1', port: Number(new URL(url).port) }), { message: /listen for metrics on '127\.0\.0\.1:\d+': EADDRINUSE/ });
  } finally {
    server.close();
  }
});
