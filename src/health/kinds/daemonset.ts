/** DaemonSet readiness: every scheduled node runs an updated, available pod; OnDelete is ready when observed. */
import type { KubeObject } from '../../resources/object.js';
import { progressing, ready, staleGeneration, type Assessment } from '../assessment.js';
import { count } from '../status.js';
import { onDeleteStrategy } from './rollout.js';

/** Ready when updated and available pods reach the number of nodes the DaemonSet is scheduled on. */
export function assessDaemonSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const onDelete = onDeleteStrategy(obj);
  if (onDelete) return onDelete;
  const desired = count(obj, 'desiredNumberScheduled');
  const updated = count(obj, 'updatedNumberScheduled');
  const available = count(obj, 'numberAvailable');
  if (updated < desired) return progressing(`${updated}/${desired} nodes updated`);
  if (available < desired) return progressing(`${available}/${desired} pods available`);
  return ready(`${available}/${desired} pods available`);
}
