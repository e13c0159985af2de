/**
 * The values memory works with: one observation per deploy outcome, the graph it folds them into,
 * and the deploy context and strategy advice read from it. Plain data, no I/O; the graph is what
 * `.nopea/graph.json` stores.
 */

/** Error kinds: the small, stable vocabulary failures are remembered by (`error-kinds.ts` maps to it). */
export const MEMORY_ERROR_KINDS = [
  'ImagePullBackOff',
  'CrashLoopBackOff',
  'ProgressDeadlineExceeded',
  'JobFailed',
  'HealthTimeout',
  'ApplyConflict',
  'ImmutableField',
  'Forbidden',
  'ApplyRejected',
  'RolloutFailed',
  'RolledBack',
  'Other',
] as const;
export type MemoryErrorKind = (typeof MEMORY_ERROR_KINDS)[number];

/**
 * How a deploy ended, as memory counts it: `failed` and `rolled-back` are failures, `succeeded` a
 * success, and `cancelled` neither (a signal stopped it, which says nothing about the service).
 */
export const OBSERVED_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'rolled-back'] as const;
export type ObservedOutcome = (typeof OBSERVED_OUTCOMES)[number];

/** One deploy outcome, as memory sees it (built from a deploy record by the caller). */
export interface Observation {
  deployId: string;
  service: string;
  namespace: string;
  outcome: ObservedOutcome;
  /** Kinds of what failed (empty for a success); a rollback is `RolledBack`. */
  errorKinds: MemoryErrorKind[];
  strategy: string;
  /** ISO times: when the deploy started and finished (`finishedAt` is the observation's time). */
  startedAt: string;
  finishedAt: string;
}

export const NODE_TYPES = ['service', 'namespace', 'error'] as const;
export type NodeType = (typeof NODE_TYPES)[number];
export const RELATIONS = ['deployed_to', 'breaks', 'deployed_together'] as const;
export type Relation = (typeof RELATIONS)[number];

/** A node: `id` is `<type>:<name>`. */
export interface GraphNode {
  id: string;
  type: NodeType;
  name: string;
}

/**
 * One piece of evidence behind a relation, newest first (the newest few are kept): the deploys of a
 * `deployed_to`, the failures of that kind of a `breaks`, the overlapping deploys of a
 * `deployed_together`.
 */
export interface Evidence {
  deployId: string;
  at: string;
  outcome: ObservedOutcome;
  errorKind?: MemoryErrorKind;
}

/**
 * A weighted relation. `breaks` goes from an error kind to a service in a namespace (`scope` is the
 * namespace); `deployed_to` from a service to a namespace; `deployed_together` between two services
 * (undirected: `from` is the smaller id). `weight` is in [0, 1] and decays with the time since
 * `updatedAt`.
 */
export interface GraphEdge {
  from: string;
  to: string;
  relation: Relation;
  /** For `breaks`: the namespace the failures happened in. */
  scope?: string;
  weight: number;
  /**
   * Observations that made this relation: every deploy (`deployed_to`), every failure of the kind
   * (`breaks`; the successes that lower it are not counted), every overlap (`deployed_together`).
   */
  count: number;
  /** The time of the newest observation that updated the weight. */
  updatedAt: string;
  evidence: Evidence[];
}

/** A recent deploy's time window, kept to find deploys that overlapped (bounded). */
export interface RecentDeploy {
  deployId: string;
  service: string;
  namespace: string;
  startedAt: string;
  finishedAt: string;
  outcome: ObservedOutcome;
  durationMs: number;
}

/** The memory graph as `.nopea/graph.json` stores it. */
export interface MemoryGraph {
  format: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** The newest deploys by finish time, newest first (at most `MEMORY.recentDeploys`). */
  recent: RecentDeploy[];
  /** Observations folded in since the graph was (re)built. */
  observations: number;
}

/** A failure pattern of a service: a `breaks` relation as it stands now. */
export interface FailurePattern {
  errorKind: MemoryErrorKind;
  namespace: string;
  /** The decayed weight now, in [0, 1]. */
  confidence: number;
  observations: number;
  lastSeen: string;
  /** Whether it is the namespace asked about (full weight) or another (information, reduced weight). */
  sameNamespace: boolean;
}

/** One of the strongest failure patterns across services (`nopea memory`). */
export interface Risk extends Omit<FailurePattern, 'sameNamespace'> {
  service: string;
}

/** What memory knows about a service in a namespace, now. */
export interface DeployContext {
  service: string;
  namespace: string;
  /** The time this context describes: every confidence is decayed to it. */
  asOf: string;
  /** Whether memory holds any deploy of the service in this namespace. */
  known: boolean;
  /** Highest confidence first; patterns of other namespaces after, marked. */
  failurePatterns: FailurePattern[];
  /** Outcomes of the last (at most 10) deploys of the service in the namespace, newest first. */
  recentOutcomes: ObservedOutcome[];
  /** Share of `succeeded` among `recentOutcomes` (undefined without any). */
  successRate?: number;
  meanDurationMs?: number;
  /** Services often deployed together with this one, strongest first. */
  deployedWith: { service: string; weight: number; count: number }[];
  /** Plain sentences a person can act on, each with why. */
  recommendations: string[];
}

/** What `--strategy auto` should do, and why in plain words. */
export interface StrategyAdvice {
  strategy: 'direct' | 'canary';
  /** The confidence that decided (the strongest pattern that counts for this namespace). */
  confidence: number;
  reasons: string[];
}
