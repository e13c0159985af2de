/**
 * Prune after apply: delete what the guard let through (inventory entries git no longer declares),
 * in reverse apply order, with the chosen propagation policy.
 */
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
    const done = await Promise.all(
      wave.map(async (e): Promise<ObjectResult> => {
        if (opts.signal?.aborted) return { id: e.id, action: 'skipped' };
        const ref = parseId(e.id);
        const type = catalog.lookup(e.apiVersion, ref.kind).found ?? catalog.anyVersion(ref.group, ref.kind);
        if (!type) return { id: e.id, action: 'pruned' }; // the kind is gone, and its objects with it
        try {
          await deleteObject(client, type, ref.namespace, ref.name, {
            propagationPolicy: opts.propagationPolicy,
          });
          return { id: e.id, action: 'pruned' };
        } catch (err) {
          const problem = describeApiError(err, `prune of ${e.id}`, e.id).problems[0]!;
          return { id: e.id, action: 'failed', problem };
        }
      }),
    );
    for (const r of done) opts.onResult?.(r);
    results.push(...done);
  }
  return results;
}
