/**
 * The one HTTP client every Kubernetes API call goes through. Requests and responses are raw JSON
 * (typed client models drop fields they do not know). It owns keep-alive connections, bounded
 * concurrency, a deadline per attempt, retries of transient failures and request accounting.
 */
import https from 'node:https';
import http from 'node:http';
import { formatDuration } from '../duration.js';
import { retry } from '../poll.js';
import { ApiError, RequestCutShort, isTransient, retryAfterMs } from './errors.js';

export type Verb = 'get' | 'list' | 'dry-run' | 'apply' | 'create' | 'update' | 'delete' | 'discovery';

/** Transport details resolved from a kubeconfig; see connect.ts. */
export interface Transport {
  server: URL;
  agent: http.Agent;
  /** Auth and impersonation headers; called per request so expiring credentials refresh. */
  headers(): Promise<Record<string, string>>;
}

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Counted under this verb in stats. */
  verb: Verb;
  /** Statuses returned instead of thrown (e.g. 404 for a GET of something that may not exist). */
  allow?: number[];
  /** Deadline of one attempt, instead of the client's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Response<T = unknown> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
  /** Which attempt answered (1 unless a transient failure was retried): a write may have landed before. */
  attempt?: number;
}

export interface ClientOptions {
  /** Maximum requests in flight at once. */
  concurrency?: number;
  /** Attempts per request, first one included. */
  maxAttempts?: number;
  /**
   * Deadline of one attempt, from connecting to the last byte of the body (default 30 s). A server
   * that trickles bytes never lets a socket go idle, so only a deadline on the whole exchange ends it.
   */
  timeoutMs?: number;
  /** Upper bound of one backoff wait. */
  maxBackoffMs?: number;
}

/** Counts of requests by verb, for budgets, benchmarks and "no write" assertions. */
export class RequestStats {
  readonly byVerb: Record<Verb, number> = {
    get: 0,
    list: 0,
    'dry-run': 0,
    apply: 0,
    create: 0,
    update: 0,
    delete: 0,
    discovery: 0,
  };
  retries = 0;

  get total(): number {
    return Object.values(this.byVerb).reduce((a, b) => a + b, 0);
  }

  /** Requests that change the cluster (dry runs excluded). */
  get writes(): number {
    return this.byVerb.apply + this.byVerb.create + this.byVerb.update + this.byVerb.delete;
  }
}

/** One attempt of a request as an observer sees it (no path, body or headers): its verb, status and latency. */
export interface RequestObservation {
  verb: Verb;
  method: RequestOptions['method'];
  /** The HTTP status; 0 when no response arrived (connection failure, deadline, abort). */
  status: number;
  durationMs: number;
}

export type RequestObserver = (observation: RequestObservation) => void;

const observers = new Set<RequestObserver>();

/**
 * Reports every attempt of every client's requests to `observer` (the metrics layer's hook: this
 * layer imports no metrics), until the returned function is called. An observer that throws is ignored.
 */
export function observeRequests(observer: RequestObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

function notify(observation: RequestObservation): void {
  for (const observer of observers) {
    try {
      observer(observation);
    } catch {
      // Accounting never fails a request.
    }
  }
}

/** A small counting semaphore bounding requests in flight. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export class KubeClient {
  readonly stats = new RequestStats();
  private readonly limiter: Limiter;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly maxBackoffMs: number;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly transport: Transport,
    options: ClientOptions = {},
  ) {
    this.limiter = new Limiter(options.concurrency ?? 16);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
  }

  get server(): string {
    return this.transport.server.origin;
  }

  /**
   * Cuts short every request in flight now (a second signal while a run stops): each fails as aborted
   * at once, retries included. Requests sent afterwards (releasing the lock) are not affected.
   */
  cutInFlight(): void {
    for (const controller of this.inFlight) controller.abort();
  }

  /** Sends one request, retrying transient failures with jittered exponential backoff. */
  async request<T = unknown>(opts: RequestOptions): Promise<Response<T>> {
    const cut = new AbortController();
    this.inFlight.add(cut);
    try {
      const signal = opts.signal ? AbortSignal.any([opts.signal, cut.signal]) : cut.signal;
      return await this.send<T>({ ...opts, signal });
    } catch (err) {
      if (cut.signal.aborted) throw new RequestCutShort(`${opts.method} ${opts.path}`);
      throw err;
    } finally {
      this.inFlight.delete(cut);
    }
  }

  private send<T>(opts: RequestOptions): Promise<Response<T>> {
    this.stats.byVerb[opts.verb]++;
    const attemptMs = opts.timeoutMs ?? this.timeoutMs;
    return retry(
      async (attempt) => {
        const res = await this.limiter.run(() => this.observed<T>(opts, attemptMs));
        if (attempt > 1) res.attempt = attempt;
        if (res.status >= 200 && res.status < 300) return res;
        if (opts.allow?.includes(res.status)) return res;
        throw ApiError.fromResponse(opts.method, this.pathWithQuery(opts), res.status, res.body, res.headers);
      },
      {
        // The attempt count is the bound that matters; this only has to let every attempt and wait run.
        timeoutMs: this.maxAttempts * (attemptMs + this.maxBackoffMs),
        maxAttempts: this.maxAttempts,
        backoff: { initialMs: 250, maxMs: this.maxBackoffMs },
        retryable: isTransient,
        retryAfterMs,
        onRetry: () => {
          this.stats.retries++;
        },
        signal: opts.signal,
      },
    );
  }

  private pathWithQuery(opts: RequestOptions): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return qs ? `${opts.path}?${qs}` : opts.path;
  }

  /** One attempt, reported to the observers once it ends (the wait for a free slot not counted). */
  private async observed<T>(opts: RequestOptions, deadlineMs: number): Promise<Response<T>> {
    const began = Date.now();
    let status = 0;
    try {
      const res = await this.once<T>(opts, deadlineMs);
      status = res.status;
      return res;
    } finally {
      if (observers.size > 0)
        notify({ verb: opts.verb, method: opts.method, status, durationMs: Date.now() - began });
    }
  }

  private async once<T>(opts: RequestOptions, deadlineMs: number): Promise<Response<T>> {
    const url = new URL(this.pathWithQuery(opts), this.transport.server);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = {
      ...(await this.transport.headers()),
      Accept: opts.accept ?? 'application/json',
      'User-Agent': 'nopea',
    };
    if (payload) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise<Response<T>>((resolve, reject) => {
      const req = mod.request(
        url,
        { method: opts.method, headers, agent: this.transport.agent, signal: opts.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(deadline);
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            if (text && (res.headers['content-type'] ?? '').includes('json')) {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            resolve({ status: res.statusCode ?? 0, body: body as T, headers: res.headers });
          });
        },
      );
      // Coded like a dropped connection, so it is retried: the next attempt may reach a healthier server.
      const deadline = setTimeout(() => {
        req.destroy(
          Object.assign(
            new Error(
              `${opts.method} ${url.pathname}: no complete response within ${formatDuration(deadlineMs)}`,
            ),
            { code: 'ETIMEDOUT' },
          ),
        );
      }, deadlineMs);
      function fail(err: Error): void {
        clearTimeout(deadline);
        reject(err);
      }
      req.on('error', fail);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Frees pooled connections so the process can exit promptly. */
  close(): void {
    this.transport.agent.destroy();
  }
}
