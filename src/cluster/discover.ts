/**
 * API discovery in two requests: aggregated discovery (apidiscovery.k8s.io/v2, GA since 1.30) of
 * `/api` and `/apis`. Older servers get the legacy walk (one request per group version).
 */
import { isPlainObject } from '../resources/object.js';
import { ResourceCatalog, type ResourceType } from '../resources/catalog.js';
import type { KubeClient } from './client.js';

const AGGREGATED =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

interface AggregatedList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: {
        resource: string;
        responseKind?: { group?: string; version?: string; kind?: string };
        scope?: 'Namespaced' | 'Cluster';
        verbs?: string[];
      }[];
    }[];
  }[];
}

/** Fetches the cluster's resource catalog. */
export async function discover(client: KubeClient): Promise<ResourceCatalog> {
  const [core, groups] = await Promise.all([
    client.request<unknown>({ method: 'GET', path: '/api', accept: AGGREGATED, verb: 'discovery' }),
    client.request<unknown>({ method: 'GET', path: '/apis', accept: AGGREGATED, verb: 'discovery' }),
  ]);
  if (isAggregated(core.body) && isAggregated(groups.body)) {
    return new ResourceCatalog([...fromAggregated(core.body, ''), ...fromAggregated(groups.body)], true);
  }
  return legacyDiscover(client, groups.body);
}

function isAggregated(body: unknown): body is AggregatedList {
  return isPlainObject(body) && body.kind === 'APIGroupDiscoveryList';
}

function* fromAggregated(list: AggregatedList, coreGroup?: string): Generator<ResourceType> {
  for (const g of list.items ?? []) {
    const group = coreGroup ?? g.metadata?.name ?? '';
    for (const v of g.versions ?? []) {
      for (const r of v.resources ?? []) {
        if (!r.responseKind?.kind || r.resource.includes('/')) continue;
        yield {
          group,
          version: v.version,
          kind: r.responseKind.kind,
          plural: r.resource,
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs ?? [],
        };
      }
    }
  }
}

interface LegacyResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

async function legacyDiscover(client: KubeClient, apis: unknown): Promise<ResourceCatalog> {
  const groupVersions: string[] = ['v1'];
  if (isPlainObject(apis) && Array.isArray(apis.groups)) {
    for (const g of apis.groups as { versions?: { groupVersion: string }[] }[]) {
      for (const v of g.versions ?? []) groupVersions.push(v.groupVersion);
    }
  }
  const lists = await Promise.all(
    groupVersions.map(async (gv) => {
      const path = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
      // A broken aggregated API (e.g. metrics-server down) answers 503; skip it like kubectl does.
      const res = await client.request<LegacyResourceList>({
        method: 'GET',
        path,
        verb: 'discovery',
        allow: [503, 404],
      });
      return { gv, list: res.status === 200 ? res.body : {} };
    }),
  );
  const types: ResourceType[] = [];
  for (const { gv, list } of lists) {
    const slash = gv.indexOf('/');
    const group = slash < 0 ? '' : gv.slice(0, slash);
    const version = slash < 0 ? gv : gv.slice(slash + 1);
    for (const r of list.resources ?? []) {
      if (r.name.includes('/')) continue;
      types.push({
        group,
        version,
        kind: r.kind,
        plural: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      });
    }
  }
  return new ResourceCatalog(types, true);
}
