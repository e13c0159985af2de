/**
 * Stage 2, identify: give every desired object its resource type (through the catalog), its
 * namespace (defaulted only for namespaced kinds) and its id. Collects every problem before failing
 * so one run reports them all.
 */
import { inputError, type Origin, type Problem } from '../errors.js';
import { ResourceCatalog, guessPlural, type ResourceType } from './catalog.js';
import {
  formatId,
  groupOf,
  isPlainObject,
  versionOf,
  type KubeObject,
  type Manifest,
  type ResourceId,
  type ResourceRef,
} from './object.js';

/** A desired object ready to plan and apply. */
export interface DesiredObject {
  id: ResourceId;
  ref: ResourceRef;
  type: ResourceType;
  /** The object with its namespace filled in. */
  object: KubeObject;
  origin: Origin;
  /**
   * Its kind is defined by a CRD in the same set that the cluster does not serve yet: it can be
   * neither dry-run nor read before that CRD is applied and Established.
   */
  crdPending: boolean;
}

export interface IdentifyOptions {
  /** Namespace for namespaced objects that name none (`--namespace`, then the service's). */
  namespace?: string;
}

interface CrdInfo {
  types: ResourceType[];
  origin: Origin;
}

/** Kinds defined by CustomResourceDefinitions in the manifests, keyed `group/version/kind`. */
function crdTypes(manifests: Manifest[]): Map<string, CrdInfo> {
  const out = new Map<string, CrdInfo>();
  for (const m of manifests) {
    const o = m.object;
    if (o.kind !== 'CustomResourceDefinition' || groupOf(o.apiVersion) !== 'apiextensions.k8s.io') continue;
    const spec = o.spec;
    if (!isPlainObject(spec) || !isPlainObject(spec.names)) continue;
    const group = typeof spec.group === 'string' ? spec.group : '';
    const kind = typeof spec.names.kind === 'string' ? spec.names.kind : '';
    const plural = typeof spec.names.plural === 'string' ? spec.names.plural : guessPlural(kind);
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    const types: ResourceType[] = [];
    for (const v of versions) {
      if (!isPlainObject(v) || typeof v.name !== 'string' || v.served === false) continue;
      types.push({ group, version: v.name, kind, plural, namespaced: spec.scope !== 'Cluster', verbs: [] });
    }
    for (const t of types) out.set(`${t.group}/${t.version}/${t.kind}`, { types, origin: m.origin });
  }
  return out;
}

function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** Levenshtein distance, for "did you mean" on misspelt kinds. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * A hint for a kind the cluster does not serve in that group: the group that does serve it
 * (`aps/v1` for `apps/v1`), or a kind of the group with a near spelling (`Deploymnet`).
 */
function suggestType(catalog: ResourceCatalog, group: string, kind: string): string | undefined {
  const all = catalog.types();
  const elsewhere = [...new Set(all.filter((t) => t.kind === kind).map(apiVersionOf))];
  if (elsewhere.length > 0) {
    return `the cluster serves ${kind} as ${elsewhere.sort().join(', ')}: check apiVersion`;
  }
  const near = all
    .filter((t) => t.group === group)
    .map((t) => ({ t, d: t.kind.toLowerCase() === kind.toLowerCase() ? 0 : editDistance(t.kind, kind) }))
    .filter(({ t, d }) => d <= Math.max(1, Math.floor(Math.min(t.kind.length, kind.length) / 4)))
    .sort((a, b) => a.d - b.d || a.t.kind.localeCompare(b.t.kind));
  const best = near[0]?.t;
  return best ? `did you mean kind ${best.kind} (apiVersion ${apiVersionOf(best)})?` : undefined;
}

/** Resolves types, namespaces and ids; throws one input error listing every problem found. */
export function identify(
  manifests: Manifest[],
  catalog: ResourceCatalog,
  opts: IdentifyOptions = {},
): DesiredObject[] {
  const problems: Problem[] = [];
  const crds = crdTypes(manifests);
  const seen = new Map<ResourceId, Origin>();
  const out: DesiredObject[] = [];

  for (const m of manifests) {
    const { apiVersion, kind } = m.object;
    const name = m.object.metadata.name ?? '';
    const group = groupOf(apiVersion);
    let type: ResourceType | undefined;
    let crdPending = false;

    const found = catalog.lookup(apiVersion, kind);
    if (found.found) {
      type = found.found;
    } else {
      const crd = crds.get(`${group}/${versionOf(apiVersion)}/${kind}`);
      if (crd) {
        type = crd.types.find((t) => t.version === versionOf(apiVersion));
        crdPending = catalog.authoritative;
      } else if (!catalog.authoritative) {
        // Offline the built-in table cannot know custom kinds: assume namespaced, as most are.
        type = {
          group,
          version: versionOf(apiVersion),
          kind,
          plural: guessPlural(kind),
          namespaced: true,
          verbs: [],
        };
      } else if (found.otherVersions.length > 0) {
        problems.push({
          message: `${kind} "${name}": apiVersion ${apiVersion} is not served by the cluster`,
          origin: m.origin,
          hint: `served versions of ${kind}: ${found.otherVersions.map((v) => (group ? `${group}/${v}` : v)).join(', ')}`,
        });
        continue;
      } else {
        problems.push({
          message: `${kind} "${name}": the cluster does not know kind ${kind} in API group "${group || 'core'}" (apiVersion ${apiVersion})`,
          origin: m.origin,
          hint:
            suggestType(catalog, group, kind) ??
            'check the spelling of apiVersion and kind; for a custom resource, install its CRD first or include the CRD in the manifests',
        });
        continue;
      }
    }
    if (!type) continue;

    const object: KubeObject = { ...m.object, metadata: { ...m.object.metadata } };
    let namespace = '';
    if (type.namespaced) {
      namespace = object.metadata.namespace || opts.namespace || '';
      if (!namespace) {
        problems.push({
          message: `${kind} "${name}" is namespaced but names no namespace`,
          origin: m.origin,
          hint: 'set metadata.namespace, pass --namespace, or give the service a namespace in nopea.yaml',
        });
        continue;
      }
      object.metadata.namespace = namespace;
    } else if (object.metadata.namespace) {
      problems.push({
        message: `${kind} "${name}" is cluster-scoped but sets metadata.namespace "${object.metadata.namespace}"`,
        origin: m.origin,
        hint: 'remove metadata.namespace from this object',
      });
      continue;
    }

    const ref: ResourceRef = { group: type.group, kind: type.kind, namespace, name };
    const id = formatId(ref);
    const previous = seen.get(id);
    if (previous) {
      problems.push({
        message: `${id} is defined twice: here and at ${previous.file}:${previous.line}`,
        origin: m.origin,
        object: id,
        hint: 'keep one definition of each object (same group, kind, namespace and name)',
      });
      continue;
    }
    seen.set(id, m.origin);
    out.push({ id, ref, type, object, origin: m.origin, crdPending });
  }

  if (problems.length > 0) throw inputError(problems);
  return out;
}
