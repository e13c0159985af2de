/**
 * The zod schema of the memory graph as `.nopea/graph.json` stores it. The graph is derived data, so
 * it is checked as a whole before it is used: besides the field types (weights in [0, 1], ISO times,
 * a known format version), every relation joins nodes of the right types that the graph holds, and
 * nothing is listed twice. A file that fails is rebuilt from the deploy records, not trusted.
 */
import { z } from 'zod';
import { nodeId } from './graph.js';
import {
  MEMORY_ERROR_KINDS,
  NODE_TYPES,
  OBSERVED_OUTCOMES,
  RELATIONS,
  type GraphEdge,
  type MemoryGraph,
  type NodeType,
  type Relation,
} from './types.js';

const isoTime = z.iso.datetime({ offset: true });
const id = z.string().min(1);
const count = z.int().nonnegative();
const outcome = z.enum(OBSERVED_OUTCOMES);

export const GraphNodeSchema = z
  .object({ id, type: z.enum(NODE_TYPES), name: z.string() })
  .refine((node) => node.id === nodeId(node.type, node.name), 'a node id is `<type>:<name>`');

export const EvidenceSchema = z.object({
  deployId: id,
  at: isoTime,
  outcome,
  errorKind: z.enum(MEMORY_ERROR_KINDS).optional(),
});

export const GraphEdgeSchema = z.object({
  from: id,
  to: id,
  relation: z.enum(RELATIONS),
  scope: z.string().optional(),
  weight: z.number().min(0).max(1),
  count,
  updatedAt: isoTime,
  evidence: z.array(EvidenceSchema),
});

export const RecentDeploySchema = z.object({
  deployId: id,
  service: z.string(),
  namespace: z.string(),
  startedAt: isoTime,
  finishedAt: isoTime,
  outcome,
  durationMs: z.number().nonnegative(),
});

/** The node types each relation joins, and whether it is scoped to a namespace. */
const RELATION_SHAPES: Record<Relation, { from: NodeType; to: NodeType; scoped: boolean }> = {
  deployed_to: { from: 'service', to: 'namespace', scoped: false },
  breaks: { from: 'error', to: 'service', scoped: true },
  deployed_together: { from: 'service', to: 'service', scoped: false },
};

const ERROR_NODE_IDS: ReadonlySet<string> = new Set(MEMORY_ERROR_KINDS.map((kind) => nodeId('error', kind)));

/** What is wrong with one relation given the graph's nodes; undefined when nothing is. */
function edgeProblem(edge: GraphEdge, types: ReadonlyMap<string, NodeType>): string | undefined {
  const shape = RELATION_SHAPES[edge.relation];
  if (types.get(edge.from) !== shape.from)
    return `${edge.relation} must start at a node of type ${shape.from}`;
  if (types.get(edge.to) !== shape.to) return `${edge.relation} must end at a node of type ${shape.to}`;
  if (shape.scoped !== (edge.scope !== undefined)) {
    return shape.scoped ? `${edge.relation} needs a scope` : `${edge.relation} has no scope`;
  }
  if (edge.relation === 'breaks' && !ERROR_NODE_IDS.has(edge.from)) return `unknown error kind ${edge.from}`;
  return undefined;
}

/** `graph.json`: the memory graph, format version 1. */
export const MemoryGraphSchema = z
  .object({
    format: z.literal(1),
    nodes: z.array(GraphNodeSchema),
    edges: z.array(GraphEdgeSchema),
    recent: z.array(RecentDeploySchema),
    observations: count,
  })
  .check((ctx) => {
    const graph = ctx.value;
    const types = new Map<string, NodeType>();
    graph.nodes.forEach((node, i) => {
      if (types.has(node.id)) ctx.issues.push(issue(`node ${node.id} is listed twice`, ['nodes', i], graph));
      types.set(node.id, node.type);
    });
    const keys = new Set<string>();
    graph.edges.forEach((edge, i) => {
      const key = JSON.stringify([edge.relation, edge.from, edge.to, edge.scope]);
      const problem = keys.has(key) ? 'relation is listed twice' : edgeProblem(edge, types);
      if (problem) ctx.issues.push(issue(problem, ['edges', i], graph));
      keys.add(key);
    });
  }) satisfies z.ZodType<MemoryGraph>;

function issue(message: string, path: (string | number)[], input: unknown): z.core.$ZodRawIssue {
  return { code: 'custom', message, path, input };
}

/** How big a graph is, for `nopea memory`. */
export function graphSize(graph: MemoryGraph): { nodes: number; edges: number; evidence: number } {
  return {
    nodes: graph.nodes.length,
    edges: graph.edges.length,
    evidence: graph.edges.reduce((sum, edge) => sum + edge.evidence.length, 0),
  };
}
