/**
 * Readiness of a Pod applied on its own: the Ready condition; Succeeded is ready, Failed (e.g. Evicted)
 * fails. The problems of a workload's pods are read separately (pods.ts), because there they only
 * fail the wait after a grace period.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, type Assessment } from '../assessment.js';
import { containerStatuses } from '../pods.js';
import { conditionOf, field, str } from '../status.js';

/** Ready on the Ready condition or phase Succeeded; failed on phase Failed. */
export function assessPod(obj: KubeObject): Assessment {
  const phase = str(field(obj, 'status', 'phase')) ?? 'Pending';
  if (phase === 'Succeeded') return ready('succeeded');
  if (phase === 'Failed') {
    return failed(
      str(field(obj, 'status', 'reason')) ?? 'PodFailed',
      str(field(obj, 'status', 'message')) ?? 'pod failed',
    );
  }
  const readyCond = conditionOf(obj, 'Ready');
  if (readyCond?.status === 'True') return ready('ready');
  const waiting = firstWaiting(obj);
  if (waiting)
    return progressing(`${phase}: container ${waiting.container} ${waiting.reason}`, waiting.reason);
  return progressing(readyCond?.message ? `${phase}: ${readyCond.message}` : phase);
}

function firstWaiting(p: KubeObject): { container: string; reason: string } | undefined {
  for (const s of containerStatuses(p)) {
    const reason = str(field(s.status, 'state', 'waiting', 'reason'));
    if (reason && reason !== 'ContainerCreating' && reason !== 'PodInitializing')
      return { container: s.name, reason };
  }
  return undefined;
}
