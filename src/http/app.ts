/**
 * The HTTP API as a hono app: the routes of `routes.ts`, each calling one facade operation through
 * `runOperation` and answering with the HTTP status `meaningOf` gives its status; API keys; request
 * ids; the body limit; the error body of `errors.ts` for every failure. No I/O of its own besides
 * what it is given (`AppOptions`), so tests drive it with `app.request()`.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { ERROR_KINDS, NopeaError, errorJson, type Problem } from '../errors.js';
import {
  OPERATIONS,
  runOperation,
  type ErrorJson,
  type Answer,
  type Operation,
  type OperationContext,
} from '../surface/api.js';
import { errorStatus, meaningOf } from '../surface/outcome.js';
import type { SyncEvent } from '../surface/sync-types.js';
import { VERSION } from '../version.js';
import { accessOf, presentedKey, type Access, type ApiKeys } from './auth.js';
import { checkoutRef, type Checkout } from './checkout.js';
import { errorEnvelope, plainError, PathScrubber, type ErrorEnvelope, type HttpErrorKind } from './errors.js';
import { API_ROUTES, healthRoute, metricsRoute, readyRoute, type ApiRoute } from './routes.js';

/** Default bound on a request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The server's life: requests in flight, and whether it is shutting down. While it drains, new
 * requests are refused (503) and the ones in flight finish; `stop` stops their new writes and
 * `hurry` cuts their requests in flight short (a second and a third signal).
 */
export class Lifecycle {
  draining = false;
  readonly stop = new AbortController();
  readonly hurry = new AbortController();
  private inFlight = 0;
  private idle: (() => void)[] = [];

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  get active(): number {
    return this.inFlight;
  }

  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }
}

export interface AppOptions {
  keys: ApiKeys;
  /** Where operations run: the repository (`cwd`), the cluster and the state branch. */
  context: OperationContext & { cwd: string };
  /** The remote a `ref` is fetched from. */
  remote: string;
  lifecycle: Lifecycle;
  /** How long a deploy waits for a service lock another run holds before answering 409 (default 0). */
  lockWaitMs?: number;
  maxBodyBytes?: number;
  /** Paths of the server masked in every error (its kubeconfig, kubectl, home and temp directories). */
  hiddenPaths?: string[];
  /** A line for the server log (stderr). */
  log: (line: string) => void;
  /** Whether the repository is a git repository (readiness). */
  isRepository: () => Promise<boolean>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Replaceable in tests. */
  run?: typeof runOperation;
  checkout?: typeof checkoutRef;
}

type Env = { Variables: { requestId: string; access: Access } };

const OPEN_PATHS = new Set(['/health', '/ready', '/api/openapi.json']);

/** Watches a sync's events for another run's lock, and stops the sync when it would wait too long. */
class LockWatch {
  /** Who held the lock this run gave up waiting for. */
  lockedBy: { service: string; holder: string } | undefined;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private waiting: { service: string; holder: string } | undefined;

  constructor(private readonly waitMs: number) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onEvent(event: SyncEvent): void {
    if (event.type === 'lock-wait') {
      this.waiting = { service: event.service, holder: event.holder };
      if (this.waitMs <= 0) this.giveUp();
      else this.timer ??= setTimeout(() => this.giveUp(), this.waitMs);
    } else if (event.type === 'stage' && event.stage !== 'lock' && this.waiting?.service === event.service) {
      // Taken after all.
      this.dispose();
      this.waiting = undefined;
    }
  }

  private giveUp(): void {
    if (this.controller.signal.aborted || !this.waiting) return;
    this.lockedBy = this.waiting;
    this.controller.abort();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The first error a result carries (a move's, or the first failing service's). */
function resultError(result: unknown): z.infer<typeof ErrorJson> | undefined {
  type E = z.infer<typeof ErrorJson>;
  const r = result as { error?: E; services?: { error?: E }[] };
  return r.error ?? r.services?.find((s) => s.error)?.error;
}

/** Builds the app. */
export function createApp(options: AppOptions): OpenAPIHono<Env> {
  const { keys, lifecycle, log } = options;
  const run = options.run ?? runOperation;
  const checkout = options.checkout ?? checkoutRef;
  const scrubber = new PathScrubber([options.context.cwd], options.hiddenPaths);

  const fail = (c: Context<Env>, status: number, error: ErrorEnvelope, extra: object = {}): Response =>
    c.json({ ...extra, error }, status as ContentfulStatusCode);

  /** An internal error's details, for the log only. */
  const logInternal = (rid: string, what: unknown): void => {
    const text =
      what instanceof Error ? (what.stack ?? what.message) : JSON.stringify(what, null, 2) || String(what);
    log(`${rid} internal error: ${text}`);
  };

  /**
   * A result as an answer may show it: the repository's paths relative; its nested errors (a
   * service's, a move's) scrubbed as error bodies are, an internal one reduced to the fact that it happened.
   */
  const scrubResult = (rid: string, scrub: PathScrubber, value: unknown): unknown => {
    if (typeof value === 'string') return scrub.relative(value);
    if (Array.isArray(value)) return value.map((v) => scrubResult(rid, scrub, v));
    if (!value || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    if (
      typeof o.kind === 'string' &&
      (ERROR_KINDS as readonly string[]).includes(o.kind) &&
      Array.isArray(o.problems)
    ) {
      if (o.kind !== 'internal') return scrub.json(o);
      logInternal(rid, o.problems);
      return { ...o, problems: [{ message: errorEnvelope('internal', rid, scrub).message }] };
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, scrubResult(rid, scrub, v)]));
  };

  const envelopeOf = (
    rid: string,
    scrub: PathScrubber,
    error: { kind: HttpErrorKind; problems: Problem[] },
  ): ErrorEnvelope => {
    if (error.kind === 'internal') logInternal(rid, error.problems);
    return errorEnvelope(error.kind, rid, scrub, error.problems);
  };

  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const problems = result.error.issues.map((issue) => ({
        message: `${issue.path.length > 0 ? issue.path.join('.') : result.target}: ${issue.message}`,
      }));
      const rid = c.get('requestId');
      return fail(c, meaningOf('invalid').httpStatus, errorEnvelope('input', rid, scrubber, problems));
    },
  });

  app.use('*', requestId({ generator: () => randomUUID() }));
  app.use('*', async (c, next) => {
    const started = Date.now();
    lifecycle.begin();
    try {
      if (lifecycle.draining && !OPEN_PATHS.has(c.req.path)) {
        c.header('connection', 'close');
        return fail(c, 503, plainError('unavailable', c.get('requestId')));
      }
      await next();
      // Shutting down: the client's connection is not kept for another request.
      if (lifecycle.draining) c.res.headers.set('connection', 'close');
    } finally {
      lifecycle.end();
      log(`${c.get('requestId')} ${c.req.method} ${c.req.path} ${c.res.status} ${Date.now() - started}ms`);
    }
  });
  const authenticate: MiddlewareHandler<Env> = async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    const access = accessOf(keys, presentedKey(c.req.header('authorization'), c.req.header('x-api-key')));
    if (access === 'none') {
      c.header('www-authenticate', 'Bearer realm="nopea"');
      return fail(c, 401, plainError('unauthorized', c.get('requestId')));
    }
    c.set('access', access);
    return next();
  };
  app.use('/api/*', authenticate);
  app.use('/metrics', authenticate);
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? MAX_BODY_BYTES,
      onError: (c) =>
        fail(
          c as Context<Env>,
          413,
          plainError(
            'too-large',
            c.get('requestId') as string,
            `the request body is larger than ${options.maxBodyBytes ?? MAX_BODY_BYTES} bytes`,
          ),
        ),
    }),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'a key of NOPEA_API_KEYS (reads) or NOPEA_API_WRITE_KEYS (reads and changes)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description: 'the same keys, in a header',
  });

  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyRoute, async (c) => {
    const repository = await options.isRepository().catch(() => false);
    const checks = {
      repository: repository ? 'ok' : 'not a git repository',
      server: lifecycle.draining ? 'shutting down' : 'ok',
    };
    const ready = repository && !lifecycle.draining;
    return c.json({ ready, checks }, ready ? 200 : 503);
  });
  app.openapi(metricsRoute, async (c) => {
    const { contentType, body } = await options.metrics();
    return c.body(body, 200, { 'content-type': contentType }) as never;
  });

  const handle = async (c: Context<Env>, route: ApiRoute): Promise<Response> => {
    const rid = c.get('requestId');
    const valid = (target: string): Record<string, unknown> =>
      ((c.req.valid as (t: string) => unknown)(target) as Record<string, unknown> | undefined) ?? {};
    const { ref, ...request } = { ...valid('query'), ...valid('json'), ...valid('param') };
    const op = OPERATIONS[route.operation] as unknown as Operation;
    if (op.writes(request) && c.get('access') !== 'write') {
      return fail(c, 403, plainError('forbidden', rid));
    }
    const lock = new LockWatch(options.lockWaitMs ?? 0);
    const ctx: OperationContext = {
      ...options.context,
      signal: AbortSignal.any([lifecycle.stop.signal, lock.signal]),
      hurry: lifecycle.hurry.signal,
      onEvent: (event) => {
        lock.onEvent(event);
        if (event.type === 'stage') log(`${rid} ${event.service}: ${event.stage}`);
        if (event.type === 'lock-wait') log(`${rid} ${event.service}: lock held by ${event.holder}`);
      },
    };
    let scrub = scrubber;
    let worktree: Checkout | undefined;
    try {
      if (typeof ref === 'string' && route.readsRef) {
        worktree = await checkout(options.context.cwd, options.remote, ref);
        log(`${rid} ref ${ref} is ${worktree.commit}, checked out in ${worktree.dir}`);
        ctx.cwd = worktree.dir;
        scrub = scrubber.with(worktree.dir);
      }
      const answer: Answer = await run(route.operation, request, ctx);
      const result = answer.result === undefined ? {} : (scrubResult(rid, scrub, answer.result) as object);
      if (lock.lockedBy) {
        const { service, holder } = lock.lockedBy;
        return fail(
          c,
          409,
          errorEnvelope('locked', rid, scrub, [
            {
              message: `service ${service} is locked by another deploy: ${holder}`,
              hint: 'retry once that deploy has finished',
            },
          ]),
          result,
        );
      }
      const { httpStatus } = meaningOf(answer.status);
      if (answer.error) return fail(c, httpStatus, envelopeOf(rid, scrub, answer.error));
      if (httpStatus < 400) return c.json(result, httpStatus as ContentfulStatusCode);
      const error = resultError(result) ?? {
        kind: 'deploy' as const,
        problems: [{ message: `the ${route.operation} ended ${answer.status}` }],
      };
      return fail(c, httpStatus, envelopeOf(rid, scrub, error), result);
    } catch (err) {
      const error = errorJson(err);
      if (!(err instanceof NopeaError)) logInternal(rid, err);
      const status = err instanceof NopeaError ? meaningOf(errorStatus(err)).httpStatus : 500;
      return fail(c, status, errorEnvelope(error.kind, rid, scrub, error.problems));
    } finally {
      lock.dispose();
      await worktree
        ?.remove()
        .catch((err: unknown) => log(`${rid} could not remove ${worktree?.dir}: ${String(err)}`));
    }
  };
  for (const route of API_ROUTES) {
    app.openapi(route.route as RouteConfig, ((c: Context<Env>) => handle(c, route)) as never);
  }

  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'nopea',
      version: VERSION,
      description:
        'The HTTP API of nopea serve: the operations of the CLI as JSON. Errors: {error: {kind, message, requestId, problems?}}.',
    },
  });

  app.notFound((c) => fail(c, 404, plainError('not-found', c.get('requestId'))));
  app.onError((err, c) => {
    const rid = c.get('requestId') ?? 'none';
    if (err instanceof HTTPException && err.status < 500) {
      const kind: HttpErrorKind =
        err.status === 413 ? 'too-large' : err.status === 415 ? 'unsupported-media-type' : 'input';
      // hono's own messages ("Malformed JSON in request body") say nothing about the server.
      return fail(c, err.status, errorEnvelope(kind, rid, scrubber, [{ message: err.message || kind }]));
    }
    logInternal(rid, err);
    return fail(c, 500, plainError('internal', rid));
  });
  return app;
}
