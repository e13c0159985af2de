/**
 * Canary steps and analysis: the vocabulary `nopea.yaml`, the `--canary-steps` flag and the Kulta
 * Rollout builder share, and the rules that make a list of steps one Kulta accepts (contract §2) and
 * nopea can drive: weights from 0 to 100 that never go down, only the last one 100, and pauses that
 * are a manual gate or a duration Kulta can be given. Only errors.ts is imported, so the
 * configuration parser (`source/`) may use it as well as `progressive/`.
 */
import { inputError, type Problem } from '../errors.js';

/** Where a step waits once its weight is reached: a manual gate (`nopea promote` passes it) or a timed pause. */
export type StepPause = 'gate' | { readonly seconds: number };

/** One canary step: the percent of replicas (and, with an HTTPRoute, of traffic) on the new version. */
export interface CanaryStep {
  readonly weight: number;
  readonly pause?: StepPause;
}

/** The only metrics Kulta computes (contract §6); with any other name its reconcile fails. */
export const CANARY_METRICS = ['error-rate', 'latency-p95'] as const;

export type CanaryMetricName = (typeof CANARY_METRICS)[number];

/** A metric the canary must stay below: `error-rate` in percent of 5xx responses, `latency-p95` in seconds. */
export interface CanaryMetric {
  readonly name: CanaryMetricName;
  readonly threshold: number;
}

/** Kulta's metrics analysis of a canary: the rollout fails when a metric reaches its threshold. */
export interface CanaryAnalysis {
  readonly metrics: readonly CanaryMetric[];
  /** Seconds before analysis starts, counted by Kulta from the Rollout's creation (not per step). */
  readonly warmupSeconds?: number;
}

/**
 * 10, 25 and 50 percent with 30 s each, then 100. Kulta moves past a step without a pause on its very
 * next reconcile and never looks at pod readiness (contract §4, §9), so a canary without pauses is
 * over in under a second. Thirty seconds per step gives the new pods time to start and the monitor
 * (and analysis) time to see a failure before more replicas move, and the whole canary (about 90 s)
 * stays short enough for a CI job. No manual gate by default: it would hold every run until a person
 * promotes it.
 */
export const DEFAULT_CANARY_STEPS: readonly CanaryStep[] = [
  { weight: 10, pause: { seconds: 30 } },
  { weight: 25, pause: { seconds: 30 } },
  { weight: 50, pause: { seconds: 30 } },
  { weight: 100 },
];

/** The flag form of the steps, as `--canary-steps` takes it. */
export const CANARY_STEPS_EXAMPLE = '10:30s,50:gate,100';

/**
 * Why a value is refused, as a predicate that follows the name of what was given: the caller puts
 * `services[0].canary.steps[1].pause` or `--canary-steps step 2 pause` in front of it.
 */
export interface Refusal {
  message: string;
  hint?: string;
}

/** A refusal about one step (`index`, and its `field` when it is about one), or about the whole list. */
export interface StepRefusal extends Refusal {
  index?: number;
  field?: 'weight' | 'pause';
}

/** How a refusal quotes what the user wrote; `nopea.yaml` passes its masking, excerpting quote. */
export type Quote = (text: string) => string;

/** Whether hints show steps as `nopea.yaml` writes them or as the flag does. */
export type StepForm = 'config' | 'flag';

const QUOTE_CHARS = 40;

function quoteShort(text: string): string {
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS - 1)}…` : text);
}

function describeValue(value: unknown, quote: Quote): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

const WEIGHT_RULE = 'must be a whole number from 0 to 100 (the percent of replicas on the new version)';

/** Why a step weight is refused, if it is. */
export function weightRefusal(weight: number): Refusal | undefined {
  if (Number.isInteger(weight) && weight >= 0 && weight <= 100) return undefined;
  return { message: `${WEIGHT_RULE}, found ${weight}` };
}

// Kulta reads one whole number and one unit, each unit with its own ceiling (contract §2).
const KULTA_MAX = { s: 86_400, m: 1_440, h: 168 } as const;
const MAX_SECONDS = KULTA_MAX.h * 3600;
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * A number of seconds the way Kulta accepts a duration (`^\d+[smh]$` within its ceilings), in the
 * largest unit that holds it exactly: `90s`, `2m`, `36h`; undefined when Kulta cannot be given it.
 */
export function kultaDuration(seconds: number): string | undefined {
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_SECONDS) return undefined;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds / 60 <= KULTA_MAX.m) return `${seconds / 60}m`;
  if (seconds <= KULTA_MAX.s) return `${seconds}s`;
  return undefined;
}

/** The seconds of a duration Kulta can be given (`30s`, `5m`, `1h30m`), or why not; `gate` says whether a gate is the other choice. */
function readDuration(value: unknown, quote: Quote, gate: boolean): { seconds: number } | Refusal {
  const choice = gate ? ', or gate' : '';
  const howTo = `write whole seconds, minutes or hours (30s, 5m, 1h30m)${gate ? ', or gate to wait for nopea promote' : ''}`;
  const withUnits = (n: number): string =>
    Number.isInteger(n) && n > 0
      ? `write ${n}s, ${n}m or ${n}h${gate ? ', or gate to wait for nopea promote' : ''}`
      : howTo;
  if (typeof value === 'number')
    return { message: `needs a unit, found the number ${value}`, hint: withUnits(value) };
  if (typeof value !== 'string') {
    return {
      message: `must be a duration such as 30s${choice}, found ${describeValue(value, quote)}`,
      hint:
        gate && typeof value === 'object' && value !== null && !Array.isArray(value)
          ? "for Kulta's pause: {} (wait for a promote) write gate; for a timed pause a duration such as 30s"
          : howTo,
    };
  }
  if (/^\d+$/.test(value)) return { message: `${quote(value)} needs a unit`, hint: withUnits(Number(value)) };
  const match = value === '' ? null : DURATION.exec(value);
  if (!match) {
    const days = /^(\d+)d$/.exec(value);
    const hint = days
      ? `Kulta has no unit for days: write ${Number(days[1]) * 24}h (at most ${KULTA_MAX.h}h)`
      : howTo;
    return { message: `${quote(value)} is not a duration${gate ? ' or gate' : ''}`, hint };
  }
  const [hours = 0, minutes = 0, secs = 0] = match.slice(1).map((part) => Number(part ?? 0));
  const seconds = hours * 3600 + minutes * 60 + secs;
  if (seconds === 0) {
    return {
      message: `${quote(value)} is no time at all: Kulta refuses a zero duration`,
      hint: gate ? 'leave the pause out to move on at once' : 'leave it out to start at once',
    };
  }
  if (seconds > MAX_SECONDS) {
    return {
      message: `${quote(value)} is longer than Kulta allows (${KULTA_MAX.h}h, 7 days)`,
      hint: `use at most ${KULTA_MAX.h}h${gate ? ', or gate to wait for a promote however long it takes' : ''}`,
    };
  }
  if (kultaDuration(seconds) === undefined) {
    const hours = seconds / 3600;
    return {
      message: `${quote(value)} cannot be given to Kulta, which reads one number and one unit (at most ${KULTA_MAX.s}s, ${KULTA_MAX.m}m or ${KULTA_MAX.h}h)`,
      hint: `above 24h use whole hours: ${Math.floor(hours)}h or ${Math.ceil(hours)}h`,
    };
  }
  return { seconds };
}

function isRefusal(value: { seconds: number } | Refusal): value is Refusal {
  return 'message' in value;
}

/** A step's pause from what was written (`gate`, `30s`, `1m30s`), or why it is refused. */
export function readPause(value: unknown, quote: Quote = quoteShort): { pause: StepPause } | Refusal {
  if (value === 'gate') return { pause: 'gate' };
  const read = readDuration(value, quote, true);
  return isRefusal(read) ? read : { pause: { seconds: read.seconds } };
}

/** Seconds of a duration Kulta reads (analysis' `warmupDuration`), or why it is refused. */
export function readKultaDuration(value: unknown, quote: Quote = quoteShort): { seconds: number } | Refusal {
  return readDuration(value, quote, false);
}

/**
 * What is wrong with the order of the steps: a weight that goes down, a 100 before the last step
 * (100 ends the rollout), a last step that is not 100, or a pause on it (there is nothing left to
 * wait for). nopea asks for the final 100 to be written because Kulta moves every replica to the new
 * version after the last step whatever its weight, and a list that says so is the one a reader can
 * trust.
 */
export function orderRefusals(steps: readonly CanaryStep[], form: StepForm): StepRefusal[] {
  const out: StepRefusal[] = [];
  const full = form === 'flag' ? '100' : '{weight: 100}';
  steps.forEach((step, index) => {
    const last = index === steps.length - 1;
    const before = steps[index - 1];
    if (before && step.weight < before.weight) {
      out.push({
        index,
        field: 'weight',
        message: `${step.weight} is lower than the step before (${before.weight}): weights must not go down`,
        hint: 'a canary only moves forward; to go back to the old version, run nopea rollback',
      });
    } else if (!last && step.weight === 100) {
      out.push({
        index,
        field: 'weight',
        message: 'is 100 before the last step: a step of 100 ends the rollout',
        hint: 'lower it below 100, or make it the last step',
      });
    }
    if (last && step.weight !== 100) {
      out.push({
        index,
        field: 'weight',
        message: `is ${step.weight} on the last step: the last step must be 100`,
        hint: `end with ${full}: after its last step Kulta moves every replica to the new version anyway`,
      });
    } else if (last && step.pause !== undefined) {
      out.push({
        index,
        field: 'pause',
        message: 'is on the last step, which ends the rollout at 100: there is nothing left to wait for',
        hint: 'put the pause on the step before',
      });
    }
  });
  return out;
}

/**
 * Every rule on steps that are already values (from the flag, `nopea.yaml`, the defaults or a
 * record): at least one, each weight and pause valid, in order.
 */
export function checkCanarySteps(steps: readonly CanaryStep[]): StepRefusal[] {
  if (steps.length === 0) {
    return [{ message: 'are empty: Kulta needs at least one step', hint: `e.g. ${CANARY_STEPS_EXAMPLE}` }];
  }
  const out: StepRefusal[] = [];
  steps.forEach((step, index) => {
    const weight = weightRefusal(step.weight);
    if (weight) out.push({ index, field: 'weight', ...weight });
    const pause = step.pause;
    if (pause !== undefined && pause !== 'gate' && kultaDuration(pause.seconds) === undefined) {
      out.push({
        index,
        field: 'pause',
        message: `of ${pause.seconds} seconds cannot be given to Kulta`,
        hint: `use whole seconds from 1 to ${MAX_SECONDS} that Kulta can write as one number and unit`,
      });
    }
  });
  return out.length > 0 ? out : orderRefusals(steps, 'flag');
}

/** Where a refusal about steps points, for a message: `step 2 pause`, `step 3`, or nothing for the list. */
export function stepSubject(refusal: StepRefusal): string {
  if (refusal.index === undefined) return '';
  return `step ${refusal.index + 1}${refusal.field ? ` ${refusal.field}` : ''}`;
}

/**
 * Parses `--canary-steps "10:30s,50:gate,100"`: comma-separated steps, each `weight` or
 * `weight:pause`. Throws one input error naming the flag and listing every problem.
 */
export function parseCanarySteps(text: string, flag = '--canary-steps'): CanaryStep[] {
  const problems: Problem[] = [];
  const refuse = (subject: string, refusal: Refusal): void => {
    const message = `${flag}${subject ? ` ${subject}` : ''} ${refusal.message}`;
    problems.push(refusal.hint ? { message, hint: refusal.hint } : { message });
  };
  if (text.trim() === '') {
    refuse('', {
      message: 'is empty',
      hint: `give the steps as weight:pause, e.g. ${flag} "${CANARY_STEPS_EXAMPLE}"`,
    });
    throw inputError(problems);
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const steps: CanaryStep[] = [];
  entries.forEach((entry, index) => {
    const subject = `step ${index + 1}`;
    if (entry === '') {
      refuse(subject, {
        message: 'is empty',
        hint: `separate the steps with single commas: ${CANARY_STEPS_EXAMPLE}`,
      });
      return;
    }
    const parts = entry.split(':').map((part) => part.trim());
    if (parts.length > 2) {
      refuse(subject, {
        message: `${quoteShort(entry)} is not weight or weight:pause`,
        hint: 'e.g. 100, 10:30s or 50:gate',
      });
      return;
    }
    const [weightText = '', pauseText] = parts;
    const weight = /^\d+$/.test(weightText) ? Number(weightText) : undefined;
    const badWeight =
      weight === undefined
        ? { message: `${WEIGHT_RULE}, found ${quoteShort(weightText)}` }
        : weightRefusal(weight);
    if (badWeight) refuse(`${subject} weight`, badWeight);
    const pause = pauseText === undefined ? undefined : readPause(pauseText);
    if (pause && 'message' in pause) refuse(`${subject} pause`, pause);
    if (badWeight || weight === undefined || (pause && 'message' in pause)) return;
    steps.push(pause ? { weight, pause: pause.pause } : { weight });
  });
  if (problems.length === 0) {
    for (const refusal of orderRefusals(steps, 'flag')) refuse(stepSubject(refusal), refusal);
  }
  if (problems.length > 0) throw inputError(problems);
  return steps;
}

/** Steps in the flag form (`10:30s,50:gate,100`), for records, explanations and hints. */
export function formatCanarySteps(steps: readonly CanaryStep[]): string {
  return steps
    .map(({ weight, pause }) => {
      if (pause === undefined) return String(weight);
      if (pause === 'gate') return `${weight}:gate`;
      return `${weight}:${kultaDuration(pause.seconds) ?? `${pause.seconds}s`}`;
    })
    .join(',');
}
