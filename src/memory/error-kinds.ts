/**
 * The one mapping from what a deploy record says about its failure to the error-kind vocabulary
 * memory remembers failures by. It reads the machine reasons the producers attach (Kubernetes
 * reasons, nopea's own), never message text, so a reworded message never changes what is learned.
 */
import { MEMORY_ERROR_KINDS, type MemoryErrorKind, type ObservedOutcome } from './types.js';

/** Machine reason → error kind. A reason not listed here is not known; a failure without a known one is `Other`. */
export const REASON_ERROR_KINDS = {
  // The image cannot be pulled: kubelet alternates ErrImagePull and ImagePullBackOff for one cause.
  ErrImagePull: 'ImagePullBackOff',
  ImagePullBackOff: 'ImagePullBackOff',
  InvalidImageName: 'ImagePullBackOff',
  ErrImageNeverPull: 'ImagePullBackOff',
  ImageInspectError: 'ImagePullBackOff',
  // The container starts and dies, or cannot be created or run from its configuration.
  CrashLoopBackOff: 'CrashLoopBackOff',
  RunContainerError: 'CrashLoopBackOff',
  CreateContainerConfigError: 'CrashLoopBackOff',
  CreateContainerError: 'CrashLoopBackOff',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  // The reasons of a Job's Failed condition (`JobFailed` when the controller gives none).
  BackoffLimitExceeded: 'JobFailed',
  DeadlineExceeded: 'JobFailed',
  PodFailurePolicy: 'JobFailed',
  MaxFailedIndexesExceeded: 'JobFailed',
  FailedIndexes: 'JobFailed',
  JobFailed: 'JobFailed',
  // nopea's own reasons.
  HealthTimeout: 'HealthTimeout',
  Conflict: 'ApplyConflict',
  Immutable: 'ImmutableField',
  Forbidden: 'Forbidden',
  Unauthorized: 'Forbidden',
  Invalid: 'ApplyRejected',
  RolloutFailed: 'RolloutFailed',
  RolledBack: 'RolledBack',
} as const satisfies Record<string, MemoryErrorKind>;

/** The error kind of one machine reason, when it is known. */
export function errorKindOfReason(reason: string): MemoryErrorKind | undefined {
  return Object.hasOwn(REASON_ERROR_KINDS, reason)
    ? REASON_ERROR_KINDS[reason as keyof typeof REASON_ERROR_KINDS]
    : undefined;
}

/** The outcomes memory counts as failures of the service. */
const FAILED_OUTCOMES: readonly string[] = ['failed', 'rolled-back'] satisfies ObservedOutcome[];

/** Whether an outcome is a failure of the service (`cancelled` is neither a failure nor a success). */
export function isFailedOutcome(outcome: string): boolean {
  return FAILED_OUTCOMES.includes(outcome);
}

/**
 * The error kinds of a deploy outcome, deduplicated, in the vocabulary's order (so the same failure
 * gives the same list whatever order its reasons came in). Only a failure has any: a success or a
 * cancellation (by outcome or by the error's kind) has none. A rollback is `RolledBack` besides what
 * caused it; a failure with no known reason is `Other`.
 */
export function errorKindsOf(
  error: { kind: string; reasons?: string[] } | undefined,
  outcome: string,
): MemoryErrorKind[] {
  if (!isFailedOutcome(outcome) || error?.kind === 'cancelled') return [];
  const kinds = new Set<MemoryErrorKind>();
  for (const reason of error?.reasons ?? []) {
    const kind = errorKindOfReason(reason);
    if (kind) kinds.add(kind);
  }
  if (outcome === 'rolled-back') kinds.add('RolledBack');
  if (kinds.size === 0) kinds.add('Other');
  return MEMORY_ERROR_KINDS.filter((kind) => kinds.has(kind));
}
