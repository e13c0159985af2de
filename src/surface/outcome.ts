/**
 * What a result means to whoever asked for it, written once. Every error kind and every service
 * outcome maps here to a status (the Action's `status` output, and the word the other interfaces
 * show) and to the exit code of DESIGN.md; the interfaces look meanings up and never work them out
 * from messages or exit codes. Pure.
 */
import { NopeaError, type ErrorKind } from '../errors.js';
import type { RolloutResult } from './rollout.js';
import type { ServiceSyncResult, SyncResult } from './sync-types.js';

/**
 * - `succeeded`: synced and healthy (or nothing to do); `dry-run`: a dry-run sync planned it.
 * - `planned`: a diff planned every service.
 * - `invalid`: invalid input or configuration; `refused`: a safety rail refused the change. Nothing changed.
 * - `failed`: the deploy (or reading the cluster or state) failed; `cancelled`: the run was cancelled;
 *   `rolled-back`: a progressive rollout failed or was rolled back to the last good template.
 * - `paused`: a progressive rollout waits at a gate for a promote (or rollback) from a later run.
 */
export type Status =
  | 'succeeded'
  | 'dry-run'
  | 'planned'
  | 'invalid'
  | 'refused'
  | 'failed'
  | 'rolled-back'
  | 'cancelled'
  | 'paused';

/** Exit codes of the CLI and the Action (DESIGN.md, "Exit codes"). */
export const EXIT = {
  ok: 0,
  failed: 1,
  refused: 2,
  changesPending: 3,
  paused: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const STATUS_EXIT: Record<Status, ExitCode> = {
  succeeded: EXIT.ok,
  'dry-run': EXIT.ok,
  planned: EXIT.ok,
  invalid: EXIT.refused,
  refused: EXIT.refused,
  failed: EXIT.failed,
  'rolled-back': EXIT.failed,
  cancelled: EXIT.failed,
  paused: EXIT.paused,
};

const ERROR_STATUS: Record<ErrorKind, Status> = {
  input: 'invalid',
  guard: 'refused',
  cancelled: 'cancelled',
  cluster: 'failed',
  deploy: 'failed',
  state: 'failed',
  internal: 'failed',
};

/** The most severe first: a run's status is the first of these any of its services has. */
const SEVERITY: readonly Status[] = [
  'failed',
  'rolled-back',
  'cancelled',
  'invalid',
  'refused',
  'paused',
  'succeeded',
  'dry-run',
  'planned',
];

/**
 * What a status means on each interface: the CLI's and the Action's exit code, the HTTP status of an
 * API answer, and whether an MCP tool result is an error. `paused` is not an error: the rollout waits
 * at a gate as asked (202: accepted, not finished). Invalid input is 400, a safety rail's refusal 409
 * (the request conflicts with the cluster's state), a failed deploy or rollback 502 (the cluster's
 * answer was the failure), a cancelled run 503 (the server is going away); an internal bug is 500.
 */
export interface Meaning {
  exitCode: ExitCode;
  httpStatus: number;
  isError: boolean;
}

const HTTP_STATUS: Record<Status, number> = {
  succeeded: 200,
  'dry-run': 200,
  planned: 200,
  paused: 202,
  invalid: 400,
  refused: 409,
  failed: 502,
  'rolled-back': 502,
  cancelled: 503,
};

export function meaningOf(status: Status): Meaning {
  const exitCode = STATUS_EXIT[status];
  return {
    exitCode,
    httpStatus: HTTP_STATUS[status],
    isError: exitCode === EXIT.failed || exitCode === EXIT.refused,
  };
}

/** Exit code for a status. */
export function exitCodeOf(status: Status): ExitCode {
  return STATUS_EXIT[status];
}

/** Whether a status means nothing was changed because nopea refused to start (exit 2). */
export function refusedBeforeAnyWrite(status: Status): boolean {
  return STATUS_EXIT[status] === EXIT.refused;
}

/** Status of a failure of the whole run; anything that is not a NopeaError is a bug, hence failed. */
export function errorStatus(err: unknown): Status {
  return err instanceof NopeaError ? ERROR_STATUS[err.kind] : 'failed';
}

/** Exit code of a failure of the whole run (before any service result). */
export function errorExitCode(err: unknown): ExitCode {
  return exitCodeOf(errorStatus(err));
}

/**
 * Status of one service's sync. A refusal (invalid input, a safety rail) says so whatever the
 * outcome; otherwise the outcome decides, so a run cancelled while its wait failed is `cancelled`.
 */
export function serviceStatus(s: ServiceSyncResult): Status {
  if (s.error) {
    const status = ERROR_STATUS[s.error.kind];
    if (refusedBeforeAnyWrite(status)) return status;
  }
  return s.outcome;
}

/** The most severe of several statuses (`succeeded` for none). */
export function worstStatus(statuses: readonly Status[]): Status {
  return SEVERITY.find((s) => statuses.includes(s)) ?? 'succeeded';
}

/** Exit code of a whole sync: 1 if anything failed, else 2 if refused, else 4 if a rollout waits, else 0. */
export function syncExitCode(result: SyncResult): ExitCode {
  const codes = result.services.map((s) => exitCodeOf(serviceStatus(s)));
  for (const code of [EXIT.failed, EXIT.refused, EXIT.paused]) if (codes.includes(code)) return code;
  return EXIT.ok;
}

/** Status of a whole sync: the most severe of its services'. */
export function syncStatus(result: SyncResult): Status {
  return worstStatus(result.services.map(serviceStatus));
}

/** What a promote or rollback run ended with, as a status. */
export function moveStatus(result: Pick<RolloutResult, 'action' | 'outcome' | 'error'>): Status {
  if (result.outcome === 'paused') return result.error ? 'cancelled' : 'paused';
  if (result.outcome === 'rolled-back')
    return result.action === 'rollback' && !result.error ? 'succeeded' : 'rolled-back';
  if (result.outcome === 'failed') return 'failed';
  return 'succeeded';
}
