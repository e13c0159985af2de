/** ReplicaSet readiness: the replica counts, without the rollout a Deployment adds on top. */
import type { KubeObject } from '../../resources/object.js';
import { progressing, ready, staleGeneration, type Assessment } from '../assessment.js';
import { count } from '../status.js';
import { desiredReplicas, replicaFailureNote } from './rollout.js';

/** Ready when ready and available replicas reach spec.replicas. */
export function assessReplicaSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const want = desiredReplicas(obj);
  const readyCount = count(obj, 'readyReplicas');
  const available = count(obj, 'availableReplicas');
  const note = replicaFailureNote(obj);
  if (readyCount < want) return progressing(`${readyCount}/${want} replicas ready${note}`);
  if (available < want) return progressing(`${available}/${want} replicas available${note}`);
  return ready(`${available}/${want} replicas available`);
}
