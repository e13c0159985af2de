/**
 * Which objects belong to a workload, as its controller records it: owner references and, for a
 * Deployment, the revision annotation it stamps on the ReplicaSet of each rollout. The wait loop uses
 * these to pick the pods that count; the Deployment rule uses them to report the newest ReplicaSet.
 */
import { isPlainObject, type KubeObject } from '../resources/object.js';
import { str } from './status.js';

/**
 * The ReplicaSet of a Deployment's current revision: owned by it and carrying the same
 * `deployment.kubernetes.io/revision` annotation (the controller stamps both).
 */
export function newestReplicaSet(dep: KubeObject, replicaSets: KubeObject[]): KubeObject | undefined {
  const revision = dep.metadata.annotations?.['deployment.kubernetes.io/revision'];
  if (!revision) return undefined;
  const uid = str(dep.metadata.uid);
  return replicaSets.find(
    (rs) =>
      rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision &&
      (!uid || controllerUid(rs) === uid),
  );
}

/** uid of the controlling owner (`ownerReferences[].controller: true`). */
export function controllerUid(obj: KubeObject): string | undefined {
  const refs = obj.metadata.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  for (const r of refs)
    if (isPlainObject(r) && r.controller === true && typeof r.uid === 'string') return r.uid;
  return undefined;
}
