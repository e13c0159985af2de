/**
 * `context`, `explain` and `memory`: what nopea has learned from its deploys, read from the memory
 * graph at the state branch tip (rebuilt from the deploy records when graph.json cannot be used).
 */
import { adviseStrategy, deployContext, topRisks } from '../memory/context.js';
import { MEMORY } from '../memory/constants.js';
import { graphSize } from '../memory/schema.js';
import type { DeployContext, Risk, StrategyAdvice } from '../memory/types.js';
import { serviceNamespace } from './history.js';
import { memoryAt } from './memory.js';
import { openStateView, type StateLocationOptions } from './prepare.js';

export interface ContextResult extends DeployContext {
  /** Set when the graph had to be rebuilt from the deploy records. */
  warning?: string;
}

async function contextFor(
  opts: StateLocationOptions & { service: string; namespace?: string },
): Promise<{ context: ContextResult; threshold: number }> {
  const view = await openStateView(opts);
  const [memory, namespace] = await Promise.all([
    memoryAt(view.store),
    serviceNamespace(view, opts.service, opts.namespace),
  ]);
  const context: ContextResult = deployContext(
    memory.graph,
    opts.service,
    namespace,
    new Date().toISOString(),
  );
  if (memory.warning) context.warning = memory.warning;
  return { context, threshold: view.config?.memory?.canaryThreshold ?? MEMORY.canaryThreshold };
}

/** `nopea context SERVICE [-n NS]`: the deploy context memory holds for the service. */
export async function context(
  opts: StateLocationOptions & { service: string; namespace?: string },
): Promise<ContextResult> {
  return (await contextFor(opts)).context;
}

export interface ExplainResult extends StrategyAdvice {
  service: string;
  namespace: string;
  threshold: number;
  context: ContextResult;
}

/** `nopea explain SERVICE [-n NS]`: what `--strategy auto` would choose now, and why. */
export async function explain(
  opts: StateLocationOptions & { service: string; namespace?: string },
): Promise<ExplainResult> {
  const { context: ctx, threshold } = await contextFor(opts);
  const advice = ctx.known
    ? adviseStrategy(ctx, threshold)
    : {
        strategy: 'direct' as const,
        confidence: 0,
        reasons: [`nopea has no deploy of ${opts.service} in memory yet: auto deploys directly`],
      };
  return { ...advice, service: opts.service, namespace: ctx.namespace, threshold, context: ctx };
}

export interface MemoryResult {
  nodes: number;
  edges: number;
  evidence: number;
  observations: number;
  topRisks: Risk[];
  warning?: string;
}

/** `nopea memory`: the graph's size and the strongest failure patterns across services. */
export async function memorySummary(opts: StateLocationOptions): Promise<MemoryResult> {
  const view = await openStateView(opts);
  const memory = await memoryAt(view.store);
  const size = graphSize(memory.graph);
  const result: MemoryResult = {
    ...size,
    observations: memory.graph.observations,
    topRisks: topRisks(memory.graph, new Date().toISOString(), 10),
  };
  if (memory.warning) result.warning = memory.warning;
  return result;
}
