/**
 * What the monitor watches beyond deaths, in one place for its wiring: exec
 * health checks (health-checks.ts) and the notify watchdog (notify.ts).
 */
import type { ContainerState, Store } from '../state/store.js';
import { VigilError } from '../util/errors.js';
import { HealthChecks, type HealthActions } from './health-checks.js';
import { NotifyListener } from './notify.js';
import type { Reporter } from './report.js';

export class Supervision {
  private readonly health: HealthChecks;
  private readonly notify: NotifyListener;

  constructor(store: Store, private readonly reporter: Reporter, actions: HealthActions) {
    this.health = new HealthChecks(store, reporter, actions);
    this.notify = new NotifyListener(store, reporter, actions.guard);
  }

  /** Bind the notify socket; a failure is reported and the monitor goes on without watchdogs. */
  start(): void {
    try {
      this.notify.start();
    } catch (err) {
      this.reporter.emit({ kind: 'error', container: null, process: null, pid: null, reason: `notify socket: ${err instanceof VigilError || err instanceof Error ? err.message : String(err)}; watchdogs are not judged` });
    }
  }

  /** Follow the state: call on every reconcile. */
  sync(containers: ContainerState[]): void {
    this.health.sync(containers);
    this.notify.sync(containers);
  }

  stop(): void {
    this.health.stop();
    this.notify.stop();
  }
}
