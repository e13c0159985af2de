/**
 * Memory as the facade reads and writes it: the graph at a state branch tip — `.nopea/graph.json`,
 * or, when that is missing, corrupt or of a format this nopea does not know, rebuilt from the deploy
 * records still on the branch (derived data is never trusted blindly, and never a reason to fail a
 * run) — and the observation a deploy record makes.
 */
import { NopeaError } from '../errors.js';
import { errorKindsOf } from '../memory/error-kinds.js';
import { emptyGraph, foldAll } from '../memory/graph.js';
import type { MemoryGraph, Observation, ObservedOutcome } from '../memory/types.js';
import type { DeployRecord } from '../state/format.js';
import type { StateReader } from '../state/reader.js';

/** The graph at a tip, and a warning when it had to be rebuilt. */
export interface MemoryAt {
  graph: MemoryGraph;
  warning?: string;
}

/** What memory learns from one deploy record: nothing from one that has not ended or was replaced. */
export function observationOf(record: DeployRecord): Observation | undefined {
  if (record.outcome === 'paused' || record.outcome === 'superseded') return undefined;
  const outcome: ObservedOutcome = record.outcome;
  return {
    deployId: record.id,
    service: record.service,
    namespace: record.namespace,
    outcome,
    errorKinds: errorKindsOf(record.error, outcome),
    strategy: record.strategy.name,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  };
}

/** Every deploy record on the branch, folded into a fresh graph. */
async function rebuild(reader: StateReader): Promise<{ graph: MemoryGraph; records: number }> {
  const records: DeployRecord[] = [];
  for (const service of await reader.listServices()) records.push(...(await reader.listDeploys(service)));
  return {
    graph: foldAll(records.flatMap((r) => observationOf(r) ?? [])),
    records: records.length,
  };
}

/** The memory graph at `reader`'s tip; rebuilt (with a warning) when graph.json cannot be used. */
export async function memoryAt(reader: StateReader): Promise<MemoryAt> {
  if (!reader.tip) return { graph: emptyGraph() };
  let why: string;
  try {
    const graph = await reader.readGraph();
    if (graph) return { graph };
    why = '.nopea/graph.json is missing';
  } catch (err) {
    // A corrupt or unknown-format graph is a state error about that one file: rebuild it.
    if (!(err instanceof NopeaError) || err.kind !== 'state') throw err;
    why = err.problems[0]?.message ?? err.message;
  }
  const { graph, records } = await rebuild(reader);
  if (records === 0) return { graph };
  return { graph, warning: `${why}; memory was rebuilt from the ${records} deploy record(s) on the branch` };
}
