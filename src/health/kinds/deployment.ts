/**
 * Deployment readiness: what `kubectl rollout status` checks, plus ProgressDeadlineExceeded as a
 * failure. A paused Deployment is ready once its spec is observed: nothing rolls out until someone
 * resumes it, so waiting would only burn the timeout; the message says it is paused.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, staleGeneration, type Assessment, type Related } from '../assessment.js';
import { newestReplicaSet } from '../owners.js';
import { conditionOf, count, field } from '../status.js';
import { desiredReplicas, replicaFailureNote } from './rollout.js';

/** Ready when updated, total and available replicas reach spec.replicas; fails past the progress deadline. */
export function assessDeployment(obj: KubeObject, related: Related): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const progressingCond = conditionOf(obj, 'Progressing');
  if (progressingCond?.reason === 'ProgressDeadlineExceeded') {
    return failed('ProgressDeadlineExceeded', progressingCond.message ?? 'progress deadline exceeded');
  }
  if (field(obj, 'spec', 'paused') === true) return ready('paused; rollout not waited for', 'Paused');
  const want = desiredReplicas(obj);
  const updated = count(obj, 'updatedReplicas');
  const total = count(obj, 'replicas');
  const available = count(obj, 'availableReplicas');
  const note = replicaFailureNote(obj);
  if (updated < want)
    return progressing(`${updated}/${want} replicas updated${newReplicaSetNote(obj, related)}${note}`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination${note}`);
  if (available < want) return progressing(`${available}/${want} replicas available${note}`);
  return ready(`${available}/${want} replicas available`);
}

/** `, new ReplicaSet api-7d9c: 1/2 ready` when the newest ReplicaSet is known. */
function newReplicaSetNote(dep: KubeObject, related: Related): string {
  const rs = newestReplicaSet(dep, related.replicaSets ?? []);
  if (!rs) return '';
  return ` (ReplicaSet ${rs.metadata.name}: ${count(rs, 'readyReplicas')}/${desiredReplicas(rs)} ready)`;
}
