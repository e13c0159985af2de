/**
 * How the workload controllers report a rollout, read the same way by the rules of every kind that
 * has one: how many replicas are wanted, a controller that cannot create pods, and the OnDelete
 * strategy under which a rollout never happens on its own.
 */
import type { KubeObject } from '../../resources/object.js';
import { ready, type Assessment } from '../assessment.js';
import { conditionOf, conditionText, field, num, str } from '../status.js';

/** `spec.replicas`, 1 when absent (the API server's default). */
export function desiredReplicas(obj: KubeObject): number {
  return num(field(obj, 'spec', 'replicas')) ?? 1;
}

/** `; ReplicaFailure: exceeded quota` when a controller reports it cannot create pods (slow, not fatal). */
export function replicaFailureNote(obj: KubeObject): string {
  const c = conditionOf(obj, 'ReplicaFailure');
  return c?.status === 'True' ? `; ${conditionText(c)}` : '';
}

/** Ready once observed under the OnDelete strategy: pods update only when someone deletes them. */
export function onDeleteStrategy(obj: KubeObject): Assessment | undefined {
  const strategy = str(field(obj, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy === 'OnDelete')
    return ready('OnDelete update strategy: pods update when deleted; not waited for', 'OnDelete');
  return undefined;
}
