/**
 * Typed errors. Every failure a user can cause is a NopeaError with a `kind`; what a kind means to a
 * caller (exit code, Action status, ...) is written once, in `surface/outcome.ts`. Messages name the
 * file, line or object involved and say what to do.
 */

/** Where a manifest document came from: path relative to the repository root and 1-based line. */
export interface Origin {
  file: string;
  line: number;
}

/** One concrete thing that is wrong, with where it is and how to fix it. */
export interface Problem {
  message: string;
  origin?: Origin;
  /** Resource id (`group/Kind/namespace/name`) the problem is about, when there is one. */
  object?: string;
  hint?: string;
  /**
   * A machine reason for what failed, for memory and events (never parsed from `message`): a
   * Kubernetes reason (`ImagePullBackOff`, `ProgressDeadlineExceeded`, `BackoffLimitExceeded`) or
   * nopea's own (`HealthTimeout`, `Conflict`, `Immutable`, `Forbidden`, `Invalid`, `RolloutFailed`).
   */
  reason?: string;
}

/**
 * - `input`: manifests, flags or configuration are invalid; nothing was changed.
 * - `guard`: a safety rail refused the change (prune threshold, protected kind); nothing was changed.
 * - `cancelled`: a signal (or a client's cancellation) stopped the run; what was applied is recorded.
 * - `cluster`: the cluster refused or failed a request.
 * - `deploy`: the deploy ran and failed: apply, health or timeout.
 * - `state`: the state branch could not be read or written.
 * - `internal`: a bug in nopea.
 */
export type ErrorKind = 'input' | 'guard' | 'cancelled' | 'cluster' | 'deploy' | 'state' | 'internal';

/** Every error kind, for schemas that record or transport one. */
export const ERROR_KINDS = [
  'input',
  'guard',
  'cancelled',
  'cluster',
  'deploy',
  'state',
  'internal',
] as const satisfies readonly ErrorKind[];

export class NopeaError extends Error {
  readonly kind: ErrorKind;
  readonly problems: Problem[];

  constructor(kind: ErrorKind, problems: Problem[] | Problem | string, options?: { cause?: unknown }) {
    const list =
      typeof problems === 'string'
        ? [{ message: problems }]
        : Array.isArray(problems)
          ? problems
          : [problems];
    super(list.map(formatProblem).join('\n'), options);
    this.name = 'NopeaError';
    this.kind = kind;
    this.problems = list;
  }
}

/** Invalid input: exit 2, nothing changed. */
export function inputError(problems: Problem[] | Problem | string): NopeaError {
  return new NopeaError('input', problems);
}

/** A run stopped by a signal (or a client's cancellation): no new write starts; what was applied is recorded. */
export function cancelledError(
  message = 'sync cancelled by a signal: no new writes were started; what was applied is recorded',
): NopeaError {
  return new NopeaError('cancelled', message);
}

/** `file:line: message (hint)` — the shape compilers use, so editors and CI link to it. */
export function formatProblem(p: Problem): string {
  const where = p.origin ? `${p.origin.file}:${p.origin.line}: ` : '';
  const what = p.object && !p.message.includes(p.object) ? ` [${p.object}]` : '';
  const hint = p.hint ? `\n  hint: ${p.hint}` : '';
  return `${where}${p.message}${what}${hint}`;
}

/** The message of any thrown value, without stack traces. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A failure as every interface shows it in JSON: its kind and its problems; anything else is `internal`. */
export function errorJson(err: unknown): { kind: ErrorKind; problems: Problem[] } {
  if (err instanceof NopeaError) return { kind: err.kind, problems: err.problems };
  return { kind: 'internal', problems: [{ message: errorMessage(err) }] };
}
