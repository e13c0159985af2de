/**
 * `diff`: what a sync would do, for every selected service, without changing anything.
 */
import { NopeaError } from '../errors.js';
import type { RequestStats } from '../cluster/client.js';
import { refusedBeforeWrite } from '../cluster/explain.js';
import { withPruningOff, type Plan } from '../plan/types.js';
import type { RunOptions } from './options.js';
import type { StageTiming } from './sync-types.js';
import { openRun, prepareService } from './prepare.js';

export interface DiffResult {
  plans: Plan[];
  /** API requests made, by verb (undefined offline). */
  requests?: RequestStats;
  /** How long each stage took: the state branch, discovery, manifests, each service's state and plan. */
  stages?: StageTiming[];
}

/** Plans every selected service. */
export async function diff(opts: RunOptions): Promise<DiffResult> {
  try {
    return await planAll(opts);
  } catch (err) {
    // diff never writes: missing credentials or RBAC rights are a configuration problem (exit 2).
    throw err instanceof NopeaError ? refusedBeforeWrite(err) : err;
  }
}

async function planAll(opts: RunOptions): Promise<DiffResult> {
  const ctx = await openRun(opts);
  try {
    const plans: Plan[] = [];
    for (const spec of ctx.services) {
      const { plan } = await prepareService(ctx, spec, opts);
      // diff has no --prune override: the service's setting says what a sync would do.
      plans.push(spec.prune ? plan : withPruningOff(plan));
    }
    const result: DiffResult = { plans, stages: ctx.timer.stages };
    if (ctx.client) result.requests = ctx.client.stats;
    return result;
  } finally {
    ctx.client?.close();
  }
}
