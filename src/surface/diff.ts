/**
 * `diff`: what a sync would do, for every selected service, without changing anything.
 */
import type { RequestStats } from '../cluster/client.js';
import type { Plan } from '../plan/types.js';
import type { RunOptions } from './options.js';
import { openRun, prepareService } from './prepare.js';

export interface DiffResult {
  plans: Plan[];
  /** API requests made, by verb (undefined offline). */
  requests?: RequestStats;
}

/** Plans every selected service. */
export async function diff(opts: RunOptions): Promise<DiffResult> {
  const ctx = await openRun(opts);
  try {
    const plans: Plan[] = [];
    for (const spec of ctx.services) plans.push((await prepareService(ctx, spec, opts)).plan);
    const result: DiffResult = { plans };
    if (ctx.client) result.requests = ctx.client.stats;
    return result;
  } finally {
    ctx.client?.close();
  }
}
