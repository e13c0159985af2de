/**
 * Prune after apply: delete what the guard let through (inventory entries git no longer declares),
 * in reverse apply order, with the chosen propagation policy. Only objects nopea applied are ever
 * deleted: the plan kept every entry whose live object nopea does not manage or whose uid changed,
 * and each DELETE carries the live object's uid and resourceVersion as preconditions, so an object
 * re-created or changed between the plan and the delete is left alone (and reported).
 */
import type { NopeaError } from '../errors.js';
import type { KubeClient } from '../cluster/client.js';
import { describeApiError } from '../cluster/explain.js';
import { deleteObject, type PropagationPolicy } from '../cluster/objects.js';
import type { ResourceCatalog } from '../resources/catalog.js';
import { parseId } from '../resources/object.js';
import { applyWaves } from '../resources/order.js';
import type { PlanEntry } from '../plan/types.js';
import type { ObjectResult } from './execute.js';

export interface PruneOptions {
  propagationPolicy: PropagationPolicy;
  signal?: AbortSignal;
  /** Checked before each wave: an error (the lock was lost) stops the prune; the rest is skipped. */
  mayWrite?: () => NopeaError | undefined;
  onResult?: (r: ObjectResult) => void;
}

/** Deletes the entries wave by wave in reverse apply order; returns one result per entry. */
export async function pruneAll(
  client: KubeClient,
  catalog: ResourceCatalog,
  entries: PlanEntry[],
  opts: PruneOptions,
): Promise<ObjectResult[]> {
  const results: ObjectResult[] = [];
  const waves = applyWaves(entries, (e) => parseId(e.id)).reverse();
  for (const wave of waves) {
    const lost = opts.mayWrite?.();
    const done = await Promise.all(
      wave.map(async (e): Promise<ObjectResult> => {
        if (lost) return { id: e.id, action: 'skipped', stoppedBy: lost };
        if (opts.signal?.aborted) return { id: e.id, action: 'skipped' };
        return pruneOne(client, catalog, e, opts.propagationPolicy);
      }),
    );
    for (const r of done) opts.onResult?.(r);
    results.push(...done);
  }
  return results;
}

async function pruneOne(
  client: KubeClient,
  catalog: ResourceCatalog,
  e: PlanEntry,
  propagationPolicy: PropagationPolicy,
): Promise<ObjectResult> {
  const ref = parseId(e.id);
  const type = catalog.lookup(e.apiVersion, ref.kind).found ?? catalog.anyVersion(ref.group, ref.kind);
  if (!type) return { id: e.id, action: 'pruned' }; // the kind is gone, and its objects with it
  if (!e.live) {
    // The plan prunes only objects it saw live; without their identity there is nothing safe to delete.
    return { id: e.id, action: 'skipped', problem: { message: `${e.id}: not pruned: not seen live` } };
  }
  try {
    const outcome = await deleteObject(client, type, ref.namespace, ref.name, {
      propagationPolicy,
      preconditions: e.live,
    });
    if (outcome !== 'changed') return { id: e.id, action: 'pruned' };
    return {
      id: e.id,
      action: 'skipped',
      problem: {
        message: `${e.id}: not pruned: it was re-created or changed after the plan read it`,
        object: e.id,
        hint: 'the next sync plans it again',
      },
    };
  } catch (err) {
    const problem = describeApiError(err, `prune of ${e.id}`, e.id).problems[0]!;
    return { id: e.id, action: 'failed', problem };
  }
}
