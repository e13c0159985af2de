/**
 * Errors from the Kubernetes API, parsed from its `Status` body so callers can branch on reason
 * (Conflict, Invalid, Forbidden, NotFound) and show the server's own words.
 */
import type http from 'node:http';
import { isPlainObject } from '../resources/object.js';
import { MASK } from '../resources/secrets.js';

/** One entry of `Status.details.causes`: for a 409 apply conflict, `field` and the owning manager. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: StatusCause[],
    readonly request: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Builds an ApiError from a non-2xx response, keeping the server's message. */
  static fromResponse(
    method: string,
    path: string,
    status: number,
    body: unknown,
    headers: http.IncomingHttpHeaders,
  ): ApiError {
    let reason = '';
    let message = '';
    let causes: StatusCause[] = [];
    if (isPlainObject(body)) {
      reason = typeof body.reason === 'string' ? body.reason : '';
      message = typeof body.message === 'string' ? body.message : '';
      const details = body.details;
      if (isPlainObject(details) && Array.isArray(details.causes)) causes = details.causes as StatusCause[];
    } else if (typeof body === 'string') {
      message = body.trim().slice(0, 500);
    }
    if (!message) message = `HTTP ${status}`;
    const ra = Number(headers['retry-after']);
    return new ApiError(
      status,
      reason || defaultReason(status),
      message,
      causes,
      `${method} ${path}`,
      Number.isFinite(ra) ? ra : undefined,
    );
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return status >= 500 ? 'InternalError' : 'Unknown';
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

/**
 * Server-side apply cannot build its typed patch when a manifest value has the wrong type
 * (`replicas: two`). The API server answers that with a 500, though the request, not the server,
 * is at fault: `failed to create typed patch object (web/api; apps/v1, Kind=Deployment):
 * .spec.replicas: expected numeric (int or float), got string`; several fields come as
 * `errors:` followed by one indented line each.
 */
const TYPED_PATCH_FAILURE = /failed to create typed patch object(?: \([^)]*\))?: /;

/**
 * Why the server refused an object itself, in its words (for a type error, the field paths and what
 * each expected), or undefined when the failure is not the object's. Invalid objects (400, 422) and
 * values of the wrong type (SSA's 500) are the manifest's to fix: never worth a retry. For a Secret
 * (`secret`), the values the server quotes back are masked: its answer reaches logs and the record.
 */
export function invalidObjectReason(err: unknown, secret = false): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  if (err.status === 400 || err.status === 422) return secret ? maskQuotedValues(err.message) : err.message;
  if (err.status !== 500) return undefined;
  const typed = TYPED_PATCH_FAILURE.exec(err.message);
  if (!typed) return undefined;
  const fields = err.message.slice(typed.index + typed[0].length).replace(/^\s*errors:\s*/, '');
  return (
    (secret ? maskQuotedValues(fields) : fields)
      .split(/\n\s*/)
      .filter(Boolean)
      .join('; ')
      // The server prints a scalar it did not expect as the Go value holding it.
      .replace(/&value\.valueUnstructured\{Value:(.*?)\}/g, '$1')
  );
}

/**
 * A server message about a Secret with the values it quotes masked: what follows `got` on each line
 * (`expected string, got &value.valueUnstructured{Value:482913}`; a list or mapping prints as Go
 * literals with braces of their own, so the mask runs to the end of the line).
 */
function maskQuotedValues(message: string): string {
  return message.replace(/\bgot .*$/gm, `got ${MASK}`);
}

/** Whether a failure is worth retrying: server overload, 5xx, dropped or timed-out connections. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) {
    if (err.status === 429) return true;
    if (invalidObjectReason(err) !== undefined) return false;
    // 501 and 505 (the server lacks the feature or protocol) will not get better on retry.
    return err.status >= 500 && err.status !== 501 && err.status !== 505;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** The server's Retry-After in milliseconds, bounded so a hostile value cannot stall a run. */
export function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof ApiError && err.retryAfter !== undefined) return Math.min(err.retryAfter, 30) * 1000;
  return undefined;
}

/** Fields of a 409 apply conflict as `field (manager)` strings, parsed from the server's causes. */
export function conflictFields(err: ApiError): { field: string; manager: string }[] {
  return err.causes
    .filter((c) => c.reason === 'FieldManagerConflict')
    .map((c) => ({
      field: c.field ?? '?',
      manager: /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1] ?? 'another manager',
    }));
}

/**
 * A request that failed on its way through a proxy (the proxy refused the tunnel, or could not be
 * reached): the message says which proxy (without its credentials), `source` where it was set
 * (`proxy-url`, the kubeconfig cluster's, or the environment variable's name), and the code stays the original's, so what is
 * transient is still retried.
 */
export class ThroughProxy extends Error {
  readonly code: string | undefined;
  constructor(
    readonly proxy: string,
    readonly source: string,
    cause: Error,
  ) {
    super(`${cause.message} (through the proxy ${proxy})`, { cause });
    this.name = 'ThroughProxy';
    const code = (cause as { code?: unknown }).code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/**
 * A request cut short in flight by a second signal. Whether it reached the cluster is unknown: a
 * write may or may not have been applied.
 */
export class RequestCutShort extends Error {
  constructor(readonly request: string) {
    super(`${request} was cut short by a second signal; it may or may not have reached the cluster`);
    this.name = 'RequestCutShort';
  }
}
