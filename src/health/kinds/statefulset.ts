/**
 * StatefulSet readiness: `kubectl rollout status` semantics, including partitions (only the pods at or
 * above the partition ordinal update, so the rollout is done when those have); OnDelete is ready when
 * observed.
 */
import type { KubeObject } from '../../resources/object.js';
import { progressing, ready, staleGeneration, type Assessment } from '../assessment.js';
import { count, field, num, str } from '../status.js';
import { desiredReplicas, onDeleteStrategy } from './rollout.js';

/** Ready when ready replicas reach spec.replicas and the update revision has rolled out. */
export function assessStatefulSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const onDelete = onDeleteStrategy(obj);
  if (onDelete) return onDelete;
  const want = desiredReplicas(obj);
  const readyCount = count(obj, 'readyReplicas');
  const updated = count(obj, 'updatedReplicas');
  if (readyCount < want) return progressing(`${readyCount}/${want} replicas ready`);
  const partition = num(field(obj, 'spec', 'updateStrategy', 'rollingUpdate', 'partition')) ?? 0;
  if (partition > 0) {
    const target = Math.max(0, want - partition);
    if (updated < target) return progressing(`partitioned rollout: ${updated}/${target} replicas updated`);
    return ready(`partitioned rollout done: ${updated}/${target} replicas updated`);
  }
  const current = str(field(obj, 'status', 'currentRevision'));
  const update = str(field(obj, 'status', 'updateRevision'));
  if (update && current !== update) {
    return progressing(`rolling update to ${update}: ${updated}/${want} replicas updated`);
  }
  return ready(`${readyCount}/${want} replicas ready`);
}
