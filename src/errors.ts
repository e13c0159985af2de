/**
 * Typed errors. Every failure a user can cause is a NopeaError whose `kind` the interfaces map to an
 * exit code (CLI, Action), an HTTP status or an MCP tool error. Messages name the file, line or
 * object involved and say what to do.
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
}

/**
 * - `input`: manifests, flags or configuration are invalid; nothing was changed (exit 2).
 * - `guard`: a safety rail refused the change (prune threshold, protected kind); nothing was changed (exit 2).
 * - `cluster`: the cluster refused or failed a request (exit 1).
 * - `deploy`: the deploy ran and failed: apply, health or timeout (exit 1).
 * - `state`: the state branch could not be read or written (exit 1).
 * - `internal`: a bug in nopea (exit 1).
 */
export type ErrorKind = 'input' | 'guard' | 'cluster' | 'deploy' | 'state' | 'internal';

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

  /** Exit status for CLI and Action, as documented in DESIGN.md. */
  get exitCode(): number {
    return this.kind === 'input' || this.kind === 'guard' ? 2 : 1;
  }
}

/** Invalid input: exit 2, nothing changed. */
export function inputError(problems: Problem[] | Problem | string): NopeaError {
  return new NopeaError('input', problems);
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
