/**
 * The metrics of one run: besides the process-wide registry, each service of a run gets its own
 * registry, which is what the run pushes to a Pushgateway (grouped by service) — so a push carries
 * exactly that run's deploys and requests, whatever else the process did. Kubernetes API requests
 * are counted for the service whose sync is running, through the run's async scope.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Registry } from 'prom-client';
import {
  NopeaMetrics,
  PhaseTracker,
  observeDeploy,
  observeKubeRequest,
  observeMove,
  type DeployObservation,
  type KubeRequestObservation,
} from './metrics.js';

/** Requests kept for the first service of a run, made before it started (API discovery). */
const MAX_PENDING = 1_000;

export class RunMetrics {
  private readonly services = new Map<string, NopeaMetrics>();
  /** The service whose work runs now: the run's Kubernetes API requests are counted for it. */
  private current?: string;
  private pending: KubeRequestObservation[] = [];
  private readonly phases = new PhaseTracker((service) => this.sets(service));

  constructor(private readonly process: NopeaMetrics) {}

  /** The run's own set for a service (created on first use). */
  forService(service: string): NopeaMetrics {
    let set = this.services.get(service);
    if (!set) {
      set = new NopeaMetrics(new Registry());
      this.services.set(service, set);
    }
    return set;
  }

  /** The service whose work starts now; requests made before the first one are counted for it. */
  starts(service: string): void {
    this.current = service;
    for (const o of this.pending) observeKubeRequest([this.forService(service)], o);
    this.pending = [];
  }

  /** A Kubernetes API request made in this run's scope. */
  observeRequest(o: KubeRequestObservation): void {
    observeKubeRequest([this.process], o);
    if (this.current !== undefined) observeKubeRequest([this.forService(this.current)], o);
    else if (this.pending.length < MAX_PENDING) this.pending.push(o);
  }

  /** Every set an observation about `service` goes to: the process's and the run's for the service. */
  sets(service: string): NopeaMetrics[] {
    return [this.process, this.forService(service)];
  }

  /** A service's sync ended. */
  deployed(d: DeployObservation): void {
    observeDeploy(this.sets(d.service), d);
  }

  /** A promote or rollback ended. */
  moved(move: { service: string; action: string; outcome: string }): void {
    observeMove(this.sets(move.service), move);
  }

  /** A service's rollout is in `phase` now, as its monitor reported (undefined: not known yet). */
  phase(service: string, phase: string | undefined): void {
    this.phases.see(service, phase);
  }

  /** The run's registries, by service. */
  registries(): [string, Registry][] {
    return [...this.services].map(([service, set]) => [service, set.registry]);
  }

  /** Runs `work` in this run's scope, so that its API requests are counted for the current service. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return scope.run(this, work);
  }
}

const scope = new AsyncLocalStorage<RunMetrics>();

/** The run whose scope the caller is in, if any. */
export function currentRun(): RunMetrics | undefined {
  return scope.getStore();
}
