/**
 * What is wrong with a workload's pods, read from their container statuses: the problems that may fail
 * a wait (decide.ts chooses which do) and the first not-ready container a timeout diagnosis names.
 * Whether a Pod as an applied object is ready is a readiness rule like any other (kinds/pod.ts).
 */
import { isPlainObject, type KubeObject } from '../resources/object.js';
import { conditionOf, field, num, str } from './status.js';

/**
 * What is wrong with a pod:
 * - `container`: a container cannot start or keeps crashing (fails the wait after the grace period),
 * - `pod`: the pod as a whole failed (phase Failed, e.g. Evicted; controllers replace such pods),
 * - `scheduling`: no node fits (Unschedulable); slow to resolve, reported as a warning only.
 */
export type PodFailureScope = 'container' | 'pod' | 'scheduling';

/** One problem of one pod (and container, for container problems). */
export interface PodFailure {
  pod: string;
  namespace: string;
  /** Pod uid: a replacement pod with the same name (StatefulSet) is a different pod. */
  uid: string;
  container?: string;
  initContainer?: boolean;
  reason: string;
  message: string;
  restartCount: number;
  /** How the container last exited, e.g. `Error, exit code 1`, for crash loops. */
  lastExit?: string;
  scope: PodFailureScope;
}

/** Waiting reasons that mean a container cannot start or run. */
export const CONTAINER_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The status of one container, with its name and whether it is an init container. */
interface NamedStatus {
  name: string;
  init: boolean;
  status: Record<string, unknown>;
}

/** A pod's container statuses, init containers first (the order they run in). */
export function containerStatuses(p: KubeObject): NamedStatus[] {
  const out: NamedStatus[] = [];
  for (const [key, init] of [
    ['initContainerStatuses', true],
    ['containerStatuses', false],
  ] as const) {
    const list = field(p, 'status', key);
    if (!Array.isArray(list)) continue;
    for (const s of list)
      if (isPlainObject(s) && typeof s.name === 'string') out.push({ name: s.name, init, status: s });
  }
  return out;
}

function lastExitOf(status: Record<string, unknown>): string | undefined {
  const t = field(status, 'lastState', 'terminated');
  if (!isPlainObject(t)) return undefined;
  const reason = str(t.reason) ?? 'terminated';
  const code = num(t.exitCode);
  return code === undefined ? reason : `${reason}, exit code ${code}`;
}

/** Every container, pod and scheduling problem of the given pods, init containers included. */
export function podProblems(pods: KubeObject[]): PodFailure[] {
  const out: PodFailure[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue; // a terminating pod's troubles no longer matter
    const base = {
      pod: p.metadata.name ?? '',
      namespace: p.metadata.namespace ?? '',
      uid: str(p.metadata.uid) ?? p.metadata.name ?? '',
    };
    const phase = str(field(p, 'status', 'phase'));
    if (phase === 'Failed') {
      out.push({
        ...base,
        reason: str(field(p, 'status', 'reason')) ?? 'PodFailed',
        message: str(field(p, 'status', 'message')) ?? 'pod failed',
        restartCount: 0,
        scope: 'pod',
      });
      continue;
    }
    if (phase === 'Succeeded') continue;
    for (const s of containerStatuses(p)) {
      const waiting = field(s.status, 'state', 'waiting');
      const reason = str(field(waiting, 'reason'));
      if (!reason || !CONTAINER_FAILURE_REASONS.has(reason)) continue;
      const failure: PodFailure = {
        ...base,
        container: s.name,
        reason,
        message: str(field(waiting, 'message')) ?? '',
        restartCount: num(s.status.restartCount) ?? 0,
        scope: 'container',
      };
      if (s.init) failure.initContainer = true;
      const lastExit = lastExitOf(s.status);
      if (lastExit) failure.lastExit = lastExit;
      out.push(failure);
    }
    const scheduled = conditionOf(p, 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      out.push({
        ...base,
        reason: 'Unschedulable',
        message: scheduled.message ?? 'no node fits the pod',
        restartCount: 0,
        scope: 'scheduling',
      });
    }
  }
  return out;
}

/** The first not-ready container of a pod and why, for timeout diagnostics. */
export function notReadyContainer(
  p: KubeObject,
): { container: string; initContainer: boolean; reason: string; message: string } | undefined {
  for (const s of containerStatuses(p)) {
    if (s.status.ready === true) continue;
    // Init containers that ran to completion are not ready by design.
    if (s.init && num(field(s.status, 'state', 'terminated', 'exitCode')) === 0) continue;
    const waiting = field(s.status, 'state', 'waiting');
    const terminated = field(s.status, 'state', 'terminated');
    const reason =
      str(field(waiting, 'reason')) ??
      str(field(terminated, 'reason')) ??
      (field(s.status, 'state', 'running') ? 'NotReady' : 'Waiting');
    const readyCond = conditionOf(p, 'Ready');
    const message =
      str(field(waiting, 'message')) ??
      str(field(terminated, 'message')) ??
      (reason === 'NotReady'
        ? 'running but not ready (readiness probe not passing)'
        : (readyCond?.message ?? ''));
    return { container: s.name, initContainer: s.init, reason, message };
  }
  return undefined;
}
