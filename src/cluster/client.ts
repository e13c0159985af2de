/**
 * The one HTTP client every Kubernetes API call goes through. Requests and responses are raw JSON
 * (typed client models drop fields they do not know). It owns keep-alive connections, bounded
 * concurrency, retries of transient failures and request accounting.
 */
import https from 'node:https';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, isTransient, retryAfterMs } from './errors.js';

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
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Response<T = unknown> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

export interface ClientOptions {
  /** Maximum requests in flight at once. */
  concurrency?: number;
  /** Attempts per request, first one included. */
  maxAttempts?: number;
  /** Per-attempt timeout. */
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

  /** Sends one request, retrying transient failures with jittered exponential backoff. */
  async request<T = unknown>(opts: RequestOptions): Promise<Response<T>> {
    this.stats.byVerb[opts.verb]++;
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const res = await this.limiter.run(() => this.once<T>(opts));
        if (res.status >= 200 && res.status < 300) return res;
        if (opts.allow?.includes(res.status)) return res;
        throw ApiError.fromResponse(opts.method, this.pathWithQuery(opts), res.status, res.body, res.headers);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (attempt >= this.maxAttempts || !isTransient(err)) throw err;
        this.stats.retries++;
        const backoff = Math.min(this.maxBackoffMs, 250 * 2 ** (attempt - 1));
        const wait = retryAfterMs(err) ?? backoff / 2 + Math.random() * (backoff / 2);
        await sleep(Math.min(wait, this.maxBackoffMs), undefined, { signal: opts.signal });
      }
    }
  }

  private pathWithQuery(opts: RequestOptions): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return qs ? `${opts.path}?${qs}` : opts.path;
  }

  private async once<T>(opts: RequestOptions): Promise<Response<T>> {
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
          res.on('error', reject);
          res.on('end', () => {
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
      req.setTimeout(opts.timeoutMs ?? this.timeoutMs, () => {
        req.destroy(
          Object.assign(new Error(`request timed out: ${opts.method} ${url.pathname}`), {
            code: 'ETIMEDOUT',
          }),
        );
      });
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Frees pooled connections so the process can exit promptly. */
  close(): void {
    this.transport.agent.destroy();
  }
}
