/**
 * Apply order as data: lower ranks are applied first, prune runs in reverse. CRDs and Namespaces
 * form the first stage (everything else may depend on them); admission webhooks go last so a
 * webhook whose backend is in the same change cannot block the rest of it.
 */
import type { ResourceRef } from './object.js';

/** Rank of each known kind, keyed `group/Kind`. Unlisted kinds (custom resources included) rank 80. */
export const APPLY_RANK: Readonly<Record<string, number>> = {
  'apiextensions.k8s.io/CustomResourceDefinition': 0,
  '/Namespace': 0,
  '/ResourceQuota': 10,
  '/LimitRange': 10,
  'storage.k8s.io/StorageClass': 10,
  'scheduling.k8s.io/PriorityClass': 10,
  'node.k8s.io/RuntimeClass': 10,
  'networking.k8s.io/IngressClass': 10,
  '/ServiceAccount': 20,
  'rbac.authorization.k8s.io/ClusterRole': 30,
  'rbac.authorization.k8s.io/Role': 30,
  'rbac.authorization.k8s.io/ClusterRoleBinding': 40,
  'rbac.authorization.k8s.io/RoleBinding': 40,
  '/ConfigMap': 50,
  '/Secret': 50,
  '/PersistentVolume': 55,
  '/PersistentVolumeClaim': 56,
  '/Service': 60,
  '/Endpoints': 61,
  'discovery.k8s.io/EndpointSlice': 61,
  'apps/Deployment': 70,
  'apps/StatefulSet': 70,
  'apps/DaemonSet': 70,
  'apps/ReplicaSet': 70,
  '/ReplicationController': 70,
  '/Pod': 70,
  'batch/Job': 70,
  'batch/CronJob': 70,
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy': 90,
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding': 91,
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': 92,
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': 92,
};

const DEFAULT_RANK = 80;

/** Rank of a kind in apply order. */
export function applyRank(ref: Pick<ResourceRef, 'group' | 'kind'>): number {
  return APPLY_RANK[`${ref.group}/${ref.kind}`] ?? DEFAULT_RANK;
}

/** Groups items into waves of equal rank, in apply order; ties keep a stable namespace/name order. */
export function applyWaves<T>(items: T[], refOf: (item: T) => ResourceRef): T[][] {
  const sorted = [...items].sort((a, b) => {
    const ra = refOf(a);
    const rb = refOf(b);
    return (
      applyRank(ra) - applyRank(rb) ||
      ra.kind.localeCompare(rb.kind) ||
      ra.namespace.localeCompare(rb.namespace) ||
      ra.name.localeCompare(rb.name)
    );
  });
  const waves: T[][] = [];
  let rank = Number.NaN;
  for (const item of sorted) {
    const r = applyRank(refOf(item));
    if (r !== rank) {
      waves.push([]);
      rank = r;
    }
    waves[waves.length - 1]!.push(item);
  }
  return waves;
}
