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
import { isSecret } from '../resources/secrets.js';
import type { KubeClient } from './client.js';
import { ApiError, invalidObjectReason } from './errors.js';
import { describeApiError } from './explain.js';
import { applyObject, getObject, listObjects } from './objects.js';

/** Groups of at least this many objects of one kind and namespace are read with one LIST. */
const LIST_THRESHOLD = 3;

export interface LiveTarget {
  id: ResourceId;
  type: ResourceType;
}

/** Targets by kind and namespace: the unit one LIST reads. */
function byKindAndNamespace(targets: LiveTarget[]): Map<string, LiveTarget[]> {
  const groups = new Map<string, LiveTarget[]>();
  for (const t of targets) {
    const ref = parseId(t.id);
    const key = `${t.type.group}/${t.type.version}/${t.type.plural}/${ref.namespace}`;
    const list = groups.get(key) ?? [];
    list.push(t);
    groups.set(key, list);
  }
  return groups;
}

/** Whether a group is read with one LIST rather than a GET per object. */
function listed(group: LiveTarget[]): boolean {
  return group.length >= LIST_THRESHOLD && group[0]!.type.verbs.includes('list');
}

/** LISTs sent ahead, by the group key of `byKindAndNamespace`. */
export type EarlyLists = Map<string, Promise<KubeObject[]>>;

/**
 * LISTs sent ahead of the plan, per service, for the kinds and namespaces its last deploy's inventory
 * holds, so they are answered while the manifests are still being parsed. A plan takes all of its
 * service's at once: what it does not use is dropped with them, and a plan made again (under the
 * lock, say) reads the cluster anew.
 */
export class ListsAhead {
  private readonly pending = new Map<string, EarlyLists>();

  constructor(private readonly client: KubeClient) {}

  /** Sends the LISTs that reading `targets` would send, unless the service has one pending for a group. */
  start(service: string, targets: LiveTarget[]): void {
    const lists = this.pending.get(service) ?? new Map<string, Promise<KubeObject[]>>();
    this.pending.set(service, lists);
    for (const [key, group] of byKindAndNamespace(targets)) {
      if (lists.has(key) || !listed(group)) continue;
      const first = group[0]!;
      const listing = listObjects(this.client, first.type, parseId(first.id).namespace || undefined);
      listing.catch(() => undefined);
      lists.set(key, listing);
    }
  }

  /** The service's LISTs sent ahead, taken once: later calls get none until `start` sends more. */
  take(service: string): EarlyLists | undefined {
    const lists = this.pending.get(service);
    this.pending.delete(service);
    return lists;
  }
}

/**
 * Reads live objects by id, choosing LIST or GET per kind and namespace, and using a LIST sent ahead
 * (`early`) where there is one; one that failed is as if never sent, but a 403 goes straight to the
 * GETs. Missing objects map to undefined.
 */
export async function readLive(
  client: KubeClient,
  targets: LiveTarget[],
  early?: EarlyLists,
): Promise<Map<ResourceId, KubeObject | undefined>> {
  const out = new Map<ResourceId, KubeObject | undefined>();
  const fill = (group: LiveTarget[], items: KubeObject[]): void => {
    const byName = new Map(items.map((i) => [i.metadata.name, i]));
    for (const t of group) out.set(t.id, byName.get(parseId(t.id).name));
  };
  // RBAC may allow get but not list: then one GET each.
  const forbidden = (err: unknown): boolean => err instanceof ApiError && err.status === 403;
  await Promise.all(
    [...byKindAndNamespace(targets)].map(async ([key, group]) => {
      let canList = listed(group);
      const sent = await early?.get(key)?.catch((err: unknown) => {
        if (forbidden(err)) canList = false;
        return undefined;
      });
      if (sent) return fill(group, sent);
      const first = group[0]!;
      const ns = parseId(first.id).namespace;
      if (canList) {
        try {
          return fill(group, await listObjects(client, first.type, ns || undefined));
        } catch (err) {
          if (!forbidden(err)) throw err;
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
  // Objects in a namespace that neither exists nor is created by this change, by namespace.
  const missingNamespaces = new Map<string, DesiredObject[]>();
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
          /namespaces? .*not found/i.test(err.message)
        ) {
          if (newNamespaces.has(d.ref.namespace)) {
            deferred.set(
              d.id,
              `namespace ${d.ref.namespace} is created by this sync first; the server validates it then`,
            );
          } else {
            const list = missingNamespaces.get(d.ref.namespace) ?? [];
            list.push(d);
            missingNamespaces.set(d.ref.namespace, list);
          }
          return;
        }
        const invalid = invalidObjectReason(err, isSecret(d.object));
        if (invalid !== undefined) {
          problems.push({
            message: `the cluster rejects ${formatId(d.ref)}: ${invalid}`,
            origin: d.origin,
            object: d.id,
            hint: 'fix the manifest; nothing was changed',
            reason: 'Invalid',
          });
          return;
        }
        clusterError ??= describeApiError(err, `dry-run apply of ${d.id}`);
      }
    }),
  );
  for (const [namespace, objects] of [...missingNamespaces].sort(([a], [b]) => a.localeCompare(b))) {
    // One problem per namespace, at the first object in it: a mistyped --namespace is one mistake.
    const first = [...objects].sort(
      (a, b) => a.origin.file.localeCompare(b.origin.file) || a.origin.line - b.origin.line,
    )[0]!;
    const others = objects.length > 1 ? ` (and ${objects.length - 1} more object(s) in it)` : '';
    problems.push({
      message: `namespace "${namespace}" of ${first.id} does not exist${others}`,
      origin: first.origin,
      object: first.id,
      hint: 'create the namespace, add a Namespace object for it to the manifests, or pass the right --namespace',
    });
  }
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
