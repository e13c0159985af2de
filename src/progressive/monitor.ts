/**
 * The rollout monitor: the blocking step after a progressive apply. It watches the Rollout (polling
 * fast enough to see Kulta's `Failed`, which is not sticky and can flash by), reports each change of
 * step, weight, phase and ready replicas, and ends on a terminal result. Kulta reports no API errors
 * and has no deadline of its own, so nopea enforces one: a progress deadline (nothing moved for that
 * long, outside a pause) and a maximum duration. A run that reaches its timeout while the rollout
 * waits at a manual gate ends as `gate` (exit 4, promote later); a timeout anywhere else is a failure.
 */
import { parseDuration } from '../duration.js';
import { poll, systemClock, type Clock } from '../poll.js';
import { getObject } from '../cluster/objects.js';
import { isPlainObject, type KubeObject } from '../resources/object.js';
import type { RolloutHandle } from './lifecycle.js';
import { viewOf, type RolloutView } from './rollout.js';

/** What the monitor saw at one look, for progress lines. */
export interface RolloutProgress {
  view: RolloutView;
  readyStable: number;
  readyCanary: number;
  elapsedMs: number;
}

export type MonitorEnd =
  | { end: 'completed'; view: RolloutView }
  | { end: 'failed'; view: RolloutView; why: string }
  | { end: 'gate'; view: RolloutView }
  | { end: 'timeout'; view?: RolloutView; why: string }
  | { end: 'aborted'; view?: RolloutView };

export interface MonitorOptions {
  /** The run's bound (`--timeout`): at a gate the run ends `gate`, elsewhere `timeout`. */
  timeoutMs: number;
  /** Nothing moved (step, weight, phase, ready replicas) for this long outside a pause: failed. */
  progressDeadlineMs?: number;
  /** The rollout as a whole may not take longer than this from when monitoring began. */
  maxDurationMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: RolloutProgress) => void;
  clock?: Clock;
  /** Between looks; short, because a `Failed` phase may last one reconcile. */
  intervalMs?: number;
}

const DEFAULTS = { progressDeadlineMs: 5 * 60_000, maxDurationMs: 6 * 60 * 60_000, intervalMs: 500 };

function readyOf(rs: KubeObject | undefined): number {
  const status = isPlainObject(rs?.status) ? rs.status : {};
  return typeof status.readyReplicas === 'number' ? status.readyReplicas : 0;
}

/** How long the current step's timed pause may hold the rollout still (0 without one). */
function pauseAllowance(view: RolloutView): number {
  const pause = view.step !== undefined ? view.steps[view.step]?.pause : undefined;
  return typeof pause === 'string' ? parseDuration(pause, 'pause') : 0;
}

/** Watches until the rollout ends, stops at a gate when the run's time is up, or fails. */
export async function monitorRollout(h: RolloutHandle, opts: MonitorOptions): Promise<MonitorEnd> {
  const clock = opts.clock ?? systemClock;
  const start = clock.now();
  const progressDeadline = opts.progressDeadlineMs ?? DEFAULTS.progressDeadlineMs;
  const maxDuration = Math.max(opts.timeoutMs, opts.maxDurationMs ?? DEFAULTS.maxDurationMs);
  let lastKey = '';
  let lastChange = start;
  let last: RolloutView | undefined;

  const look = async (): Promise<MonitorEnd | undefined> => {
    const rollout = await getObject(h.client, h.types.rollout, h.namespace, h.name);
    if (!rollout)
      return {
        end: 'failed',
        view: last ?? viewOfMissing(h),
        why: `Rollout ${h.namespace}/${h.name} was deleted`,
      };
    const view = viewOf(rollout);
    last = view;
    const sides = view.strategy === 'canary' ? ['stable', 'canary'] : ['active', 'preview'];
    const [a, b] = await Promise.all(
      sides.map((side) => getObject(h.client, h.types.replicaSet, h.namespace, `${h.name}-${side}`)),
    );
    const now = clock.now();
    const progress: RolloutProgress = {
      view,
      readyStable: readyOf(a),
      readyCanary: readyOf(b),
      elapsedMs: now - start,
    };
    const key = JSON.stringify([
      view.phase,
      view.step,
      view.weight,
      progress.readyStable,
      progress.readyCanary,
    ]);
    if (key !== lastKey) {
      lastKey = key;
      lastChange = now;
      opts.onProgress?.(progress);
    }
    // The first Failed seen is terminal: Kulta may advance again on its next reconcile.
    if (view.phase === 'Failed') return { end: 'failed', view, why: view.message ?? 'Kulta reported Failed' };
    if (view.phase === 'Completed') return { end: 'completed', view };
    if (now - start >= opts.timeoutMs) {
      return view.atGate
        ? { end: 'gate', view }
        : {
            end: 'timeout',
            view,
            why: `the rollout did not finish within ${Math.round(opts.timeoutMs / 1000)} s`,
          };
    }
    if (now - start >= maxDuration)
      return { end: 'timeout', view, why: `the rollout ran longer than ${Math.round(maxDuration / 1000)} s` };
    if (!view.atGate && now - lastChange >= progressDeadline + pauseAllowance(view)) {
      return {
        end: 'failed',
        view,
        why: `no progress for ${Math.round((now - lastChange) / 1000)} s (step ${view.step ?? '-'}, phase ${view.phase ?? 'none yet'})`,
      };
    }
    return undefined;
  };

  const result = await poll<MonitorEnd>(
    async () => {
      const end = await look();
      return end ? { done: true, value: end } : { done: false };
    },
    {
      // The deadlines above end the watch; this bound only keeps a broken clock from spinning.
      timeoutMs: maxDuration + 60_000,
      backoff: {
        initialMs: opts.intervalMs ?? DEFAULTS.intervalMs,
        maxMs: opts.intervalMs ?? DEFAULTS.intervalMs,
        jitter: 0,
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
      clock,
    },
  );
  if (result.ok) return result.value;
  if (result.why === 'aborted') return last ? { end: 'aborted', view: last } : { end: 'aborted' };
  return { end: 'timeout', ...(last ? { view: last } : {}), why: 'the monitor reached its own bound' };
}

function viewOfMissing(h: RolloutHandle): RolloutView {
  return {
    name: h.name,
    namespace: h.namespace,
    strategy: 'canary',
    steps: [],
    atGate: false,
    promoting: false,
    replicas: 0,
  };
}
