/**
 * The monitor's operations options, attached to its reporter before it
 * starts (so what it drains at start is seen too): alarm hooks (hooks.ts)
 * and the metrics endpoint (metrics.ts).
 */
import type { HookSpec } from '../launcher/spec-ops.js';
import type { Store } from '../state/store.js';
import { drops } from '../tracer/tracer.js';
import { HookRunner } from './hooks.js';
import { Metrics, serveMetrics } from './metrics.js';
import type { Monitor } from './monitor.js';

export interface OpsOptions {
  /** `--hook`: run for every record it matches, whatever the container. */
  hooks: HookSpec[];
  /** `--metrics`: a parsed loopback address, or null. */
  metrics: { host: string; port: number } | null;
}

export async function attachOps(monitor: Monitor, store: Store, options: OpsOptions): Promise<{ metricsUrl: string | null; close: () => void }> {
  const hooks = new HookRunner(monitor.reporter, (name) => store.tryRead(name)?.spec.hooks ?? [], options.hooks, store.root);
  const detachHooks = hooks.attach();
  if (!options.metrics) return { metricsUrl: null, close: detachHooks };
  const metrics = new Metrics(Date.now(), () => {
    try {
      return drops(store.pinDir).reduce((a, b) => a + b, 0n);
    } catch {
      return null; // no tracer pinned (yet)
    }
  });
  const detachMetrics = monitor.reporter.onRecord((r) => metrics.observe(r));
  const { server, url } = await serveMetrics(metrics, options.metrics);
  return {
    metricsUrl: url,
    close: () => {
      detachHooks();
      detachMetrics();
      server.close();
      server.closeAllConnections();
    },
  };
}
