/**
 * The instruments nopea keeps, as one set per registry: the process-wide set (`registry.ts`, what
 * `nopea serve` exposes) and one set per service of a run (what the run pushes to a Pushgateway).
 * The `observe*` functions take plain values and update every set they are given; they do nothing else.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The change classes of a plan, each counted under `class`. */
export const PLAN_CLASSES = ['create', 'update', 'drift', 'conflict', 'unchanged', 'prune'] as const;

export class NopeaMetrics {
  readonly deploys: Counter<'service' | 'strategy' | 'outcome'>;
  readonly deployDuration: Histogram<'service' | 'strategy' | 'outcome'>;
  readonly planObjects: Counter<'service' | 'class'>;
  readonly drift: Gauge<'service'>;
  readonly rolloutPhases: Counter<'service' | 'from' | 'to'>;
  readonly rolloutMoves: Counter<'service' | 'action' | 'outcome'>;
  readonly kubeRequests: Counter<'verb' | 'code'>;
  readonly kubeDuration: Histogram<'verb'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.deploys = new Counter({
      name: 'nopea_deploys_total',
      help: 'Deploys (non-dry-run syncs of a service) by service, strategy and outcome.',
      labelNames: ['service', 'strategy', 'outcome'],
      registers,
    });
    this.deployDuration = new Histogram({
      name: 'nopea_deploy_duration_seconds',
      help: "Duration of a service's sync, from its start to its recorded outcome.",
      labelNames: ['service', 'strategy', 'outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.planObjects = new Counter({
      name: 'nopea_plan_objects_total',
      help: 'Objects in the plans of syncs by change class (create, update, drift, conflict, unchanged, prune).',
      labelNames: ['service', 'class'],
      registers,
    });
    this.drift = new Gauge({
      name: 'nopea_drift_objects',
      help: "Objects the service's last sync plan found drifted (changed in the cluster, not in git).",
      labelNames: ['service'],
      registers,
    });
    this.rolloutPhases = new Counter({
      name: 'nopea_rollout_phase_transitions_total',
      help: 'Phase transitions of progressive rollouts nopea monitored, by phase left and phase entered.',
      labelNames: ['service', 'from', 'to'],
      registers,
    });
    this.rolloutMoves = new Counter({
      name: 'nopea_rollout_moves_total',
      help: 'Promotes and rollbacks of progressive rollouts by service, action and outcome.',
      labelNames: ['service', 'action', 'outcome'],
      registers,
    });
    this.kubeRequests = new Counter({
      name: 'nopea_kube_api_requests_total',
      help: 'Kubernetes API requests (each attempt) by verb and HTTP status code ("error": no response).',
      labelNames: ['verb', 'code'],
      registers,
    });
    this.kubeDuration = new Histogram({
      name: 'nopea_kube_api_request_duration_seconds',
      help: 'Latency of Kubernetes API requests (each attempt) by verb.',
      labelNames: ['verb'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}

/** One service's sync, as the metrics see it. */
export interface DeployObservation {
  service: string;
  /** The strategy it ran with; `none` when it stopped before one was chosen. */
  strategy?: string;
  outcome: string;
  durationMs: number;
  /** The plan's counts per change class, when it got as far as planning. */
  counts?: Partial<Record<(typeof PLAN_CLASSES)[number], number>>;
}

export function observeDeploy(sets: readonly NopeaMetrics[], d: DeployObservation): void {
  const labels = { service: d.service, strategy: d.strategy ?? 'none', outcome: d.outcome };
  for (const m of sets) {
    m.deploys.inc(labels);
    m.deployDuration.observe(labels, d.durationMs / 1000);
    if (!d.counts) continue;
    for (const cls of PLAN_CLASSES) m.planObjects.inc({ service: d.service, class: cls }, d.counts[cls] ?? 0);
    m.drift.set({ service: d.service }, d.counts.drift ?? 0);
  }
}

export function observeMove(
  sets: readonly NopeaMetrics[],
  move: { service: string; action: string; outcome: string },
): void {
  const labels = { service: move.service, action: move.action, outcome: move.outcome };
  for (const m of sets) m.rolloutMoves.inc(labels);
}

/** One attempt of a Kubernetes API request: its verb, the status (0: no response) and how long it took. */
export interface KubeRequestObservation {
  verb: string;
  status: number;
  durationMs: number;
}

export function observeKubeRequest(sets: readonly NopeaMetrics[], r: KubeRequestObservation): void {
  const code = r.status > 0 ? String(r.status) : 'error';
  for (const m of sets) {
    m.kubeRequests.inc({ verb: r.verb, code });
    m.kubeDuration.observe({ verb: r.verb }, r.durationMs / 1000);
  }
}

/**
 * Counts a rollout's phase transitions from the progress a monitor reports: the first phase seen
 * is a transition from `none`, and a phase reported again is none.
 */
export class PhaseTracker {
  private readonly last = new Map<string, string>();
  constructor(private readonly sets: (service: string) => readonly NopeaMetrics[]) {}

  /** The phase a service's rollout is in now (undefined: not known yet, ignored). */
  see(service: string, phase: string | undefined): void {
    if (!phase) return;
    const from = this.last.get(service) ?? 'none';
    if (from === phase) return;
    this.last.set(service, phase);
    for (const m of this.sets(service)) m.rolloutPhases.inc({ service, from, to: phase });
  }
}
