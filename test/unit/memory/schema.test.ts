import { describe, expect, it } from 'vitest';
import { foldAll } from '../../../src/memory/graph.js';
import { graphSize, MemoryGraphSchema } from '../../../src/memory/schema.js';
import type { MemoryGraph } from '../../../src/memory/types.js';
import { at, deploy, failure, HOUR, MINUTE, success, T0 } from './fixtures.js';

function sample(): MemoryGraph {
  return foldAll([
    failure('web', 'staging', 'ImagePullBackOff', T0),
    deploy('api', 'staging', 'succeeded', at(30 * 1000)),
    success('web', 'staging', at(HOUR)),
  ]);
}

function problems(graph: unknown): string[] {
  const result = MemoryGraphSchema.safeParse(graph);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('MemoryGraphSchema', () => {
  it('accepts what observe makes, round-tripped through JSON', () => {
    const graph = sample();
    expect(problems(JSON.parse(JSON.stringify(graph)))).toEqual([]);
    expect(MemoryGraphSchema.parse(JSON.parse(JSON.stringify(graph)))).toEqual(graph);
  });

  it('refuses another format version, weights outside [0, 1] and times that are not ISO', () => {
    const graph = sample();
    expect(problems({ ...graph, format: 2 })).not.toEqual([]);
    expect(
      problems({ ...graph, edges: [{ ...graph.edges[0]!, weight: 1.5 }, ...graph.edges.slice(1)] }),
    ).toEqual(['edges.0.weight: Too big: expected number to be <=1']);
    expect(
      problems({ ...graph, edges: [{ ...graph.edges[0]!, weight: -0.1 }, ...graph.edges.slice(1)] }),
    ).toHaveLength(1);
    expect(
      problems({
        ...graph,
        edges: [{ ...graph.edges[0]!, updatedAt: 'yesterday' }, ...graph.edges.slice(1)],
      }),
    ).toHaveLength(1);
    expect(problems({ ...graph, recent: [{ ...graph.recent[0]!, finishedAt: '2026-03-02' }] })).toHaveLength(
      1,
    );
  });

  it('refuses relations that join nodes the graph does not hold, or of the wrong types', () => {
    const graph = sample();
    const breaks = graph.edges.find((e) => e.relation === 'breaks')!;
    expect(problems({ ...graph, nodes: graph.nodes.filter((n) => n.type !== 'error') })).toEqual([
      `edges.${graph.edges.indexOf(breaks)}: breaks must start at a node of type error`,
    ]);
    expect(problems({ ...graph, edges: [...graph.edges, { ...breaks, scope: undefined }] })).toContain(
      `edges.${graph.edges.length}: breaks needs a scope`,
    );
    expect(problems({ ...graph, edges: [...graph.edges, breaks] })).toEqual([
      `edges.${graph.edges.length}: relation is listed twice`,
    ]);
    expect(
      problems({
        ...graph,
        nodes: [...graph.nodes, { id: 'error:Typo', type: 'error', name: 'Typo' }],
        edges: [...graph.edges, { ...breaks, from: 'error:Typo' }],
      }),
    ).toEqual([`edges.${graph.edges.length}: unknown error kind error:Typo`]);
    expect(
      problems({ ...graph, nodes: [...graph.nodes, { id: 'service:x', type: 'service', name: 'y' }] }),
    ).toEqual([`nodes.${graph.nodes.length}: a node id is \`<type>:<name>\``]);
    expect(problems({ ...graph, nodes: [...graph.nodes, graph.nodes[0]] })).toEqual([
      `nodes.${graph.nodes.length}: node service:web is listed twice`,
    ]);
  });
});

describe('graphSize', () => {
  it('counts nodes, relations and evidence entries', () => {
    const graph = foldAll([
      failure('web', 'staging', 'ImagePullBackOff', T0),
      failure('web', 'staging', 'ImagePullBackOff', at(MINUTE)),
    ]);
    // deployed_to and breaks, two pieces of evidence each.
    expect(graphSize(graph)).toEqual({ nodes: 3, edges: 2, evidence: 4 });
  });
});
