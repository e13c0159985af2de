/**
 * The direct strategy: server-side apply of every changed object in dependency order, prune of
 * what git no longer declares, then a wait until every desired object is healthy.
 */
import { NopeaError, cancelledError, type Problem } from '../errors.js';
import { applyAll, applyFailure } from '../apply/execute.js';
import { pruneAll } from '../apply/prune.js';
import { formatDiagnosis, waitForHealth } from '../health/wait.js';
import type { Applied, ApplySettings, Change, Strategy, WaitSettings, Waited } from './types.js';

async function apply(change: Change, settings: ApplySettings): Promise<Applied> {
  const { client, catalog, clock, signal } = change;
  const onResult = change.onObject;
  change.onStage?.('apply');
  const applyOpts: Parameters<typeof applyAll>[2] = {
    forceConflicts: settings.forceConflicts,
    recreateOnImmutable: settings.recreateOnImmutable,
  };
  if (onResult) applyOpts.onResult = onResult;
  if (signal) applyOpts.signal = signal;
  if (change.mayWrite) applyOpts.mayWrite = change.mayWrite;
  const objects = await clock.time('apply', () => applyAll(client, change.items, applyOpts));
  const failedApply = applyFailure(objects);
  if (failedApply) return { objects, error: failedApply };
  if (signal?.aborted) return { objects, error: cancelledError() };
  if (change.guard.prune.length === 0) return { objects };

  change.onStage?.('prune');
  const pruneOpts: Parameters<typeof pruneAll>[3] = { propagationPolicy: settings.propagationPolicy };
  if (onResult) pruneOpts.onResult = onResult;
  if (signal) pruneOpts.signal = signal;
  if (change.mayWrite) pruneOpts.mayWrite = change.mayWrite;
  const pruned = await clock.time('prune', () => pruneAll(client, catalog, change.guard.prune, pruneOpts));
  objects.push(...pruned);
  const failedPrune = applyFailure(pruned);
  if (failedPrune) return { objects, error: failedPrune };
  if (signal?.aborted) return { objects, error: cancelledError() };
  return { objects };
}

async function wait(change: Change, settings: WaitSettings): Promise<Waited> {
  const { client, catalog, clock, signal } = change;
  change.onStage?.('wait');
  const waitOpts: Parameters<typeof waitForHealth>[3] = { timeoutMs: settings.timeoutMs };
  if (change.onHealth) waitOpts.onProgress = change.onHealth;
  if (signal) waitOpts.signal = signal;
  if (change.seen) waitOpts.seen = change.seen;
  const health = await clock.time('wait', () => waitForHealth(client, catalog, change.targets, waitOpts));
  if (signal?.aborted) return { health, error: cancelledError() };
  if (health.ok) return { health };
  // A timeout is its own reason; a clear failure carries the object's (ImagePullBackOff, ...).
  const problems: Problem[] = health.failures.map((f) => ({
    message: formatDiagnosis(f),
    object: f.id,
    reason: health.timedOut ? 'HealthTimeout' : f.reason,
  }));
  const what = health.timedOut
    ? `not healthy within ${Math.round(settings.timeoutMs / 1000)} s`
    : 'failed its health check';
  const headline: Problem = { message: `service ${change.service} ${what}` };
  if (health.timedOut) headline.reason = 'HealthTimeout';
  return { health, error: new NopeaError('deploy', [headline, ...problems]) };
}

/** Apply, prune, wait for health. */
export const direct: Strategy = { name: 'direct', apply, wait };
