import { describe, expect, it } from 'vitest';
import { MEMORY } from '../../../src/memory/constants.js';
import { emptyGraph, foldAll, observe } from '../../../src/memory/graph.js';
import { graphSize, MemoryGraphSchema } from '../../../src/memory/schema.js';
import { MEMORY_ERROR_KINDS, type MemoryGraph, type Observation } from '../../../src/memory/types.js';
import { DAY, MINUTE, REALISTIC, realisticObservations, T0 } from './fixtures.js';

const S = REALISTIC.services.length;
const N = REALISTIC.namespaces.length;
const K = MEMORY_ERROR_KINDS.length;

/** The bounds graph.ts states for S services, N namespaces and K error kinds. */
function expectWithinBounds(graph: MemoryGraph, services: number = S): void {
  const size = graphSize(graph);
  expect(size.nodes).toBeLessThanOrEqual(services + N + K);
  expect(size.edges).toBeLessThanOrEqual(services * N + services * N * K + (services * (services - 1)) / 2);
  expect(size.evidence).toBeLessThanOrEqual(size.edges * MEMORY.evidencePerRelation);
  for (const edge of graph.edges)
    expect(edge.evidence.length).toBeLessThanOrEqual(MEMORY.evidencePerRelation);
  expect(graph.recent.length).toBeLessThanOrEqual(MEMORY.recentDeploys);
}

describe('bounded size', () => {
  it('stays within its bounds while 10,000 realistic observations are folded one by one, across weeks', () => {
    // In the order the records are committed: as each deploy finishes.
    const observations = realisticObservations(10_000).sort(
      (a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt),
    );
    const spanDays = (Date.parse(observations.at(-1)!.finishedAt) - Date.parse(T0)) / DAY;
    expect(spanDays).toBeGreaterThan(28);
    let graph = emptyGraph();
    for (const [i, obs] of observations.entries()) {
      graph = observe(graph, obs);
      if (i % 500 === 0) expectWithinBounds(graph);
    }
    expectWithinBounds(graph);
    expect(graph.observations).toBe(10_000);
    expect(graph.recent).toHaveLength(MEMORY.recentDeploys);
    // Every kind of relation was exercised, and the graph is still a valid graph.json.
    expect(new Set(graph.edges.map((e) => e.relation))).toEqual(
      new Set(['deployed_to', 'breaks', 'deployed_together']),
    );
    expect(MemoryGraphSchema.safeParse(JSON.parse(JSON.stringify(graph))).success).toBe(true);
    // Rebuilding from the same records gives the same graph.
    expect(foldAll(observations)).toEqual(graph);
  }, 60_000);

  it('forgets services not deployed for two weeks, however many names come and go', () => {
    // 10,000 services, each deployed once, one every 5 minutes (about 35 days).
    const observations: Observation[] = Array.from({ length: 10_000 }, (_, i) => ({
      deployId: `d${i}`,
      service: `svc-${i}`,
      namespace: REALISTIC.namespaces[i % N]!,
      outcome: i % 7 === 0 ? 'failed' : 'succeeded',
      errorKinds: i % 7 === 0 ? [MEMORY_ERROR_KINDS[i % K]!] : [],
      strategy: 'direct',
      startedAt: new Date(Date.parse(T0) + i * 5 * MINUTE).toISOString(),
      finishedAt: new Date(Date.parse(T0) + i * 5 * MINUTE + MINUTE).toISOString(),
    }));
    const graph = foldAll(observations);
    // What can still be there: the deploys of the last ~13.3 days (see MEMORY.floor).
    const horizonMs = MEMORY.halfLifeMs * Math.log2(1 / MEMORY.floor);
    const withinHorizon = Math.ceil(horizonMs / (5 * MINUTE)) + 1;
    const services = graph.nodes.filter((n) => n.type === 'service').length;
    expect(services).toBeLessThanOrEqual(withinHorizon);
    expect(services).toBeLessThan(4_000);
    expectWithinBounds(graph, withinHorizon);
  });
});
