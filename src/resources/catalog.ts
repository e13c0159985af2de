/**
 * The resource catalog: what API discovery (or, offline, a built-in table) says about each
 * group/version/kind — its plural, whether it is namespaced, which verbs it serves.
 */
import { groupOf, versionOf } from './object.js';

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  /** URL segment, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

/** Result of looking a kind up: found, or known at other versions, or unknown. */
export type Lookup = { found: ResourceType } | { found?: undefined; otherVersions: string[] };

export class ResourceCatalog {
  private readonly byGvk = new Map<string, ResourceType>();
  private readonly versionsByGk = new Map<string, Set<string>>();

  constructor(
    types: Iterable<ResourceType>,
    /** Whether the catalog comes from a live cluster (authoritative) or a built-in table. */
    readonly authoritative: boolean,
  ) {
    for (const t of types) this.add(t);
  }

  /** Adds a type (e.g. one defined by a CRD in the same set of manifests). */
  add(t: ResourceType): void {
    const key = `${t.group}/${t.version}/${t.kind}`;
    if (!this.byGvk.has(key)) this.byGvk.set(key, t);
    const gk = `${t.group}/${t.kind}`;
    let versions = this.versionsByGk.get(gk);
    if (!versions) this.versionsByGk.set(gk, (versions = new Set()));
    versions.add(t.version);
  }

  lookup(apiVersion: string, kind: string): Lookup {
    const group = groupOf(apiVersion);
    const found = this.byGvk.get(`${group}/${versionOf(apiVersion)}/${kind}`);
    if (found) return { found };
    const others = this.versionsByGk.get(`${group}/${kind}`);
    return { otherVersions: others ? [...others].sort() : [] };
  }

  /** Any served version of group/kind (for deleting inventory entries whose stored version is gone). */
  anyVersion(group: string, kind: string): ResourceType | undefined {
    const versions = this.versionsByGk.get(`${group}/${kind}`);
    if (!versions) return undefined;
    for (const v of versions) {
      const t = this.byGvk.get(`${group}/${v}/${kind}`);
      if (t) return t;
    }
    return undefined;
  }

  /** Every type, in the order added. */
  types(): ResourceType[] {
    return [...this.byGvk.values()];
  }

  get size(): number {
    return this.byGvk.size;
  }
}

/**
 * Built-in kinds, for planning without a cluster (`--offline`). Only scope matters offline; kinds
 * not listed are assumed namespaced unless a CRD in the manifests says otherwise.
 */
const BUILTIN: [apiVersion: string, kind: string, plural: string, namespaced: boolean][] = [
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'Node', 'nodes', false],
  ['v1', 'PersistentVolume', 'persistentvolumes', false],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'Pod', 'pods', true],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['v1', 'Endpoints', 'endpoints', true],
  ['v1', 'LimitRange', 'limitranges', true],
  ['v1', 'ResourceQuota', 'resourcequotas', true],
  ['v1', 'ReplicationController', 'replicationcontrollers', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'StatefulSet', 'statefulsets', true],
  ['apps/v1', 'DaemonSet', 'daemonsets', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['apps/v1', 'ControllerRevision', 'controllerrevisions', true],
  ['batch/v1', 'Job', 'jobs', true],
  ['batch/v1', 'CronJob', 'cronjobs', true],
  ['autoscaling/v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
  ['networking.k8s.io/v1', 'Ingress', 'ingresses', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['networking.k8s.io/v1', 'IngressClass', 'ingressclasses', false],
  ['discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['storage.k8s.io/v1', 'StorageClass', 'storageclasses', false],
  ['storage.k8s.io/v1', 'CSIDriver', 'csidrivers', false],
  ['storage.k8s.io/v1', 'CSINode', 'csinodes', false],
  ['storage.k8s.io/v1', 'VolumeAttachment', 'volumeattachments', false],
  ['scheduling.k8s.io/v1', 'PriorityClass', 'priorityclasses', false],
  ['node.k8s.io/v1', 'RuntimeClass', 'runtimeclasses', false],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false],
  ['apiregistration.k8s.io/v1', 'APIService', 'apiservices', false],
  ['admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false],
  [
    'admissionregistration.k8s.io/v1',
    'ValidatingWebhookConfiguration',
    'validatingwebhookconfigurations',
    false,
  ],
  ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false],
  [
    'admissionregistration.k8s.io/v1',
    'ValidatingAdmissionPolicyBinding',
    'validatingadmissionpolicybindings',
    false,
  ],
  ['coordination.k8s.io/v1', 'Lease', 'leases', true],
  ['certificates.k8s.io/v1', 'CertificateSigningRequest', 'certificatesigningrequests', false],
  ['flowcontrol.apiserver.k8s.io/v1', 'FlowSchema', 'flowschemas', false],
  ['flowcontrol.apiserver.k8s.io/v1', 'PriorityLevelConfiguration', 'prioritylevelconfigurations', false],
];

/** The built-in catalog used offline. */
export function builtinCatalog(): ResourceCatalog {
  const verbs = ['get', 'list', 'patch', 'delete'];
  return new ResourceCatalog(
    BUILTIN.map(([apiVersion, kind, plural, namespaced]) => ({
      group: groupOf(apiVersion),
      version: versionOf(apiVersion),
      kind,
      plural,
      namespaced,
      verbs,
    })),
    false,
  );
}

/** Lower-case plural guessed from a kind, for offline use only (`Ingress` → `ingresses`). */
export function guessPlural(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}
