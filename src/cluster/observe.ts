/**
 * Reading what the plan needs from the cluster with a small request budget: one server-side dry-run
 * per desired object, and live objects by LIST per kind and namespace where that takes fewer
 * requests than a GET each.
 */
import { NopeaError, type Problem } from '../errors.js';
import type { ResourceCatalog, ResourceType } from '../resources/catalog.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import { formatId, parseId, type KubeObject, type ResourceId } from '../resources/object.js';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';
import { describeApiError } from './explain.js';
import { applyObject, getObject, listObjects } from './objects.js';

/** Groups of at least this many objects of one kind and namespace are read with one LIST. */
const LIST_THRESHOLD = 3;

export interface LiveTarget {
  id: ResourceId;
  type: ResourceType;
}

/** Reads live objects by id, choosing LIST or GET per kind and namespace. Missing objects map to undefined. */
export async function readLive(
  client: KubeClient,
  targets: LiveTarget[],
): Promise<Map<ResourceId, KubeObject | undefined>> {
  const groups = new Map<string, LiveTarget[]>();
  for (const t of targets) {
    const ref = parseId(t.id);
    const key = `${t.type.group}/${t.type.version}/${t.type.plural}/${ref.namespace}`;
    const list = groups.get(key) ?? [];
    list.push(t);
    groups.set(key, list);
  }
  const out = new Map<ResourceId, KubeObject | undefined>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const first = group[0]!;
      const ns = parseId(first.id).namespace;
      if (group.length >= LIST_THRESHOLD && first.type.verbs.includes('list')) {
        try {
          const items = await listObjects(client, first.type, ns || undefined);
          const byName = new Map(items.map((i) => [i.metadata.name, i]));
          for (const t of group) out.set(t.id, byName.get(parseId(t.id).name));
          return;
        } catch (err) {
          // RBAC may allow get but not list: fall back to one GET each.
          if (!(err instanceof ApiError && err.status === 403)) throw err;
        }
      }
      await Promise.all(
        group.map(async (t) => {
          const ref = parseId(t.id);
          out.set(t.id, await getObject(client, t.type, ref.namespace, ref.name));
        }),
      );
    }),
  );
  return out;
}

export interface DryRunResult {
  /** Server's would-be object per id. */
  results: Map<ResourceId, KubeObject>;
  /** Ids that could not be dry-run yet, with why (their CRD or namespace is created by this change). */
  deferred: Map<ResourceId, string>;
}

/**
 * Dry-runs every desired object (force: the plan computes conflicts itself from managedFields).
 * Objects whose CRD or namespace is created by the same change cannot be dry-run and are deferred.
 * Invalid objects fail the whole plan with one input error naming each file and line.
 */
export async function dryRunAll(client: KubeClient, desired: DesiredObject[]): Promise<DryRunResult> {
  const results = new Map<ResourceId, KubeObject>();
  const deferred = new Map<ResourceId, string>();
  const newNamespaces = new Set(
    desired.filter((d) => d.ref.group === '' && d.ref.kind === 'Namespace').map((d) => d.ref.name),
  );
  const problems: Problem[] = [];
  let clusterError: unknown;
  await Promise.all(
    desired.map(async (d) => {
      if (d.crdPending) {
        deferred.set(d.id, `its CRD is applied by this sync first; the server validates it then`);
        return;
      }
      try {
        results.set(
          d.id,
          await applyObject(client, d.type, intentOf(d.object), { dryRun: true, force: true }),
        );
      } catch (err) {
        if (
          err instanceof ApiError &&
          err.status === 404 &&
          d.ref.namespace &&
          newNamespaces.has(d.ref.namespace) &&
          /namespaces? .*not found/i.test(err.message)
        ) {
          deferred.set(
            d.id,
            `namespace ${d.ref.namespace} is created by this sync first; the server validates it then`,
          );
          return;
        }
        if (err instanceof ApiError && (err.status === 400 || err.status === 422)) {
          problems.push({
            message: `the cluster rejects ${formatId(d.ref)}: ${err.message}`,
            origin: d.origin,
            object: d.id,
            hint: 'fix the manifest; nothing was changed',
          });
          return;
        }
        clusterError ??= describeApiError(err, `dry-run apply of ${d.id}`);
      }
    }),
  );
  if (problems.length > 0) throw new NopeaError('input', problems);
  if (clusterError) throw clusterError;
  return { results, deferred };
}

/** Desired objects' ids paired with their types, plus prune candidates resolved through the catalog. */
export function liveTargets(
  desired: DesiredObject[],
  others: { id: ResourceId; apiVersion: string }[],
  catalog: ResourceCatalog,
): LiveTarget[] {
  const out: LiveTarget[] = desired.filter((d) => !d.crdPending).map((d) => ({ id: d.id, type: d.type }));
  for (const o of others) {
    const ref = parseId(o.id);
    const found = catalog.lookup(o.apiVersion, ref.kind).found ?? catalog.anyVersion(ref.group, ref.kind);
    // A kind the cluster no longer serves has no live objects left to read.
    if (found) out.push({ id: o.id, type: found });
  }
  return out;
}
