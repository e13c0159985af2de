/**
 * Job readiness: Complete is ready; Failed (or the FailureTarget that precedes it) fails at once. A
 * suspended Job is ready (reason `Suspended`): it runs only when something (a person, Kueue) resumes
 * it, which this deploy cannot wait for.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, type Assessment } from '../assessment.js';
import { conditionOf, count, field, num } from '../status.js';

/** Ready when Complete or suspended, failed on Failed or FailureTarget, else progressing with the pod counts. */
export function assessJob(obj: KubeObject): Assessment {
  for (const type of ['Failed', 'FailureTarget']) {
    const c = conditionOf(obj, type);
    if (c?.status === 'True') return failed(c.reason ?? 'JobFailed', c.message ?? `job ${type}`);
  }
  const succeeded = count(obj, 'succeeded');
  if (conditionOf(obj, 'Complete')?.status === 'True') return ready(`completed (${succeeded} succeeded)`);
  // SuccessCriteriaMet comes first, while the Job's pods still finish and its counts catch up.
  if (conditionOf(obj, 'SuccessCriteriaMet')?.status === 'True') {
    return progressing('success criteria met; waiting for the Job to complete');
  }
  if (field(obj, 'spec', 'suspend') === true) return ready('suspended; not waited for', 'Suspended');
  const completions = num(field(obj, 'spec', 'completions'));
  const parts = [
    `${count(obj, 'active')} active`,
    `${succeeded}${completions !== undefined ? `/${completions}` : ''} succeeded`,
  ];
  const failedPods = count(obj, 'failed');
  if (failedPods > 0) parts.push(`${failedPods} failed`);
  return progressing(parts.join(', '));
}
