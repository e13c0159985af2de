/**
 * The strategy seam: how a planned and guarded change is carried out and waited on. The pipeline
 * (`surface/sync.ts`) chooses a strategy (`choose.ts`), hands it plain values — the objects to
 * apply with their plan entries, the guard's result, the client and the catalog — and records what
 * it returns. A strategy reads neither the state branch nor the run's options, and it reports
 * failures as values, so nothing it applied is lost to a thrown error.
 */
import type { NopeaError } from '../errors.js';
import type { KubeClient } from '../cluster/client.js';
import type { PropagationPolicy } from '../cluster/objects.js';
import type { ApplyItem, ObjectResult } from '../apply/execute.js';
import type { GuardResult } from '../apply/guard.js';
import type { HealthReport, HealthSnapshot, HealthTarget } from '../health/wait.js';
import type { ResourceCatalog } from '../resources/catalog.js';
import type { KubeObject, ResourceId } from '../resources/object.js';
import type { ChosenBy, StrategyName } from './names.js';

/** The strategy a deploy runs with, as a value: which, who chose it, and why in plain words. */
export interface StrategyChoice {
  name: StrategyName;
  by: ChosenBy;
  reason: string;
}

/** Measures a stage's wall time (the run's stage timer, so deploy records show it). */
export interface StageClock {
  time<T>(stage: string, work: () => Promise<T>): Promise<T>;
}

/** Stages a strategy goes through, reported as it enters them. */
export type StrategyStage = 'apply' | 'prune' | 'wait';

/** One service's planned, guarded change: everything a strategy works with. */
export interface Change {
  service: string;
  client: KubeClient;
  catalog: ResourceCatalog;
  /** Desired objects still to write, each with its plan entry (unchanged ones are not written). */
  items: ApplyItem[];
  /** Every desired object, to wait for. */
  targets: HealthTarget[];
  /** The targets as the plan read them moments ago, when nothing was written since (an in-sync run). */
  seen?: ReadonlyMap<ResourceId, KubeObject>;
  /** What the guard lets prune, and what it keeps. */
  guard: GuardResult;
  /** Stops new writes (SIGTERM/SIGINT); writes in flight finish. */
  signal?: AbortSignal;
  /**
   * Asked before each wave of writes: an error (the service's lock is no longer safely held) stops
   * the change there; what was written is still returned.
   */
  mayWrite?: () => NopeaError | undefined;
  clock: StageClock;
  onStage?: (stage: StrategyStage) => void;
  onObject?: (result: ObjectResult) => void;
  onHealth?: (snapshot: HealthSnapshot) => void;
}

export interface ApplySettings {
  forceConflicts: boolean;
  recreateOnImmutable: boolean;
  propagationPolicy: PropagationPolicy;
}

export interface WaitSettings {
  timeoutMs: number;
}

/** What applying did: every object's result (failed and skipped included), and what failed. */
export interface Applied {
  objects: ObjectResult[];
  error?: NopeaError;
  /** A progressive rollout: where it stood once applied (what a run that does not wait records). */
  rollout?: RolloutState;
}

/** Where a progressive rollout stood when the wait ended. */
export interface RolloutState {
  name: string;
  namespace: string;
  strategy: 'canary' | 'blue-green';
  phase?: string;
  step?: number;
  weight?: number;
  /** Waiting at a manual gate (or blue-green's preview) for a promote. */
  atGate: boolean;
}

/** What waiting saw, and the failure it amounts to. */
export interface Waited {
  health: HealthReport;
  error?: NopeaError;
  /** A progressive rollout: where it stood at the end of the wait. */
  rollout?: RolloutState;
  /** The run's time ran out while the rollout waits at a gate: promote or roll it back later (exit 4). */
  paused?: boolean;
  /** The rollout failed (or timed out) and was rolled back to the stable template. */
  rolledBack?: boolean;
  /** It replaced a rollout that was still in progress; that deploy was superseded. */
  superseded?: boolean;
}

/** A way of carrying out a change: `direct` today, canary and blue-green through Kulta next. */
export interface Strategy {
  readonly name: StrategyName;
  /** Writes the change (apply, then prune). A failed object is a result, not a throw. */
  apply(change: Change, settings: ApplySettings): Promise<Applied>;
  /** Waits until the change has taken effect or clearly failed, within the settings' bound. */
  wait(change: Change, settings: WaitSettings): Promise<Waited>;
}
