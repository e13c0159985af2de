/**
 * What a sync takes and gives: its options, the progress events it reports, and its results. The
 * interfaces render these values; `outcome.ts` says what they mean.
 */
import type { NopeaError } from '../errors.js';
import type { RequestStats } from '../cluster/client.js';
import type { LockRequests } from '../cluster/lease.js';
import type { PropagationPolicy } from '../cluster/objects.js';
import type { ObjectResult } from '../apply/execute.js';
import type { PruneLimit } from '../apply/guard.js';
import type { HealthReport, HealthSnapshot } from '../health/wait.js';
import type { Plan } from '../plan/types.js';
import type { ResourceId } from '../resources/object.js';
import type { DeployContext } from '../memory/types.js';
import type { StrategyRequest } from '../strategy/names.js';
import type { RolloutState, StrategyChoice } from '../strategy/types.js';
import type { CanaryStep } from '../strategy/steps.js';
import type { RolloutProgress } from '../progressive/monitor.js';
import type { SourceInfo } from '../state/repository.js';
import type { TelemetryOptions } from '../events/telemetry.js';
import type { RunOptions } from './options.js';

/** `eventsUrl`/`pushgatewayUrl` (TelemetryOptions): where a real sync's CDEvents and metrics go. */
export interface SyncOptions extends RunOptions, TelemetryOptions {
  /** `auto` (default: memory advises), or an explicit strategy, which always wins. */
  strategy?: StrategyRequest;
  /** `--canary-steps`: over the service's `canary.steps` of nopea.yaml and the default steps. */
  canarySteps?: CanaryStep[];
  /** Plan and guard only: no write to the cluster or the branch. */
  dryRun?: boolean;
  prune?: boolean;
  wait?: boolean;
  timeoutMs?: number;
  forceConflicts?: boolean;
  maxPrune?: PruneLimit;
  allowPruneKinds?: string[];
  recreateOnImmutable?: boolean;
  propagationPolicy?: PropagationPolicy;
  lockNamespace?: string;
  lockTimeoutMs?: number;
  /** Stops new writes and waits (SIGTERM/SIGINT); the outcome is still recorded. */
  signal?: AbortSignal;
  /** Cuts requests in flight short (a second signal); the outcome is still recorded. */
  hurry?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
}

/** Stages a sync reports as it enters them. */
export type SyncStage = 'lock' | 'apply' | 'prune' | 'wait' | 'record';

/** Progress of a sync, for the interfaces to render as they like. */
export type SyncEvent =
  | { type: 'plan'; service: string; plan: Plan }
  | { type: 'strategy'; service: string; choice: StrategyChoice }
  | { type: 'rollout'; service: string; progress: RolloutProgress }
  | { type: 'lock-wait'; service: string; holder: string; expiresInSeconds: number }
  | { type: 'stage'; service: string; stage: SyncStage }
  | { type: 'object'; service: string; result: ObjectResult }
  | { type: 'health'; service: string; snapshot: HealthSnapshot };

/** `paused`: a progressive rollout waits at a gate (exit 4); `rolled-back`: it failed and was rolled back. */
export type SyncOutcome = 'succeeded' | 'failed' | 'cancelled' | 'dry-run' | 'paused' | 'rolled-back';

export interface ServiceSyncResult {
  service: string;
  namespace?: string;
  deployId: string;
  outcome: SyncOutcome;
  /** The strategy the deploy ran with, who chose it and why (absent when it stopped before choosing). */
  strategy?: StrategyChoice;
  /** A progressive rollout: where it stood when the run ended. */
  rollout?: RolloutState;
  /** The rollout failed or timed out and was rolled back to the stable template. */
  rolledBack?: boolean;
  /** What memory knew about the service in its namespace when the strategy was chosen. */
  memory?: DeployContext;
  /** Things the run did not stop for but a person should know (memory rebuilt, advice not followed). */
  warnings?: string[];
  plan?: Plan;
  objects: ObjectResult[];
  kept: { id: ResourceId; reason: string }[];
  health?: HealthReport;
  error?: NopeaError;
  durationMs: number;
  /** How long each of the service's stages took (state, plan, apply, wait, record, ...), in order. */
  stages?: StageTiming[];
  /** The repository and commit deployed, as recorded (absent when nothing was recorded). */
  source?: SourceInfo;
  /** State branch commit holding the record (absent for dry runs, refused syncs and runs in sync). */
  stateCommit?: string;
  /** Nothing to apply and the branch already records it all: health was checked, no lock taken, nothing recorded. */
  inSync?: boolean;
}

/** One stage of a run and how long it took. */
export interface StageTiming {
  name: string;
  ms: number;
}

export interface SyncResult {
  services: ServiceSyncResult[];
  /** The run's own stages before any service: opening the state branch, discovery, reading manifests. */
  stages?: StageTiming[];
  /** Every API request of the run, the lock's included. */
  requests?: RequestStats;
  /** The part of `requests` that took, renewed and released the service locks (Leases). */
  lockRequests?: LockRequests;
}
