/**
 * Observations for the memory tests and the fold benchmark: hand-made ones at exact times, and a
 * seeded stream of realistic deploys (several services, namespaces and error kinds, overlapping
 * pipelines, across simulated weeks) that is the same on every run.
 */
import { MEMORY_ERROR_KINDS, type MemoryErrorKind, type Observation } from '../../../src/memory/types.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The time every hand-made observation is placed relative to. */
export const T0 = '2026-03-02T10:00:00.000Z';

/** The ISO time `offsetMs` after T0. */
export function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

let sequence = 0;

/** A deploy of `service` in `namespace` that finished at `finishedAt` and took a minute (ids are unique). */
export function deploy(
  service: string,
  namespace: string,
  outcome: Observation['outcome'],
  finishedAt: string,
  errorKinds: MemoryErrorKind[] = [],
  durationMs = MINUTE,
): Observation {
  sequence += 1;
  return {
    deployId: `deploy-${String(sequence).padStart(6, '0')}`,
    service,
    namespace,
    outcome,
    errorKinds,
    strategy: 'direct',
    startedAt: new Date(Date.parse(finishedAt) - durationMs).toISOString(),
    finishedAt,
  };
}

export function failure(
  service: string,
  namespace: string,
  kind: MemoryErrorKind,
  finishedAt: string,
): Observation {
  return deploy(service, namespace, 'failed', finishedAt, [kind]);
}

export function success(service: string, namespace: string, finishedAt: string): Observation {
  return deploy(service, namespace, 'succeeded', finishedAt);
}

/** The shape of the realistic stream, which bounds what a graph folded from it may hold. */
export const REALISTIC = {
  services: [
    'web',
    'api',
    'worker',
    'billing',
    'auth',
    'search',
    'gateway',
    'mailer',
    'reports',
    'cron',
    'ml',
    'docs',
  ],
  namespaces: ['dev', 'staging', 'prod'],
  /** Mean time between deploy starts: 10,000 deploys span about 35 days. */
  meanGapMs: 5 * MINUTE,
} as const;

/** A small seeded generator (mulberry32): the same stream on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * `count` realistic deploy outcomes in start order: mostly successes, failures of one or two kinds,
 * some rollbacks and cancellations; a third of the deploys start with the one before them (the
 * services of one pipeline), so windows overlap.
 */
export function realisticObservations(count: number, seed = 1): Observation[] {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const causes = MEMORY_ERROR_KINDS.filter((kind) => kind !== 'RolledBack');
  const out: Observation[] = [];
  let startMs = Date.parse(T0);
  for (let i = 0; i < count; i++) {
    // Two deploys in three start a new pipeline, 1.5 mean gaps later on average: one mean gap per deploy.
    if (random() > 1 / 3) startMs += Math.round(random() * 3 * REALISTIC.meanGapMs);
    const durationMs = 20 * SECOND + Math.round(random() * 5 * MINUTE);
    const roll = random();
    const outcome: Observation['outcome'] =
      roll < 0.8 ? 'succeeded' : roll < 0.95 ? 'failed' : roll < 0.98 ? 'rolled-back' : 'cancelled';
    const errorKinds: MemoryErrorKind[] = [];
    if (outcome === 'failed') {
      errorKinds.push(pick(causes));
      if (random() < 0.2) errorKinds.push(pick(causes));
    }
    if (outcome === 'rolled-back') errorKinds.push(pick(causes), 'RolledBack');
    out.push({
      deployId: `01J${String(i).padStart(8, '0')}`,
      service: pick(REALISTIC.services),
      namespace: pick(REALISTIC.namespaces),
      outcome,
      errorKinds: [...new Set(errorKinds)],
      strategy: 'direct',
      startedAt: new Date(startMs).toISOString(),
      finishedAt: new Date(startMs + durationMs).toISOString(),
    });
  }
  return out;
}
