import { describe, expect, it } from 'vitest';
import { MEMORY } from '../../../src/memory/constants.js';
import { adviseStrategy, ageText, deployContext, topRisks } from '../../../src/memory/context.js';
import { emptyGraph, observe } from '../../../src/memory/graph.js';
import type { MemoryGraph, Observation } from '../../../src/memory/types.js';
import { at, DAY, deploy, failure, HOUR, MINUTE, success, T0 } from './fixtures.js';

function fold(...observations: Observation[]): MemoryGraph {
  return observations.reduce(observe, emptyGraph());
}

/** What `--strategy auto` advises for `service` in `namespace` at `now`. */
function advise(graph: MemoryGraph, service: string, namespace: string, now: string, threshold?: number) {
  return adviseStrategy(deployContext(graph, service, namespace, now), threshold);
}

/**
 * How many successes, one every `gapMs` after `failures` failures of web in staging (also `gapMs`
 * apart), it takes until the next deploy is advised `direct`; with the confidences on the way.
 */
function successesUntilDirect(failures: number, gapMs: number): { successes: number; confidences: number[] } {
  let graph = emptyGraph();
  let t = 0;
  for (let i = 0; i < failures; i++, t += gapMs)
    graph = observe(graph, failure('web', 'staging', 'ImagePullBackOff', at(t)));
  const confidences: number[] = [];
  for (let successes = 0; successes < 50; successes++) {
    const advice = advise(graph, 'web', 'staging', at(t));
    confidences.push(advice.confidence);
    if (advice.strategy === 'direct') return { successes, confidences };
    graph = observe(graph, success('web', 'staging', at(t)));
    t += gapMs;
  }
  throw new Error('never advised direct');
}

describe('the advice the memory issue pins', () => {
  it('one ImagePullBackOff failure → the next auto deploy is canary, naming the kind, its confidence and when', () => {
    const graph = fold(failure('web', 'staging', 'ImagePullBackOff', T0));
    const advice = advise(graph, 'web', 'staging', at(MINUTE));
    expect(advice.strategy).toBe('canary');
    expect(advice.confidence).toBeCloseTo(0.5 * 2 ** (-MINUTE / MEMORY.halfLifeMs), 15);
    expect(advice.reasons).toEqual([
      `ImagePullBackOff broke web in staging once, last seen 1 minute ago (${T0}): confidence 0.50 is above the canary threshold 0.30`,
    ]);
  });

  it('after that single failure, 2 successes bring it back to direct (0.5 → 0.35 → 0.245)', () => {
    const exact = successesUntilDirect(1, 0);
    expect(exact.successes).toBe(2);
    expect(exact.confidences[0]).toBe(0.5);
    expect(exact.confidences[1]).toBeCloseTo(0.35, 15);
    expect(exact.confidences[2]).toBeCloseTo(0.245, 15);
    // Deploys an hour apart decay a little on the way: still two.
    expect(successesUntilDirect(1, HOUR).successes).toBe(2);
  });

  it('after 3 failures in a row (0.875) it takes 4 successes', () => {
    const exact = successesUntilDirect(3, 0);
    expect(exact.successes).toBe(4);
    expect(exact.confidences).toHaveLength(5);
    [0.875, 0.6125, 0.42875, 0.300125, 0.2100875].forEach((c, i) =>
      expect(exact.confidences[i]).toBeCloseTo(c, 15),
    );
  });

  it('the advice is monotone in the evidence: more failures never take fewer successes', () => {
    for (const gap of [0, MINUTE, HOUR, 6 * HOUR]) {
      const needed = [1, 2, 3, 4, 5].map((n) => successesUntilDirect(n, gap).successes);
      for (let i = 1; i < needed.length; i++) expect(needed[i]).toBeGreaterThanOrEqual(needed[i - 1]!);
      expect(needed[2]).toBeGreaterThan(needed[0]!);
    }
  });

  it('a failure 14 days old with no deploy since no longer changes the advice', () => {
    const graph = fold(failure('web', 'staging', 'ImagePullBackOff', T0));
    const context = deployContext(graph, 'web', 'staging', at(14 * DAY));
    // 0.5 · 2^−7 = 0.0039 is below the floor: no pattern left.
    expect(context.failurePatterns).toEqual([]);
    expect(adviseStrategy(context)).toEqual({
      strategy: 'direct',
      confidence: 0,
      reasons: ['no failure pattern above 0.30 for web in staging'],
    });
  });

  it('one failure advises canary for about 35 hours with no deploy since (the original: 60)', () => {
    const graph = fold(failure('web', 'staging', 'ImagePullBackOff', T0));
    expect(advise(graph, 'web', 'staging', at(35 * HOUR)).strategy).toBe('canary');
    expect(advise(graph, 'web', 'staging', at(36 * HOUR)).strategy).toBe('direct');
    expect(advise(graph, 'web', 'staging', at(36 * HOUR)).reasons).toEqual([
      'no failure pattern above 0.30 for web in staging',
      `the strongest: ImagePullBackOff broke web in staging once, last seen 1 day ago (${T0}): confidence 0.297 is not above the canary threshold 0.30`,
    ]);
  });

  it("staging's failures shape staging's advice; elsewhere they are information at a quarter of their weight", () => {
    const graph = fold(
      ...[0, 1, 2].map(() => failure('web', 'staging', 'ImagePullBackOff', T0)),
      success('web', 'prod', T0),
    );
    expect(advise(graph, 'web', 'staging', T0).strategy).toBe('canary');

    const prod = deployContext(graph, 'web', 'prod', T0);
    expect(prod.failurePatterns).toEqual([
      {
        errorKind: 'ImagePullBackOff',
        namespace: 'staging',
        confidence: 0.875,
        observations: 3,
        lastSeen: T0,
        sameNamespace: false,
      },
    ]);
    const direct = adviseStrategy(prod);
    expect(direct.strategy).toBe('direct');
    expect(direct.confidence).toBe(0.21875);
    expect(direct.reasons[1]).toBe(
      `the strongest: ImagePullBackOff broke web in staging 3 times, last seen just now (${T0}): confidence 0.88 there counts 0.22 in prod (other namespaces count at 0.25), not above the canary threshold 0.30`,
    );
    // They count, at the reduced weight, against a lower threshold.
    expect(adviseStrategy(prod, 0.2)).toMatchObject({ strategy: 'canary', confidence: 0.21875 });
    // However strong, another namespace's pattern never reaches the default threshold alone.
    expect(1 * MEMORY.otherNamespaceWeight).toBeLessThan(MEMORY.canaryThreshold);
  });

  it("a success in prod does not lower staging's patterns", () => {
    const graph = fold(
      failure('web', 'staging', 'ImagePullBackOff', T0),
      success('web', 'prod', T0),
      success('web', 'prod', T0),
    );
    expect(advise(graph, 'web', 'staging', T0)).toMatchObject({ strategy: 'canary', confidence: 0.5 });
  });
});

describe('deployContext', () => {
  it('knows nothing of a service never deployed, and says so', () => {
    expect(deployContext(emptyGraph(), 'web', 'staging', T0)).toEqual({
      service: 'web',
      namespace: 'staging',
      asOf: T0,
      known: false,
      failurePatterns: [],
      recentOutcomes: [],
      deployedWith: [],
      recommendations: [
        'nopea remembers no deploy of web in staging yet, so there is nothing to learn from: auto deploys it directly',
      ],
    });
  });

  it('reports patterns, the last 10 outcomes newest first, success rate, mean duration and recommendations', () => {
    const observations = [
      ...Array.from({ length: 9 }, (_, i) => success('web', 'staging', at(i * MINUTE))),
      ...[0, 1, 2].map((i) =>
        deploy('web', 'staging', 'failed', at((10 + i) * MINUTE), ['ImagePullBackOff'], 3 * MINUTE),
      ),
      success('web', 'prod', at(20 * MINUTE)),
    ];
    const graph = fold(...observations);
    const now = at(12 * MINUTE + 2 * HOUR);
    const context = deployContext(graph, 'web', 'staging', now);
    expect(context.known).toBe(true);
    expect(context.recentOutcomes).toEqual([
      'failed',
      'failed',
      'failed',
      ...Array.from({ length: 7 }, () => 'succeeded'),
    ]);
    expect(context.successRate).toBe(0.7);
    expect(context.meanDurationMs).toBe(((3 * 3 + 7 * 1) * MINUTE) / 10);
    const pattern = context.failurePatterns[0]!;
    expect(pattern).toMatchObject({
      errorKind: 'ImagePullBackOff',
      observations: 3,
      lastSeen: at(12 * MINUTE),
    });
    expect(pattern.confidence.toFixed(2)).toBe('0.85');
    expect(context.recommendations).toEqual([
      'ImagePullBackOff broke web in staging 3 times, last seen 2 hours ago (confidence 0.85): deploy with canary; check the image tag and registry credentials',
    ]);
  });

  it('orders this namespace first, strongest first, then the others', () => {
    const graph = fold(
      failure('web', 'prod', 'CrashLoopBackOff', T0),
      failure('web', 'prod', 'CrashLoopBackOff', T0),
      failure('web', 'staging', 'HealthTimeout', T0),
      failure('web', 'staging', 'ImagePullBackOff', T0),
      failure('web', 'staging', 'ImagePullBackOff', T0),
      success('web', 'staging', T0),
      failure('web', 'staging', 'ImagePullBackOff', T0),
    );
    const context = deployContext(graph, 'web', 'staging', T0);
    expect(context.failurePatterns.map((p) => [p.errorKind, p.namespace, p.confidence])).toEqual([
      ['ImagePullBackOff', 'staging', 0.7625],
      ['HealthTimeout', 'staging', 0.35],
      ['CrashLoopBackOff', 'prod', 0.75],
    ]);
    expect(context.recommendations).toEqual([
      'ImagePullBackOff broke web in staging 3 times, last seen just now (confidence 0.76): deploy with canary; check the image tag and registry credentials',
      'HealthTimeout broke web in staging once, last seen just now (confidence 0.35): deploy with canary; check readiness, or raise the health timeout if the rollout is just slow',
      "CrashLoopBackOff broke web in prod 2 times, last seen just now (confidence 0.75 there, counting 0.19 in staging): the same cause may break staging; check the container's logs and the configuration it starts with",
      'only 1 of the last 5 deploys of web in staging succeeded: read `nopea history web` before deploying again',
    ]);
    expect(adviseStrategy(context).reasons).toHaveLength(2);
  });

  it('reports the services deployed at the same time, and a low success rate', () => {
    const graph = fold(
      ...[0, HOUR, 2 * HOUR].flatMap((t) => [
        deploy('web', 'prod', 'failed', at(t + 5 * MINUTE), ['RolloutFailed'], 5 * MINUTE),
        deploy('api', 'prod', 'succeeded', at(t + 4 * MINUTE), [], 2 * MINUTE),
      ]),
      success('web', 'prod', at(3 * HOUR)),
    );
    const now = at(3 * HOUR);
    const context = deployContext(graph, 'web', 'prod', now);
    expect(context.deployedWith).toHaveLength(1);
    expect(context.deployedWith[0]).toMatchObject({ service: 'api', count: 3 });
    expect(context.successRate).toBe(0.25);
    expect(context.recommendations.slice(1)).toEqual([
      'only 1 of the last 4 deploys of web in prod succeeded: read `nopea history web` before deploying again',
      `web was deployed at the same time as api 3 times (weight ${context.deployedWith[0]!.weight.toFixed(2)}): when web fails, check whether api's deploy changed something it depends on`,
    ]);
  });

  it('decays a pattern below the threshold: a direct deploy is advised, with what to check if it recurs', () => {
    const graph = fold(failure('web', 'staging', 'CrashLoopBackOff', T0));
    const context = deployContext(graph, 'web', 'staging', at(4 * DAY));
    expect(context.failurePatterns[0]!.confidence).toBeCloseTo(0.125, 15);
    expect(context.recommendations).toEqual([
      "CrashLoopBackOff broke web in staging once, last seen 4 days ago (confidence 0.13, not above the canary threshold 0.30): a direct deploy is advised; if it recurs, check the container's logs and the configuration it starts with",
    ]);
  });
});

describe('topRisks', () => {
  it('lists the strongest patterns across services and namespaces, decayed to now', () => {
    const graph = fold(
      failure('web', 'staging', 'ImagePullBackOff', T0),
      failure('web', 'staging', 'ImagePullBackOff', T0),
      failure('api', 'prod', 'Forbidden', T0),
      failure('worker', 'dev', 'JobFailed', at(-12 * DAY)),
    );
    const now = at(2 * DAY);
    expect(topRisks(graph, now).map((r) => [r.service, r.namespace, r.errorKind, r.confidence])).toEqual([
      ['web', 'staging', 'ImagePullBackOff', 0.375],
      ['api', 'prod', 'Forbidden', 0.25],
    ]);
    expect(topRisks(graph, now, 1)).toEqual([
      {
        service: 'web',
        namespace: 'staging',
        errorKind: 'ImagePullBackOff',
        confidence: 0.375,
        observations: 2,
        lastSeen: T0,
      },
    ]);
  });
});

describe('ageText', () => {
  it('says how long ago in words', () => {
    expect([0, 59_000, MINUTE, 5 * MINUTE, HOUR, 23 * HOUR, DAY, 3 * DAY, -MINUTE].map(ageText)).toEqual([
      'just now',
      'just now',
      '1 minute ago',
      '5 minutes ago',
      '1 hour ago',
      '23 hours ago',
      '1 day ago',
      '3 days ago',
      'just now',
    ]);
  });
});
