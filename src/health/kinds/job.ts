/**
 * Job readiness: Complete is ready; Failed (or the FailureTarget that precedes it) fails at once. A
 * suspended Job is ready (reason `Suspended`): it runs only when something (a person, Kueue) resumes
 * it, which this deploy cannot wait for. A Job deleted after it completed (`ttlSecondsAfterFinished`)
 * is ready too (`assessVanishedJob`).
 */
import { isPlainObject, type KubeObject } from '../../resources/object.js';
import { failed, notFound, progressing, ready, type Assessment } from '../assessment.js';
import { conditionOf, count, eventSubject, field, num } from '../status.js';

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

/** What the wait knows of a Job it applied and no longer finds. */
export interface VanishedJob {
  namespace: string;
  name: string;
  /** The uid of the Job this sync applied (or, when not passed in, of the one a poll saw). */
  uid?: string;
  /** The Job as the last poll that found it saw it; none when no poll did. */
  lastSeen?: KubeObject;
  /** Events about Jobs of this namespace and name (core v1 or events.k8s.io/v1 shape). */
  events: unknown[];
}

/** The job controller's name on the Events it records. */
const JOB_CONTROLLER = 'job-controller';

/** Whether an event is the job controller's `Completed` about this Job (by uid when known, else by name). */
function isCompletedEvent(e: unknown, job: VanishedJob): boolean {
  if (!isPlainObject(e) || e.reason !== 'Completed') return false;
  const reporters = [
    field(e, 'source', 'component'),
    e.reportingComponent,
    e.reportingController,
    field(e, 'deprecatedSource', 'component'),
  ];
  if (!reporters.includes(JOB_CONTROLLER)) return false;
  const about = eventSubject(e);
  if (about.kind !== 'Job' || about.name !== job.name || (about.namespace ?? '') !== job.namespace)
    return false;
  return job.uid === undefined || about.uid === job.uid;
}

/**
 * A Job this sync applied that is gone. The TTL controller deletes a finished Job right after it
 * completes when `ttlSecondsAfterFinished` is 0 (ingress-nginx's admission Jobs do), so often no
 * poll ever sees it Complete: gone after success is complete, not missing. It is ready when the last
 * poll saw its success criteria met (Complete always follows), or when the job controller's
 * `Completed` event about it remains (events outlive the Job). Anything else stays not found.
 */
export function assessVanishedJob(job: VanishedJob): Assessment {
  const last = job.lastSeen;
  const seenSucceeding =
    last !== undefined &&
    ['Complete', 'SuccessCriteriaMet'].some((type) => conditionOf(last, type)?.status === 'True');
  if (seenSucceeding || job.events.some((e) => isCompletedEvent(e, job))) {
    return ready('completed, then deleted', 'DeletedAfterCompletion');
  }
  return notFound();
}
