import { afterEach, describe, expect, it, vi } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { MEMORY } from '../../../src/memory/constants.js';
import { emptyGraph, foldAll, isKeptAt, observe, weightAt } from '../../../src/memory/graph.js';
import type { GraphEdge, MemoryGraph, Observation } from '../../../src/memory/types.js';
import { at, DAY, deploy, failure, HOUR, MINUTE, SECOND, success, T0 } from './fixtures.js';

function fold(...observations: Observation[]): MemoryGraph {
  return observations.reduce(observe, emptyGraph());
}

function edge(graph: MemoryGraph, relation: GraphEdge['relation'], from: string, to: string, scope?: string) {
  return graph.edges.find(
    (e) => e.relation === relation && e.from === from && e.to === to && e.scope === scope,
  );
}

function breaks(graph: MemoryGraph, kind: string, service: string, namespace: string) {
  return edge(graph, 'breaks', `error:${kind}`, `service:${service}`, namespace);
}

/** The share a weight keeps over `ms` with the two-day half-life. */
const decay = (ms: number) => 2 ** (-ms / MEMORY.halfLifeMs);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

afterEach(() => vi.useRealTimers());

describe('emptyGraph', () => {
  it('knows nothing, in format 1', () => {
    expect(emptyGraph()).toEqual({ format: 1, nodes: [], edges: [], recent: [], observations: 0 });
  });
});

describe('observe: nodes and relations', () => {
  it('one failure makes the service, namespace and error-kind nodes and their relations', () => {
    const obs = failure('web', 'staging', 'ImagePullBackOff', T0);
    const graph = observe(emptyGraph(), obs);
    expect(graph.nodes).toEqual([
      { id: 'service:web', type: 'service', name: 'web' },
      { id: 'namespace:staging', type: 'namespace', name: 'staging' },
      { id: 'error:ImagePullBackOff', type: 'error', name: 'ImagePullBackOff' },
    ]);
    expect(edge(graph, 'deployed_to', 'service:web', 'namespace:staging')).toMatchObject({
      weight: 0,
      count: 1,
      updatedAt: T0,
    });
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')).toEqual({
      from: 'error:ImagePullBackOff',
      to: 'service:web',
      relation: 'breaks',
      scope: 'staging',
      weight: 0.5,
      count: 1,
      updatedAt: T0,
      evidence: [{ deployId: obs.deployId, at: T0, outcome: 'failed', errorKind: 'ImagePullBackOff' }],
    });
    expect(graph.recent).toEqual([
      {
        deployId: obs.deployId,
        service: 'web',
        namespace: 'staging',
        startedAt: obs.startedAt,
        finishedAt: T0,
        outcome: 'failed',
        durationMs: MINUTE,
      },
    ]);
    expect(graph.observations).toBe(1);
  });

  it('deployed_to is an EWMA of success: a first deploy sets it, then steps of 0.3', () => {
    const graph = fold(
      success('web', 'prod', T0),
      failure('web', 'prod', 'Other', T0),
      success('web', 'prod', T0),
    );
    // 1 → 1 + 0.3 (0 − 1) = 0.7 → 0.7 + 0.3 (1 − 0.7) = 0.79
    expect(edge(graph, 'deployed_to', 'service:web', 'namespace:prod')).toMatchObject({ count: 3 });
    expect(edge(graph, 'deployed_to', 'service:web', 'namespace:prod')!.weight).toBeCloseTo(0.79, 12);
  });

  it('a repeated failure of the same kind climbs 0.5, 0.75, 0.875', () => {
    const weights: number[] = [];
    let graph = emptyGraph();
    for (let i = 0; i < 3; i++) {
      graph = observe(graph, failure('web', 'staging', 'CrashLoopBackOff', T0));
      weights.push(breaks(graph, 'CrashLoopBackOff', 'web', 'staging')!.weight);
    }
    expect(weights).toEqual([0.5, 0.75, 0.875]);
    expect(breaks(graph, 'CrashLoopBackOff', 'web', 'staging')!.count).toBe(3);
  });

  it('a success lowers every error kind of the service in that namespace by the factor 0.7, and only there', () => {
    const graph = fold(
      failure('web', 'staging', 'ImagePullBackOff', T0),
      deploy('web', 'staging', 'failed', T0, ['CrashLoopBackOff', 'HealthTimeout']),
      failure('web', 'prod', 'ImagePullBackOff', T0),
      failure('api', 'staging', 'ImagePullBackOff', T0),
      success('web', 'staging', T0),
    );
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')!.weight).toBeCloseTo(0.35, 12);
    expect(breaks(graph, 'CrashLoopBackOff', 'web', 'staging')!.weight).toBeCloseTo(0.35, 12);
    expect(breaks(graph, 'HealthTimeout', 'web', 'staging')!.weight).toBeCloseTo(0.35, 12);
    // Successes are not failures: not counted, not evidence of a `breaks`.
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')).toMatchObject({ count: 1 });
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')!.evidence).toHaveLength(1);
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'prod')!.weight).toBe(0.5);
    expect(breaks(graph, 'ImagePullBackOff', 'api', 'staging')!.weight).toBe(0.5);
  });

  it('a failure of another kind leaves the others as they were (they only decay with time)', () => {
    const first = failure('web', 'staging', 'ImagePullBackOff', T0);
    const graph = fold(first, failure('web', 'staging', 'CrashLoopBackOff', at(DAY)));
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')).toMatchObject({ weight: 0.5, updatedAt: T0 });
    expect(weightAt(breaks(graph, 'ImagePullBackOff', 'web', 'staging')!, Date.parse(at(DAY)))).toBeCloseTo(
      0.5 * decay(DAY),
      12,
    );
  });

  it('a failure with no error kind is remembered as Other; a cancelled deploy moves no weight', () => {
    const graph = fold(
      deploy('web', 'staging', 'failed', T0, []),
      deploy('api', 'staging', 'cancelled', at(HOUR)),
    );
    expect(breaks(graph, 'Other', 'web', 'staging')!.weight).toBe(0.5);
    expect(graph.edges.some((e) => e.from === 'service:api' || e.to === 'service:api')).toBe(false);
    expect(graph.recent.map((r) => [r.service, r.outcome])).toEqual([
      ['api', 'cancelled'],
      ['web', 'failed'],
    ]);
  });

  it('a rollback counts as a failure of each of its kinds', () => {
    const graph = fold(deploy('web', 'prod', 'rolled-back', T0, ['CrashLoopBackOff', 'RolledBack']));
    expect(breaks(graph, 'CrashLoopBackOff', 'web', 'prod')!.weight).toBe(0.5);
    expect(breaks(graph, 'RolledBack', 'web', 'prod')!.weight).toBe(0.5);
    expect(edge(graph, 'deployed_to', 'service:web', 'namespace:prod')!.weight).toBe(0);
  });
});

describe('observe: deployed_together', () => {
  it('links two services whose deploy windows overlapped, growing 0.3, 0.51 with each overlap', () => {
    const first = fold(
      deploy('web', 'prod', 'succeeded', at(5 * MINUTE), [], 5 * MINUTE),
      deploy('api', 'prod', 'succeeded', at(4 * MINUTE), [], 2 * MINUTE),
    );
    expect(edge(first, 'deployed_together', 'service:api', 'service:web')).toMatchObject({
      weight: 0.3,
      count: 1,
    });
    const second = fold(
      ...[0, HOUR].flatMap((t) => [
        deploy('web', 'prod', 'succeeded', at(t + 5 * MINUTE), [], 5 * MINUTE),
        deploy('api', 'staging', 'failed', at(t + 4 * MINUTE), ['Other'], 2 * MINUTE),
      ]),
    );
    const together = edge(second, 'deployed_together', 'service:api', 'service:web')!;
    expect(together.count).toBe(2);
    expect(together.weight).toBeCloseTo(0.3 * decay(HOUR) + 0.3 * (1 - 0.3 * decay(HOUR)), 12);
    expect(together.evidence).toHaveLength(2);
  });

  it('does not link deploys that did not overlap, nor a service with itself', () => {
    const graph = fold(
      deploy('web', 'prod', 'succeeded', at(MINUTE), [], MINUTE),
      deploy('api', 'prod', 'succeeded', at(3 * MINUTE), [], MINUTE),
      deploy('api', 'staging', 'succeeded', at(3 * MINUTE), [], MINUTE),
    );
    expect(graph.edges.filter((e) => e.relation === 'deployed_together')).toEqual([]);
  });
});

describe('observe: bounded evidence and recent deploys', () => {
  it('keeps the newest 10 evidence entries per relation, newest first, and the newest 50 deploys', () => {
    const observations = Array.from({ length: 60 }, (_, i) =>
      failure('web', 'prod', 'JobFailed', at(i * MINUTE)),
    );
    const graph = fold(...observations);
    const newest = observations.slice(-10).reverse();
    expect(breaks(graph, 'JobFailed', 'web', 'prod')!.evidence.map((e) => e.deployId)).toEqual(
      newest.map((o) => o.deployId),
    );
    expect(breaks(graph, 'JobFailed', 'web', 'prod')!.count).toBe(60);
    expect(graph.recent).toHaveLength(MEMORY.recentDeploys);
    expect(graph.recent[0]!.deployId).toBe(observations[59]!.deployId);
    expect(graph.recent.at(-1)!.deployId).toBe(observations[10]!.deployId);
  });
});

describe('observe: time decay from timestamps only', () => {
  it('a graph observed two seconds apart ages two seconds', () => {
    const graph = fold(
      failure('web', 'staging', 'ImagePullBackOff', T0),
      success('web', 'staging', at(2 * SECOND)),
    );
    const pattern = breaks(graph, 'ImagePullBackOff', 'web', 'staging')!;
    expect(pattern.weight).toBeCloseTo(0.5 * decay(2 * SECOND) * 0.7, 15);
    expect(pattern.updatedAt).toBe(at(2 * SECOND));
  });

  it('halves a weight in two days', () => {
    const graph = fold(failure('web', 'staging', 'ImagePullBackOff', T0));
    const pattern = breaks(graph, 'ImagePullBackOff', 'web', 'staging')!;
    expect(weightAt(pattern, Date.parse(at(2 * DAY)))).toBeCloseTo(0.25, 15);
    expect(weightAt(pattern, Date.parse(at(14 * DAY)))).toBeCloseTo(0.00390625, 15);
  });

  it('gives the same graph whatever the clock says while folding', () => {
    const observations = [
      failure('web', 'staging', 'ImagePullBackOff', T0),
      success('web', 'staging', at(3 * HOUR)),
      deploy('api', 'staging', 'succeeded', at(3 * HOUR)),
    ];
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
    const then = foldAll(observations);
    vi.setSystemTime(new Date('2099-01-01T00:00:00Z'));
    expect(foldAll(observations)).toEqual(then);
  });

  it('drops relations below the floor, and the nodes no relation mentions', () => {
    const old = fold(failure('web', 'staging', 'ImagePullBackOff', T0), success('api', 'prod', at(DAY)));
    expect(old.nodes.map((n) => n.id)).toContain('service:web');
    const later = observe(old, success('api', 'prod', at(14 * DAY)));
    expect(later.edges.map((e) => `${e.relation} ${e.from} ${e.to}`)).toEqual([
      'deployed_to service:api namespace:prod',
    ]);
    expect(later.nodes.map((n) => n.id)).toEqual(['service:api', 'namespace:prod']);
    // The failure itself is still among the recent deploys: outcomes are history, not weights.
    expect(later.recent.map((r) => r.service)).toEqual(['api', 'api', 'web']);
  });

  it('keeps a deployed_to with a low success rate while the service is deployed, for about 13.3 days after', () => {
    const failing = fold(
      ...Array.from({ length: 20 }, (_, i) => failure('web', 'dev', 'Other', at(i * HOUR))),
    );
    const to = edge(failing, 'deployed_to', 'service:web', 'namespace:dev')!;
    expect(to.weight).toBe(0);
    const lastMs = Date.parse(at(19 * HOUR));
    const horizon = MEMORY.halfLifeMs * Math.log2(1 / MEMORY.floor);
    expect(horizon / DAY).toBeCloseTo(13.29, 2);
    expect(isKeptAt(to, lastMs + horizon)).toBe(true);
    expect(isKeptAt(to, lastMs + horizon + 1)).toBe(false);
  });

  it('drops a breaks relation that successes took below the floor', () => {
    let graph = fold(failure('web', 'prod', 'ImagePullBackOff', T0));
    let successes = 0;
    while (breaks(graph, 'ImagePullBackOff', 'web', 'prod')) {
      graph = observe(graph, success('web', 'prod', T0));
      successes += 1;
    }
    // 0.5 · 0.7^11 ≈ 0.0099 < 0.01 ≤ 0.5 · 0.7^10 ≈ 0.0141
    expect(successes).toBe(11);
    expect(graph.nodes.map((n) => n.id)).toEqual(['service:web', 'namespace:prod']);
  });
});

describe('observe: idempotent, out of order, pure', () => {
  it('an observation already folded in changes nothing', () => {
    const obs = failure('web', 'staging', 'ImagePullBackOff', T0);
    const graph = fold(obs, success('api', 'prod', at(MINUTE)));
    expect(observe(graph, obs)).toBe(graph);
    expect(observe(graph, { ...obs, finishedAt: at(HOUR) })).toBe(graph);
    expect(foldAll([obs, obs, success('api', 'prod', at(MINUTE))]).observations).toBe(2);
  });

  it('recognises a deploy that left the recent list by the evidence of its service in its namespace', () => {
    const obs = failure('web', 'staging', 'ImagePullBackOff', T0);
    const others = Array.from({ length: MEMORY.recentDeploys }, (_, i) =>
      success('api', 'prod', at((i + 1) * MINUTE)),
    );
    const graph = fold(obs, ...others);
    expect(graph.recent.some((r) => r.deployId === obs.deployId)).toBe(false);
    expect(observe(graph, obs)).toBe(graph);
  });

  it('an observation older than a relation decays nothing and leaves it dated by the newer one', () => {
    const newer = failure('web', 'staging', 'ImagePullBackOff', at(DAY));
    const older = success('web', 'staging', T0);
    const graph = fold(newer, older);
    const pattern = breaks(graph, 'ImagePullBackOff', 'web', 'staging')!;
    expect(pattern.weight).toBeCloseTo(0.35, 15);
    expect(pattern.updatedAt).toBe(at(DAY));
    expect(graph.recent.map((r) => r.deployId)).toEqual([newer.deployId, older.deployId]);
  });

  it('sorts out-of-order evidence newest first', () => {
    const a = failure('web', 'staging', 'ImagePullBackOff', at(2 * HOUR));
    const b = failure('web', 'staging', 'ImagePullBackOff', T0);
    const c = failure('web', 'staging', 'ImagePullBackOff', at(HOUR));
    const graph = fold(a, b, c);
    expect(breaks(graph, 'ImagePullBackOff', 'web', 'staging')!.evidence.map((e) => e.at)).toEqual([
      at(2 * HOUR),
      at(HOUR),
      T0,
    ]);
    for (const e of graph.edges) expect(e.weight).toBeGreaterThanOrEqual(0);
    for (const e of graph.edges) expect(e.weight).toBeLessThanOrEqual(1);
  });

  it('foldAll folds in finish order, whatever order the records come in', () => {
    const observations = [
      failure('web', 'staging', 'ImagePullBackOff', T0),
      deploy('api', 'staging', 'succeeded', at(30 * SECOND)),
      success('web', 'staging', at(HOUR)),
      failure('web', 'prod', 'CrashLoopBackOff', at(2 * HOUR)),
      success('web', 'staging', at(DAY)),
    ];
    const inOrder = observations.reduce(observe, emptyGraph());
    expect(foldAll(observations)).toEqual(inOrder);
    expect(foldAll([...observations].reverse())).toEqual(inOrder);
    expect(
      foldAll([observations[3]!, observations[0]!, observations[4]!, observations[2]!, observations[1]!]),
    ).toEqual(inOrder);
  });

  it('never mutates the graph or the observation it is given', () => {
    const graph = deepFreeze(
      fold(
        failure('web', 'staging', 'ImagePullBackOff', T0),
        deploy('api', 'staging', 'succeeded', at(30 * SECOND)),
      ),
    );
    const before = structuredClone(graph);
    const obs = deepFreeze(success('web', 'staging', at(40 * SECOND)));
    const next = observe(graph, obs);
    expect(graph).toEqual(before);
    expect(next).not.toBe(graph);
    expect(next.observations).toBe(3);
  });

  it('refuses a time that is not an ISO time, as a bug in the caller', () => {
    const bad = { ...success('web', 'staging', T0), finishedAt: 'yesterday' };
    expect(() => observe(emptyGraph(), bad)).toThrow(NopeaError);
    expect(() => observe(emptyGraph(), bad)).toThrow(/"yesterday" is not an ISO time/);
  });
});
