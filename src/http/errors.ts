/**
 * What an HTTP answer may say about a failure, and nothing more. Every error body is
 * `{error: {kind, message, requestId, problems?}}`; the request id (also the `x-request-id` header of
 * every response) finds the details in the server's log on stderr.
 *
 * What is safe to show: the surface's problems of `input` and `guard` errors name the caller's own
 * manifests (file, line, field) and say how to fix them; those of `cancelled`, `deploy`, `cluster` and
 * `state` say what the cluster or the state branch answered (a pod's ImagePullBackOff, a missing RBAC
 * permission). All of them are shown with absolute server paths replaced and stack frames removed. An
 * `internal` error (a bug, or anything thrown that is not a NopeaError) is never shown: its body says
 * only that it happened and under which request id; its message and stack go to the log.
 */
import { z } from 'zod';
import { ERROR_KINDS, type Problem } from '../errors.js';
import { ErrorJson } from '../surface/api.js';

/** Kinds of the HTTP layer's own refusals, besides the surface's error kinds. */
export const HTTP_ERROR_KINDS = [
  'unauthorized',
  'forbidden',
  'not-found',
  'unsupported-media-type',
  'too-large',
  'locked',
  'unavailable',
] as const;

export type HttpErrorKind = (typeof ERROR_KINDS)[number] | (typeof HTTP_ERROR_KINDS)[number];

export const ErrorEnvelope = z
  .object({
    kind: z.enum([...ERROR_KINDS, ...HTTP_ERROR_KINDS]),
    message: z.string(),
    requestId: z.string(),
    problems: ErrorJson.shape.problems.optional(),
  })
  .describe('what failed; the request id finds the details in the server log');

export const ErrorBody = z.object({ error: ErrorEnvelope });

export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** The folders whose absolute paths an answer must not show (the repository's, the temp worktrees'). */
export class PathScrubber {
  private readonly roots: string[];
  private readonly hidden: RegExp[];

  /**
   * `roots`: folders whose paths become relative (the repository, a ref's worktree); `hidden`: paths
   * of the server masked wherever they occur (its kubeconfig, kubectl, home and temp directories).
   */
  constructor(
    roots: readonly string[],
    private readonly hiddenPaths: readonly string[] = [],
  ) {
    // Longest first, so a worktree under the temp directory becomes relative before the temp dir is masked.
    this.roots = longestFirst(roots);
    this.hidden = longestFirst(hiddenPaths).map(
      (p) =>
        new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[/\\s'"\`),;:]|$)[^\\s'"\`),;:]*`, 'g'),
    );
  }

  /** The same scrubber knowing one more root (a worktree of a ref deploy), whose paths become relative. */
  with(root: string): PathScrubber {
    return new PathScrubber([root, ...this.roots], this.hiddenPaths);
  }

  /** Text with the known roots made relative (a result's: its values are the caller's manifests). */
  relative(value: string): string {
    let out = value;
    for (const root of this.roots) out = out.split(`${root}/`).join('').split(root).join('.');
    return out;
  }

  /** Text of an error: known roots made relative, other absolute paths masked, stack frames removed. */
  text(value: string): string {
    const out = this.relative(value)
      .split('\n')
      .filter((line) => !STACK_FRAME.test(line))
      .join('\n');
    const masked = this.hidden.reduce((text, pattern) => text.replace(pattern, '<path>'), out);
    return masked.replace(FILE_URL, '<path>').replace(ABSOLUTE_PATH, '$1<path>');
  }

  /** Every string in a JSON value scrubbed as `text` does, or only made relative (keys kept). */
  json<T>(value: T, how: 'error' | 'result' = 'error'): T {
    if (typeof value === 'string') return (how === 'error' ? this.text(value) : this.relative(value)) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.json(v, how)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.json(v, how)])) as T;
    }
    return value;
  }
}

function longestFirst(paths: readonly string[]): string[] {
  return [...new Set(paths.filter((p) => p.length > 1))].sort((a, b) => b.length - a.length);
}

/** A line of a JavaScript stack trace. */
const STACK_FRAME = /^\s*at\s+(?:.+\s\()?(?:file:|node:|\/|[A-Za-z]:\\|<anonymous>|native)/;

const FILE_URL = /file:\/\/\/[^\s'"`)]+/g;

/**
 * An absolute path on the server's file system: one under a top-level folder that holds files on a
 * Unix or macOS machine, not an API path (`/api/v1/namespaces`), which the cluster's messages carry.
 */
const ABSOLUTE_PATH =
  /(^|[\s'"`(=:[])\/(?:home|root|tmp|var|usr|opt|etc|work|srv|mnt|private|Users|run|nix|proc|snap|builds|github|runner|__w)(?:\/[^\s'"`),;:\]]*)?/g;

/** Kinds whose problems are the caller's to read (scrubbed); `internal` shows none. */
function showsProblems(kind: HttpErrorKind): boolean {
  return kind !== 'internal';
}

/** Default messages per kind, used when the problems say nothing shorter. */
const MESSAGES: Record<HttpErrorKind, string> = {
  input: 'the request is invalid',
  guard: 'a safety rail refused the change; nothing was changed',
  cancelled: 'the run was cancelled; what was applied is recorded',
  cluster: 'the cluster refused or failed a request',
  deploy: 'the deploy failed',
  state: 'the state branch could not be read or written',
  internal: 'internal error; the server log has the details under this request id',
  unauthorized: 'missing or wrong API key: send Authorization: Bearer <key> or x-api-key: <key>',
  forbidden: 'this key may only read; changes need a key from NOPEA_API_WRITE_KEYS',
  'not-found': 'no such route; GET /api/openapi.json lists them',
  'unsupported-media-type': 'send the request body as application/json',
  'too-large': 'the request body is too large',
  locked: 'the service is locked by another deploy',
  unavailable: 'the server is shutting down',
};

/**
 * The error envelope of an answer: the kind, a message (the first problem's, or the kind's), the
 * request id and, unless the kind is `internal`, the problems, scrubbed.
 */
export function errorEnvelope(
  kind: HttpErrorKind,
  requestId: string,
  scrub: PathScrubber,
  problems: readonly Problem[] = [],
): ErrorEnvelope {
  if (!showsProblems(kind)) return { kind, message: MESSAGES.internal, requestId };
  const shown = scrub.json([...problems]);
  const message = shown[0]?.message ?? MESSAGES[kind];
  return shown.length > 0 ? { kind, message, requestId, problems: shown } : { kind, message, requestId };
}

/** An error envelope with the kind's own message (the HTTP layer's refusals). */
export function plainError(kind: HttpErrorKind, requestId: string, message = MESSAGES[kind]): ErrorEnvelope {
  return { kind, message, requestId };
}
