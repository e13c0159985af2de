/**
 * A run's events and metrics, for the surface to call: metrics are updated for every real
 * (non-dry-run) sync, promote and rollback; at the end of the run the CDEvents go to the events
 * URL and each service's metrics to the Pushgateway, when those are given. Nothing here fails a
 * deploy: what cannot be delivered comes back as warnings, by service.
 *
 * Metrics are kept only where someone reads them: when the run pushes them, or when the process
 * exposes its own (`nopea serve`, see `metrics/kept.ts`). Otherwise no metrics code is loaded.
 */
import { errorMessage } from '../errors.js';
import { VERSION } from '../version.js';
import { processMetricsKept } from '../metrics/kept.js';
import type { DeployObservation } from '../metrics/metrics.js';
import type { RunMetrics } from '../metrics/scope.js';
import { serviceEvent, syncEvents, type CloudEvent, type DeployFacts, type SyncFacts } from './cdevents.js';
import { deliverEvents } from './deliver.js';

/** Where a run's events and metrics go; the interfaces fill it from flags or the environment. */
export interface TelemetryOptions {
  /** `--events-url` / `NOPEA_EVENTS_URL`: CDEvents are POSTed here. */
  eventsUrl?: string;
  /** `--pushgateway-url` / `NOPEA_PUSHGATEWAY_URL`: the run's metrics are pushed here. */
  pushgatewayUrl?: string;
}

/** The environment variables naming where telemetry goes, for the interfaces to read. */
export const TELEMETRY_ENV = {
  eventsUrl: 'NOPEA_EVENTS_URL',
  pushgatewayUrl: 'NOPEA_PUSHGATEWAY_URL',
} as const;

/** Telemetry options from flags, then the environment (`NOPEA_EVENTS_URL`, `NOPEA_PUSHGATEWAY_URL`); empty values are unset. */
export function telemetryOptions(
  flags: TelemetryOptions,
  env: Record<string, string | undefined>,
): TelemetryOptions {
  const out: TelemetryOptions = {};
  for (const key of ['eventsUrl', 'pushgatewayUrl'] as const) {
    const value = (flags[key] || env[TELEMETRY_ENV[key]] || '').trim();
    if (value) out[key] = value;
  }
  return out;
}

/** A finished sync of one service, as telemetry sees it (a ServiceSyncResult fits). */
export interface SyncReport extends SyncFacts {
  durationMs: number;
  inSync?: boolean;
  stateCommit?: string;
  plan?: SyncFacts['plan'] & { counts: DeployObservation['counts'] };
}

/** A finished promote or rollback (a RolloutResult fits), with what its deploy record says. */
export interface MoveReport {
  service: string;
  deployId: string;
  action: 'promote' | 'rollback';
  outcome: string;
  namespace?: string;
  strategy?: string;
  source?: DeployFacts['source'];
}

/** Whether a sync deployed anything: it wrote to the cluster or recorded a deploy (in-sync runs did neither). */
function deployed(s: SyncReport): boolean {
  if (s.outcome === 'dry-run' || s.inSync) return false;
  return (
    s.stateCommit !== undefined || s.objects.some((o) => o.action !== 'unchanged' && o.action !== 'skipped')
  );
}

export class RunTelemetry {
  /** The run's metrics, from `run()` on; none when nobody reads them. */
  private metrics?: RunMetrics;
  private readonly events: { service: string; event: CloudEvent }[] = [];
  /** Failures of telemetry itself, by service: reported as warnings, never failing the deploy. */
  private readonly failures = new Map<string, string[]>();

  constructor(private readonly opts: TelemetryOptions = {}) {}

  /**
   * Runs `work` in the run's scope: its Kubernetes API requests are counted for the current service.
   * The run's metrics start here, so what it observes is observed inside `work`.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (!this.opts.pushgatewayUrl && !processMetricsKept()) return work();
    const { runMetrics } = await import('../metrics/registry.js');
    this.metrics = runMetrics();
    return this.metrics.run(work);
  }

  /** The service whose work starts now. */
  serviceStarts(service: string): void {
    this.metrics?.starts(service);
  }

  /** A rollout's phase as a monitor reported it. */
  rolloutPhase(service: string, phase: string | undefined): void {
    this.safely(service, () => this.metrics?.phase(service, phase));
  }

  /** Runs a telemetry step; a failure of it becomes a warning of the service. */
  private safely(service: string, step: () => void): void {
    try {
      step();
    } catch (err) {
      const list = this.failures.get(service) ?? [];
      list.push(`metrics or events not recorded: ${errorMessage(err)}`);
      this.failures.set(service, list);
    }
  }

  /** A service's sync ended: its metrics, and its events for the end of the run. */
  syncEnded(s: SyncReport, time = new Date()): void {
    this.safely(s.service, () => this.onSync(s, time));
  }

  /** A promote or rollback ended; the event of one handed over to the deploy run is that run's to send. */
  moveEnded(m: MoveReport, time = new Date()): void {
    this.safely(m.service, () => this.onMove(m, time));
  }

  private onSync(s: SyncReport, time: Date): void {
    if (s.outcome === 'dry-run') return;
    const observation: DeployObservation = {
      service: s.service,
      outcome: s.inSync && s.outcome === 'succeeded' ? 'in-sync' : s.outcome,
      durationMs: s.durationMs,
    };
    if (s.strategy) observation.strategy = s.strategy.name;
    if (s.plan) observation.counts = s.plan.counts;
    this.metrics?.deployed(observation);
    if (this.opts.eventsUrl && deployed(s))
      for (const event of syncEvents(s, time, VERSION)) this.events.push({ service: s.service, event });
  }

  private onMove(m: MoveReport, time: Date): void {
    this.metrics?.moved(m);
    if (!this.opts.eventsUrl || m.outcome === 'handed-over') return;
    const facts: DeployFacts = {
      deployId: m.deployId,
      service: m.service,
      action: m.action,
      outcome: m.outcome,
      time,
      version: VERSION,
    };
    if (m.namespace) facts.namespace = m.namespace;
    if (m.strategy) facts.strategy = m.strategy;
    if (m.source) facts.source = m.source;
    const kind = m.outcome === 'rolled-back' || m.action === 'rollback' ? 'rolledback' : 'upgraded';
    this.events.push({ service: m.service, event: serviceEvent(kind, facts) });
  }

  /** Delivers the run's events and pushes its metrics; resolves to the warnings, by service. */
  async finish(): Promise<Map<string, string[]>> {
    const warnings = new Map([...this.failures].map(([service, list]) => [service, [...list]]));
    const add = (service: string, list: readonly (string | undefined)[]): void => {
      const real = list.filter((w): w is string => w !== undefined);
      if (real.length) warnings.set(service, [...(warnings.get(service) ?? []), ...real]);
    };
    const { eventsUrl, pushgatewayUrl } = this.opts;
    const services = [...new Set(this.events.map((e) => e.service))];
    await Promise.all([
      ...(eventsUrl
        ? services.map(async (service) =>
            add(
              service,
              await deliverEvents(
                eventsUrl,
                this.events.filter((e) => e.service === service).map((e) => e.event),
              ),
            ),
          )
        : []),
      ...(pushgatewayUrl && this.metrics ? [this.pushes(pushgatewayUrl, this.metrics, add)] : []),
    ]);
    return warnings;
  }

  private async pushes(
    gatewayUrl: string,
    metrics: RunMetrics,
    add: (service: string, list: readonly (string | undefined)[]) => void,
  ): Promise<void> {
    const { pushMetrics } = await import('../metrics/push.js');
    await Promise.all(
      metrics
        .registries()
        .map(async ([service, registry]) => add(service, [await pushMetrics(gatewayUrl, service, registry)])),
    );
  }
}
