/**
 * The wait loop's decisions as a pure function: given what the last poll saw and the time, which
 * objects are ready, which have failed, and how long each pod problem has lasted. Clear failures
 * fail at once; pod problems that may clear up on their own (an image pull that hits a registry hiccup,
 * a config error whose Secret is still being created) must persist for a grace period first.
 */
import { parseId, type ResourceId } from '../resources/object.js';
import type { Assessment, HealthState } from './assessment.js';
import type { PodFailure } from './pods.js';

/** What one poll saw of one target. */
export interface Observation {
  id: ResourceId;
  /** The rule's judgement of the live object (progressing with reason NotFound when it does not exist). */
  assessment: Assessment;
  /** Pod problems of the pods that count (a Deployment's newest ReplicaSet, the Pod itself, ...). */
  problems: PodFailure[];
}

/** The state of one object as the wait reports it. */
export interface ObjectHealth {
  id: ResourceId;
  state: HealthState;
  reason?: string;
  message: string;
  /** Milliseconds after the wait started at which the object entered this state. */
  since?: number;
  /** The pod problem that failed the object, or that will fail it if it persists. */
  failure?: PodFailure;
  /** Problems that do not fail the wait (pods no node fits, failed pods a controller replaces). */
  warnings?: string[];
}

/** Everything the loop carries from one poll to the next. */
export interface WaitState {
  startedAt: number;
  objects: ReadonlyMap<ResourceId, ObjectHealth>;
  /** When each pod problem was first seen, by `uid/container/family`; problems no longer seen are dropped. */
  firstSeen: ReadonlyMap<string, number>;
}

/** Tuning of the fail-fast decisions. */
export interface DecideOptions {
  /** How long a pod problem must persist before it fails the wait. */
  failGraceMs: number;
  /** A crash loop fails at once from this many restarts on. */
  crashLoopRestarts: number;
}

/** The outcome of one poll: the new state, and whether the wait is over. */
export interface Decision {
  state: WaitState;
  /** Every target is ready, or one has failed. */
  done: boolean;
  /** Ids of failed objects (non-empty means the wait failed). */
  failed: ResourceId[];
  /** When the earliest pending pod problem's grace period ends, so the next poll can be no later. */
  graceEndsAt?: number;
}

/** Default number of restarts after which a crash loop fails without a grace period. */
export const DEFAULT_CRASH_LOOP_RESTARTS = 3;

/** The state before the first poll: every target progressing, not observed yet. */
export function initialState(ids: ResourceId[], now: number): WaitState {
  return {
    startedAt: now,
    objects: new Map(
      ids.map((id) => [id, { id, state: 'progressing', message: 'not observed yet', since: 0 }]),
    ),
    firstSeen: new Map(),
  };
}

/**
 * Reasons kubelet alternates between for one underlying problem (ErrImagePull, then ImagePullBackOff,
 * then ErrImagePull again): tracked as one, so the alternation does not restart the grace period.
 */
export function failureFamily(reason: string): string {
  switch (reason) {
    case 'ErrImagePull':
    case 'ImagePullBackOff':
      return 'image-pull';
    case 'CrashLoopBackOff':
    case 'RunContainerError':
      return 'crash';
    case 'CreateContainerConfigError':
    case 'CreateContainerError':
      return 'create';
    default:
      return reason;
  }
}

/** The key a pod problem is tracked by across polls. */
export function failureKey(f: PodFailure): string {
  return `${f.uid}/${f.initContainer ? 'init:' : ''}${f.container ?? ''}/${failureFamily(f.reason)}`;
}

/** Problems that cannot clear up by waiting, so they skip the grace period. */
export function failsAtOnce(f: PodFailure, opts: Pick<DecideOptions, 'crashLoopRestarts'>): boolean {
  if (f.reason === 'CrashLoopBackOff') return f.restartCount >= opts.crashLoopRestarts;
  // An invalid image reference or a never-pull policy on a missing image is fixed only by a new spec.
  return f.reason === 'InvalidImageName' || f.reason === 'ErrImageNeverPull';
}

/**
 * Whether a pod problem can fail the wait of the target that owns the pod. Failed pods never do:
 * their controller replaces them. A Job's crashing containers do not either: restarts are the Job's
 * retries, and its backoffLimit turns them into the Failed condition, which fails at once. A Job pod
 * that cannot even start (image pull, config error) does count, or the wait would hang on it.
 */
export function canFail(f: PodFailure, target: ResourceId): boolean {
  if (f.scope !== 'container') return false;
  const ref = parseId(target);
  if (ref.group === 'batch' && ref.kind === 'Job') return failureFamily(f.reason) !== 'crash';
  return true;
}

/** `pod api-7d9c-xk2 container api: ImagePullBackOff` (init containers say so). */
export function describeFailure(f: PodFailure): string {
  const container = f.container ? ` ${f.initContainer ? 'init container' : 'container'} ${f.container}` : '';
  return `pod ${f.pod}${container}: ${f.reason}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** Folds one poll's observations into the state; objects not observed (ready ones) keep theirs. */
export function nextState(
  prev: WaitState,
  observations: Observation[],
  now: number,
  opts: DecideOptions,
): Decision {
  const objects = new Map(prev.objects);
  const firstSeen = new Map<string, number>();
  let graceEndsAt: number | undefined;
  const elapsed = now - prev.startedAt;

  for (const obs of observations) {
    const a = obs.assessment;
    let next: ObjectHealth = { id: obs.id, state: a.state, message: a.message };
    if (a.reason) next.reason = a.reason;

    if (a.state === 'progressing') {
      let failing: PodFailure | undefined;
      let pending: { f: PodFailure; first: number } | undefined;
      for (const f of obs.problems) {
        if (!canFail(f, obs.id)) continue;
        const key = failureKey(f);
        const first = prev.firstSeen.get(key) ?? now;
        firstSeen.set(key, first);
        if (failsAtOnce(f, opts) || now - first >= opts.failGraceMs) failing ??= f;
        else if (!pending || first < pending.first) pending = { f, first };
      }
      if (failing) {
        next = {
          id: obs.id,
          state: 'failed',
          reason: failing.reason,
          message: `${describeFailure(failing)}${failing.message ? `: ${failing.message}` : ''}`,
          failure: failing,
        };
      } else if (pending) {
        graceEndsAt = Math.min(graceEndsAt ?? Infinity, pending.first + opts.failGraceMs);
        next.message = `${a.message}; ${describeFailure(pending.f)} for ${seconds(now - pending.first)} (fails after ${seconds(opts.failGraceMs)})`;
        next.failure = pending.f;
      }
    }

    const warnings = obs.problems
      .filter((f) => !canFail(f, obs.id))
      .map((f) => `${describeFailure(f)}${f.message ? `: ${f.message}` : ''}`);
    if (warnings.length > 0 && next.state !== 'ready') next.warnings = warnings;

    const before = prev.objects.get(obs.id);
    next.since = before && before.state === next.state && before.since !== undefined ? before.since : elapsed;
    objects.set(obs.id, next);
  }

  const all = [...objects.values()];
  const failed = all.filter((o) => o.state === 'failed').map((o) => o.id);
  const done = failed.length > 0 || all.every((o) => o.state === 'ready');
  const decision: Decision = { state: { startedAt: prev.startedAt, objects, firstSeen }, done, failed };
  if (graceEndsAt !== undefined) decision.graceEndsAt = graceEndsAt;
  return decision;
}
