/**
 * The one HTTP client every Kubernetes API call goes through. Requests and responses are raw JSON
 * (typed client models drop fields they do not know). It owns keep-alive connections, bounded
 * concurrency, a deadline per attempt, retries of transient failures and request accounting.
 */
import https from 'node:https';
import http from 'node:http';
import { formatDuration } from '../duration.js';
import { retry } from '../poll.js';
import { ApiError, RequestCutShort, ThroughProxy, isTransient, retryAfterMs } from './errors.js';

export type Verb = 'get' | 'list' | 'dry-run' | 'apply' | 'create' | 'update' | 'delete' | 'discovery';

/** Transport details resolved from a kubeconfig; see connect.ts. */
export interface Transport {
  server: URL;
  agent: http.Agent;
  /**
   * The proxy requests go through, when they do: named without its credentials
   * (`http://proxy.example:3128`), and where it was set (`proxy-url` or the environment variable).
   */
  proxy?: { shown: string; source: string };
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
  /** Aborted by `cutInFlight()`, then replaced: it ends what was in flight then, and nothing sent later. */
  private cut = new AbortController();
  /** A caller's signal joined with `cut`, made once per signal while `cut` stays the same. */
  private readonly joined = new WeakMap<AbortSignal, { cut: AbortSignal; signal: AbortSignal }>();
  /** Requests in flight by the signal that ends them: one listener per signal, not one per request. */
  private readonly ending = new Map<
    AbortSignal,
    { requests: Set<http.ClientRequest>; onAbort: () => void }
  >();
  /** Where every request goes: the server's scheme, host and port, and its path prefix (a proxy's). */
  private readonly target: {
    mod: typeof https | typeof http;
    hostname: string;
    port: string;
    prefix: string;
  };

  constructor(
    readonly transport: Transport,
    options: ClientOptions = {},
  ) {
    this.limiter = new Limiter(options.concurrency ?? 16);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 8_000;
    const server = transport.server;
    this.target = {
      mod: server.protocol === 'http:' ? http : https,
      // An IPv6 literal comes bracketed in a URL, and without brackets in request options.
      hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.port,
      // `https://rancher.example/k8s/clusters/c-1`: the API is under that path, as kubectl sends it.
      prefix: server.pathname.replace(/\/+$/, ''),
    };
  }

  get server(): string {
    return this.transport.server.origin;
  }

  /**
   * Cuts short every request in flight now (a second signal while a run stops): each fails as aborted
   * at once, retries included. Requests sent afterwards (releasing the lock) are not affected.
   */
  cutInFlight(): void {
    const cut = this.cut;
    this.cut = new AbortController();
    cut.abort();
  }

  /** Sends one request, retrying transient failures with jittered exponential backoff. */
  async request<T = unknown>(opts: RequestOptions): Promise<Response<T>> {
    const cut = this.cut.signal;
    try {
      return await this.send<T>({ ...opts, signal: this.joinCut(opts.signal, cut) });
    } catch (err) {
      if (cut.aborted) throw new RequestCutShort(`${opts.method} ${opts.path}`);
      throw err;
    }
  }

  /** The signal that ends a request: the caller's joined with `cut`, or `cut` alone. */
  private joinCut(signal: AbortSignal | undefined, cut: AbortSignal): AbortSignal {
    if (!signal) return cut;
    const known = this.joined.get(signal);
    if (known?.cut === cut) return known.signal;
    const joined = AbortSignal.any([signal, cut]);
    this.joined.set(signal, { cut, signal: joined });
    return joined;
  }

  /**
   * Ends `req` when `signal` aborts, as a request given the signal ends (with an AbortError). A signal
   * has one listener for all of its requests in flight, which the last of them removes when it ends;
   * the returned function is how a request says it ended.
   */
  private endWith(signal: AbortSignal, req: http.ClientRequest): () => void {
    let ending = this.ending.get(signal);
    if (!ending) {
      const requests = new Set<http.ClientRequest>();
      const onAbort = (): void => {
        this.ending.delete(signal);
        for (const r of requests) r.destroy(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ending = { requests, onAbort };
      this.ending.set(signal, ending);
    }
    const { requests, onAbort } = ending;
    requests.add(req);
    return () => {
      requests.delete(req);
      if (requests.size > 0 || this.ending.get(signal)?.requests !== requests) return;
      this.ending.delete(signal);
      signal.removeEventListener('abort', onAbort);
    };
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
    let qs = '';
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) qs += `${qs ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
    }
    return opts.path + qs;
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
    const { signal } = opts;
    if (signal?.aborted) throw abortError(signal);
    const { mod, hostname, port, prefix } = this.target;
    return new Promise<Response<T>>((resolve, reject) => {
      // Options, not a URL: http would take a URL apart again for every request.
      const req = mod.request(
        {
          hostname,
          port,
          path: prefix + this.pathWithQuery(opts),
          method: opts.method,
          headers,
          agent: this.transport.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            settled();
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
      const release = signal ? this.endWith(signal, req) : undefined;
      // Coded like a dropped connection, so it is retried: the next attempt may reach a healthier server.
      let timedOut: Error | undefined;
      const deadline = setTimeout(() => {
        timedOut = Object.assign(
          new Error(`${opts.method} ${opts.path}: no complete response within ${formatDuration(deadlineMs)}`),
          { code: 'ETIMEDOUT' },
        );
        req.destroy(timedOut);
      }, deadlineMs);
      function settled(): void {
        clearTimeout(deadline);
        release?.();
      }
      const proxy = this.transport.proxy;
      function fail(err: Error): void {
        settled();
        // An abort stays an AbortError and the deadline its own; a failure on the way may be the proxy's.
        reject(
          proxy && err.name !== 'AbortError' && err !== timedOut
            ? new ThroughProxy(proxy.shown, proxy.source, err)
            : err,
        );
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

/** What a request ended by its signal fails with: the AbortError Node's own requests give. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}
