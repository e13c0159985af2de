/**
 * A Kulta Rollout as nopea reads it, and the status writes that walk it — pure. Kulta's status is
 * what the controller actually writes (contract §3): `phase` is `Progressing`, `Preview`, `Completed`
 * or `Failed` (never `Paused` or `Initializing`), `currentStepIndex` and `currentWeight` for a
 * canary, `pauseStartTime` when a step pauses (never cleared). The patches here are the ones §9
 * verified against the running controller.
 */
import { isPlainObject, type KubeObject } from '../resources/object.js';
import type { RolloutState } from '../strategy/types.js';

/** One canary step as the Rollout holds it. */
export interface RolloutStep {
  setWeight: number;
  /** `undefined`: no pause; `null`: a manual gate (`pause: {}`); else Kulta's duration (`30s`). */
  pause?: string | null;
}

/**
 * Where a Rollout stands, from its spec and status: the strategy seam's RolloutState (name, phase,
 * step, weight, at a gate — `step` is -1 idle, `steps.length` past the last) and what only the
 * lifecycle needs.
 */
export interface RolloutView extends RolloutState {
  steps: RolloutStep[];
  /** The promote annotation is set. */
  promoting: boolean;
  message?: string;
  replicas: number;
}

export const PROMOTE_ANNOTATION = 'kulta.io/promote';

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The steps of a canary Rollout's spec. */
export function stepsOf(rollout: KubeObject): RolloutStep[] {
  const spec = isPlainObject(rollout.spec) ? rollout.spec : {};
  const strategy = isPlainObject(spec.strategy) ? spec.strategy : {};
  const canary = isPlainObject(strategy.canary) ? strategy.canary : {};
  const steps = Array.isArray(canary.steps) ? canary.steps : [];
  return steps.map((s): RolloutStep => {
    const step = isPlainObject(s) ? s : {};
    const out: RolloutStep = { setWeight: num(step.setWeight) ?? 0 };
    if (isPlainObject(step.pause)) {
      out.pause = typeof step.pause.duration === 'string' ? step.pause.duration : null;
    }
    return out;
  });
}

/** Reads a Rollout's strategy, phase, step and weight. */
export function viewOf(rollout: KubeObject): RolloutView {
  const spec = isPlainObject(rollout.spec) ? rollout.spec : {};
  const strategy = isPlainObject(spec.strategy) ? spec.strategy : {};
  const status = isPlainObject(rollout.status) ? rollout.status : {};
  const steps = stepsOf(rollout);
  const view: RolloutView = {
    name: rollout.metadata.name ?? '',
    namespace: rollout.metadata.namespace ?? '',
    strategy: isPlainObject(strategy.blueGreen) ? 'blue-green' : 'canary',
    steps,
    atGate: false,
    promoting: rollout.metadata.annotations?.[PROMOTE_ANNOTATION] === 'true',
    replicas: num(spec.replicas) ?? 1,
  };
  if (typeof status.phase === 'string') view.phase = status.phase;
  if (typeof status.message === 'string') view.message = status.message;
  const step = num(status.currentStepIndex);
  const weight = num(status.currentWeight);
  if (step !== undefined) view.step = step;
  if (weight !== undefined) view.weight = weight;
  if (view.strategy === 'blue-green') view.atGate = view.phase === 'Preview';
  else {
    const current = step !== undefined ? steps[step] : undefined;
    view.atGate =
      view.phase === 'Progressing' && current?.pause === null && typeof status.pauseStartTime === 'string';
  }
  return view;
}

/** RFC 3339 with seconds, as Kulta parses `pauseStartTime`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The status that moves a canary exactly one step on (§9): Kulta's promote annotation would skip every
 * remaining pause. At the last step it is `Completed`.
 */
export function nextStepStatus(view: RolloutView, now: number): Record<string, unknown> {
  const next = (view.step ?? 0) + 1;
  const step = view.steps[next];
  if (!step) return { phase: 'Completed', currentStepIndex: view.steps.length, currentWeight: 100 };
  return {
    phase: step.setWeight >= 100 && next === view.steps.length - 1 ? 'Completed' : 'Progressing',
    currentStepIndex: next,
    currentWeight: step.setWeight,
    pauseStartTime: rfc3339(now),
  };
}

/** The status that puts every replica back on stable and holds it there (§9's rollback). */
export const ROLLED_BACK_STATUS = {
  phase: 'Failed',
  currentStepIndex: -1,
  currentWeight: 0,
  pauseStartTime: null,
};

/** The idle status after finalising: stable holds every replica, canary none, across requeues (§9). */
export const IDLE_STATUS = { phase: 'Completed', currentStepIndex: -1, currentWeight: 0 };

/**
 * The weights that walk replicas back from canary to stable after `Completed`, one replica at a
 * time: floor(100·(N−j)/N) for j = 1..N−1 (75, 50, 25 for 4 replicas).
 */
export function walkBackWeights(replicas: number): number[] {
  const out: number[] = [];
  for (let j = 1; j < replicas; j++) out.push(Math.floor((100 * (replicas - j)) / replicas));
  return out;
}

/** Kulta's replica split for a weight: canary gets ceil(N·w/100), stable the rest (§5). */
export function splitOf(replicas: number, weight: number): { stable: number; canary: number } {
  const canary = weight <= 0 ? 0 : weight >= 100 ? replicas : Math.ceil((replicas * weight) / 100);
  return { stable: replicas - canary, canary };
}

/**
 * Where a rollout stands, as people read it, written once for every interface: the phase, the step
 * counted from 1 (`1/3` when the steps are known; none at rest, step -1), and the canary weight. The
 * parts are joined by `separator`: `Progressing, step 1/3, 25%`, or with `' '` for progress lines.
 */
export function rolloutPosition(
  r: {
    phase?: string | undefined;
    step?: number | undefined;
    weight?: number | undefined;
    steps?: readonly unknown[];
  },
  separator = ', ',
): string {
  const parts = [r.phase ?? 'starting'];
  if (r.step !== undefined && r.step >= 0)
    parts.push(`step ${r.step + 1}${r.steps?.length ? `/${r.steps.length}` : ''}`);
  if (r.weight !== undefined) parts.push(`${r.weight}%`);
  return parts.join(separator);
}
