// A loopback proxy in front of the test cluster's kube-apiserver (issues #13 and #14), for tests and
// the benchmark. Two modes:
//
// - `latency`: plain TCP, TLS passed through untouched, a fixed delay added to every chunk in each
//   direction (order kept: one queue per direction), no throughput cap. Counts connections and bytes.
// - `faults`: terminates TLS with a certificate for 127.0.0.1 signed by the cluster's CA (so the
//   kubeconfig it hands out keeps the same CA, token and everything but the server address), forwards
//   each HTTP/1.1 request to the real API server over TLS and injects faults at a chosen rate,
//   deterministically from a seed: 500, 503, 429 with Retry-After, a reset before the request reached
//   the server, a reset after it did (response dropped), a stalled response. Latency applies here too.
//   Every request is logged (in memory, and as JSONL when `logFile` is given).
//
// Bounded: every socket has an idle timeout and close() ends everything it opened.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';

export type ProxyMode = 'latency' | 'faults';

/** What the faults mode can inject instead of (or on top of) forwarding a request. */
export const FAULT_KINDS = ['500', '503', '429', 'reset-before', 'reset-after', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultOptions {
  /** Share of (matching) requests faulted, 0..1. */
  rate: number;
  /** Kinds drawn from, uniformly (default: all of FAULT_KINDS). */
  kinds?: readonly FaultKind[];
  /** Seed of the draw: the same seed and the same request order give the same faults (default 1). */
  seed?: number;
  /** Only requests this accepts may be faulted (and only they consume the draw); default: all. */
  match?: (request: { method: string; path: string }) => boolean;
  /** Retry-After of an injected 429, in seconds (default 1). */
  retryAfterSeconds?: number;
}

export interface ApiProxyOptions {
  /** Kubeconfig of the cluster to front (its current context's server, CA and user). */
  upstream: string;
  /** Default `latency`. */
  mode?: ProxyMode;
  /** Delay added in each direction, ms (default 10: about 20 ms round trip). */
  delayMs?: number;
  /** Faults mode only; default rate 0 (everything passes). */
  faults?: FaultOptions;
  /** Faults mode: every log entry is also appended to this file as one JSON line. */
  logFile?: string;
  /** A socket with no traffic either way for this long is destroyed (default 60 s). */
  idleTimeoutMs?: number;
}

export interface ProxyLogEntry {
  /** 1, 2, … in the order requests arrived. */
  seq: number;
  /** When the request arrived (ISO). */
  time: string;
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The injected fault, or null when the request was forwarded as is. */
  fault: FaultKind | null;
  /** Status the client saw (injected or upstream's); null when it got none (reset, stall, error). */
  status: number | null;
  /** Whether the request reached the API server. */
  forwarded: boolean;
  /** Until the response ended, the connection was reset or the client gave up. */
  ms: number;
  /** What went wrong, e.g. `client gave up`, an upstream error. */
  error?: string;
}

export interface ProxyStats {
  /** Client connections accepted. */
  connections: number;
  /** Client connections still open. */
  open: number;
  /** Bytes read from clients (TLS bytes in latency mode). */
  bytesFromClients: number;
  /** Bytes written to clients. */
  bytesToClients: number;
  /** HTTP requests seen (faults mode; 0 in latency mode, where TLS is opaque). */
  requests: number;
  /** Injected faults by kind. */
  faults: Record<FaultKind, number>;
}

export interface ApiProxy {
  mode: ProxyMode;
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  /** A copy of the upstream kubeconfig with only the server address replaced; removed by close(). */
  kubeconfig: string;
  /** Faults mode: every finished request so far, in arrival order. */
  log(): ProxyLogEntry[];
  stats(): ProxyStats;
  /** Faults mode: new fault settings from the next request on; the draw restarts from the seed. */
  setFaults(faults: FaultOptions): void;
  /** Ends every connection and timer and removes the temporary files. */
  close(): Promise<void>;
}

interface Upstream {
  host: string;
  port: number;
  /** Absolute path of the CA file, or undefined when the kubeconfig inlines it. */
  caFile?: string;
  ca: Buffer;
}

const execFileAsync = promisify(execFile);

/** Starts the proxy on 127.0.0.1 (a free port). */
export async function startApiProxy(options: ApiProxyOptions): Promise<ApiProxy> {
  const mode = options.mode ?? 'latency';
  const delayMs = options.delayMs ?? 10;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const kubeconfigText = await fsp.readFile(options.upstream, 'utf8');
  const doc = parseDocument(kubeconfigText);
  const clusterPath = currentClusterPath(doc, options.upstream);
  const upstream = readUpstream(doc, clusterPath, options.upstream);
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'nopea-api-proxy-'));
  try {
    const state = new ProxyState(delayMs, idleTimeoutMs);
    let server: net.Server;
    let faults: FaultsHandler | undefined;
    let caOverride: string | undefined;
    if (mode === 'latency') {
      server = net.createServer({ allowHalfOpen: true }, (client) => state.tunnel(client, upstream));
    } else {
      const pki = await proxyCertificate(tmp, upstream);
      caOverride = pki.generatedCa;
      faults = new FaultsHandler(state, upstream, options.faults ?? { rate: 0 }, options.logFile);
      server = faults.listen(pki.key, pki.cert);
    }
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}`;
    doc.setIn([...clusterPath, 'server'], url);
    if (caOverride) {
      doc.deleteIn([...clusterPath, 'certificate-authority-data']);
      doc.setIn([...clusterPath, 'certificate-authority'], caOverride);
    }
    const kubeconfig = path.join(tmp, 'kubeconfig');
    await fsp.writeFile(kubeconfig, doc.toString(), { mode: 0o600 });
    let closed: Promise<void> | undefined;
    return {
      mode,
      url,
      port,
      kubeconfig,
      log: () => faults?.entries.map((entry) => ({ ...entry })) ?? [],
      stats: () => state.stats(),
      setFaults: (next) => {
        if (!faults) throw new Error('setFaults: the proxy runs in latency mode');
        faults.configure(next);
      },
      close: () =>
        (closed ??= (async () => {
          const done = new Promise<void>((resolve) => server.close(() => resolve()));
          state.closeAll();
          await faults?.close();
          await done;
          await fsp.rm(tmp, { recursive: true, force: true });
        })()),
    };
  } catch (error) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Kubeconfig

type YamlDoc = ReturnType<typeof parseDocument>;

/** Path inside the document to the current context's `cluster` mapping. */
function currentClusterPath(doc: YamlDoc, file: string): (string | number)[] {
  const config = doc.toJS() as {
    'current-context'?: string;
    contexts?: { name: string; context?: { cluster?: string } }[];
    clusters?: { name: string }[];
  };
  const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
  const index = config.clusters?.findIndex((c) => c.name === context?.cluster) ?? -1;
  if (index < 0) throw new Error(`${file}: the current context names no cluster in the file`);
  return ['clusters', index, 'cluster'];
}

function readUpstream(doc: YamlDoc, clusterPath: (string | number)[], file: string): Upstream {
  const cluster = doc.getIn(clusterPath, false) as
    { toJSON(): Record<string, string | undefined> } | undefined;
  const fields = cluster?.toJSON() ?? {};
  const server = fields.server ? new URL(fields.server) : undefined;
  if (!server || server.protocol !== 'https:') throw new Error(`${file}: the cluster server is not https`);
  const caFile = fields['certificate-authority']
    ? path.resolve(path.dirname(file), fields['certificate-authority'])
    : undefined;
  const caData = fields['certificate-authority-data'];
  const ca = caFile ? fs.readFileSync(caFile) : caData ? Buffer.from(caData, 'base64') : undefined;
  if (!ca) throw new Error(`${file}: the cluster names no certificate authority`);
  return { host: server.hostname, port: Number(server.port || 443), caFile, ca };
}

/**
 * The proxy's serving certificate for 127.0.0.1, signed with openssl by the cluster's CA when its key
 * lies beside the CA file (the harness' pki/ca.key), else by a CA generated here (`generatedCa`, which
 * the handed-out kubeconfig then names instead).
 */
async function proxyCertificate(
  dir: string,
  upstream: Upstream,
): Promise<{ key: Buffer; cert: Buffer; generatedCa?: string }> {
  const openssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir, timeout: 30_000 });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await fsp.writeFile(
    path.join(dir, 'openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      '[server]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      '',
    ].join('\n'),
  );
  const clusterKey = upstream.caFile && path.join(path.dirname(upstream.caFile), 'ca.key');
  let caCert: string;
  let caKey: string;
  let generatedCa: string | undefined;
  if (clusterKey && upstream.caFile && fs.existsSync(clusterKey)) {
    [caCert, caKey] = [upstream.caFile, clusterKey];
  } else {
    [caCert, caKey] = [path.join(dir, 'ca.crt'), path.join(dir, 'ca.key')];
    await openssl('req', '-x509', '-config', 'openssl.cnf', '-extensions', 'ca', ...ecKey, '-days', '2', '-subj', '/CN=nopea-api-proxy-ca', '-keyout', caKey, '-out', caCert); // prettier-ignore
    generatedCa = caCert;
  }
  await openssl('req', '-new', '-config', 'openssl.cnf', ...ecKey, '-subj', '/CN=nopea-api-proxy', '-keyout', 'proxy.key', '-out', 'proxy.csr'); // prettier-ignore
  await openssl('x509', '-req', '-in', 'proxy.csr', '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', 'openssl.cnf', '-extensions', 'server', '-out', 'proxy.crt'); // prettier-ignore
  const [key, cert] = await Promise.all(
    ['proxy.key', 'proxy.crt'].map((f) => fsp.readFile(path.join(dir, f))),
  );
  return { key: key!, cert: cert!, generatedCa };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('could not read the bound port'));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Delay, sockets, counters

type Item =
  { due: number; chunk: Buffer } | { due: number; end: 'end' | 'destroy' } | { due: number; run: () => void };

/**
 * Forwards `from`'s chunks to `to`, each `delayMs` after it arrived, in arrival order (one queue, one
 * timer), then `from`'s end (or its abrupt close, as a destroy). Backpressure pauses `from`. `head`,
 * when given, runs first, `delayMs` after the pipe was made (e.g. writing a response's status line);
 * `beforeEnd` runs right before `to` is ended (so a log has the entry before the client has its end).
 */
export class DelayedPipe {
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private waitingDrain = false;

  constructor(
    private readonly from: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean },
    private readonly to: NodeJS.WritableStream & { destroyed?: boolean; destroy(): void },
    private readonly delayMs: number,
    private readonly hooks: { head?: () => void; beforeEnd?: () => void } = {},
  ) {
    if (hooks.head) this.push({ due: performance.now() + delayMs, run: hooks.head });
    from.on('data', (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.push({ due: performance.now() + delayMs, chunk: buffer });
    });
    from.on('end', () => this.finish('end'));
    from.on('close', () => this.finish('destroy'));
  }

  /** Drops whatever is still queued. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.ended = true;
  }

  private finish(how: 'end' | 'destroy'): void {
    if (this.ended) return;
    this.ended = true;
    this.push({ due: performance.now() + this.delayMs, end: how });
  }

  private push(item: Item): void {
    this.queue.push(item);
    if (this.delayMs <= 0) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, Math.ceil(this.queue[0]!.due - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const item = this.queue.shift()!;
      if (this.to.destroyed) continue;
      if ('run' in item) item.run();
      else if ('end' in item) {
        if (item.end === 'destroy') this.to.destroy();
        else {
          this.hooks.beforeEnd?.();
          this.to.end();
        }
      } else if (!this.to.write(item.chunk) && !this.waitingDrain) {
        this.waitingDrain = true;
        this.from.pause();
        this.to.once('drain', () => {
          this.waitingDrain = false;
          this.from.resume();
        });
      }
    }
    this.schedule();
  }
}

class ProxyState {
  private readonly sockets = new Set<net.Socket>();
  readonly timers = new Set<NodeJS.Timeout>();
  private readonly pipes = new Set<DelayedPipe>();
  connections = 0;
  requests = 0;
  readonly faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  private closedBytes = { read: 0, written: 0 };
  private closing = false;

  constructor(
    readonly delayMs: number,
    readonly idleTimeoutMs: number,
  ) {}

  /**
   * Tracks a socket: counted (a client's), idle-bounded, destroyed by closeAll(). A TLS socket over it
   * is what sees the traffic, so its idle time is measured there (`idleOn`).
   */
  track(socket: net.Socket, client: boolean, idleOn: net.Socket = socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    if (client) this.connections++;
    // The proxy is the network: it must not add Nagle's delays of its own.
    socket.setNoDelay(true);
    idleOn.setTimeout(this.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (client) {
        this.closedBytes.read += socket.bytesRead;
        this.closedBytes.written += socket.bytesWritten;
      }
    });
    (socket as net.Socket & { nopeaClient?: boolean }).nopeaClient = client;
  }

  pipe(
    from: net.Socket | http.IncomingMessage,
    to: net.Socket | http.ClientRequest | http.ServerResponse,
    hooks?: { head?: () => void; beforeEnd?: () => void },
  ): DelayedPipe {
    const pipe = new DelayedPipe(from, to, this.delayMs, hooks);
    this.pipes.add(pipe);
    from.once('close', () => setTimeout(() => this.pipes.delete(pipe), this.delayMs + 10).unref());
    return pipe;
  }

  /** Latency mode: one client connection tunnelled to the API server. */
  tunnel(client: net.Socket, upstream: Upstream): void {
    this.track(client, true);
    const server = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
    this.track(server, false);
    // An idle or failed side takes the other one down with it.
    const down = () => {
      client.destroy();
      server.destroy();
    };
    client.on('timeout', down);
    server.on('timeout', down);
    server.on('error', down);
    this.pipe(client, server);
    this.pipe(server, client);
  }

  /** setTimeout that close() cancels. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  stats(): ProxyStats {
    let read = this.closedBytes.read;
    let written = this.closedBytes.written;
    let open = 0;
    for (const socket of this.sockets) {
      if (!(socket as net.Socket & { nopeaClient?: boolean }).nopeaClient) continue;
      open++;
      read += socket.bytesRead;
      written += socket.bytesWritten;
    }
    return {
      connections: this.connections,
      open,
      bytesFromClients: read,
      bytesToClients: written,
      requests: this.requests,
      faults: { ...this.faults },
    };
  }

  closeAll(): void {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const pipe of this.pipes) pipe.stop();
    this.pipes.clear();
    for (const socket of this.sockets) socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Faults mode

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** mulberry32: a small deterministic PRNG, [0, 1) (git-server.ts draws with it too). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUS_REASON: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

class FaultsHandler {
  readonly entries: ProxyLogEntry[] = [];
  private settings!: FaultOptions;
  private kinds!: readonly FaultKind[];
  private draw!: () => number;
  private seq = 0;
  private readonly agent: https.Agent;
  private readonly logStream?: fs.WriteStream;
  /** TLS socket → the TCP socket under it, which is what a reset must be sent on. */
  private readonly raw = new WeakMap<net.Socket, net.Socket>();
  private readonly http = http.createServer((request, response) => this.handle(request, response));

  constructor(
    private readonly state: ProxyState,
    private readonly upstream: Upstream,
    faults: FaultOptions,
    logFile?: string,
  ) {
    this.configure(faults);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: upstream.ca });
    if (logFile) this.logStream = fs.createWriteStream(logFile, { flags: 'a' });
    // Idle sockets are destroyed by their own timeout (ProxyState.track); keep-alive as long.
    this.http.keepAliveTimeout = state.idleTimeoutMs;
    this.http.on('upgrade', (request: http.IncomingMessage, socket: net.Socket) => {
      this.record(this.begin(request, null), { error: 'upgrade requests are not proxied' });
      socket.destroy();
    });
  }

  configure(faults: FaultOptions): void {
    if (!(faults.rate >= 0 && faults.rate <= 1)) throw new Error(`fault rate ${faults.rate} is not in 0..1`);
    const kinds = faults.kinds ?? FAULT_KINDS;
    if (faults.rate > 0 && kinds.length === 0)
      throw new Error('a fault rate above 0 needs at least one kind');
    this.settings = faults;
    this.kinds = kinds;
    this.draw = prng(faults.seed ?? 1);
  }

  /** A TCP server that terminates TLS itself, so each request's TCP socket can be reset. */
  listen(key: Buffer, cert: Buffer): net.Server {
    const context = tls.createSecureContext({ key, cert });
    return net.createServer((socket) => {
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: context,
        ALPNProtocols: ['http/1.1'],
      });
      this.state.track(socket, true, secure);
      this.raw.set(secure, socket);
      secure.on('error', () => socket.destroy());
      this.http.emit('connection', secure);
    });
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    this.agent.destroy();
    if (this.logStream) await new Promise<void>((resolve) => this.logStream!.end(resolve));
  }

  private decide(method: string, urlPath: string): FaultKind | null {
    const { rate, match } = this.settings;
    if (rate <= 0 || (match && !match({ method, path: urlPath }))) return null;
    // Two draws per request whatever the outcome, so one seed always gives one sequence.
    const hit = this.draw() < rate;
    const pick = this.kinds[Math.floor(this.draw() * this.kinds.length)]!;
    return hit ? pick : null;
  }

  private begin(request: http.IncomingMessage, fault: FaultKind | null) {
    this.state.requests++;
    if (fault) this.state.faults[fault]++;
    const entry: ProxyLogEntry = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      fault,
      status: null,
      forwarded: false,
      ms: 0,
    };
    return { entry, started: performance.now(), done: false };
  }

  private record(
    pending: ReturnType<FaultsHandler['begin']>,
    patch: Partial<Pick<ProxyLogEntry, 'status' | 'forwarded' | 'error'>>,
  ): void {
    if (pending.done) return;
    pending.done = true;
    Object.assign(pending.entry, patch, { ms: Math.round(performance.now() - pending.started) });
    this.entries.push(pending.entry);
    this.logStream?.write(`${JSON.stringify(pending.entry)}\n`);
  }

  private reset(request: http.IncomingMessage): void {
    const socket = this.raw.get(request.socket) ?? request.socket;
    if (!socket.destroyed) socket.resetAndDestroy();
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const method = request.method ?? 'GET';
    const fault = this.decide(method, request.url ?? '/');
    const pending = this.begin(request, fault);
    const delay = this.state.delayMs;
    response.on('close', () => {
      if (!response.writableFinished) this.record(pending, { error: 'client gave up' });
    });
    if (fault === null || fault === 'reset-after') {
      this.forward(request, response, pending);
      return;
    }
    request.resume();
    if (fault === 'stall') return; // no bytes until the client (or the idle timeout) ends it
    this.state.later(delay, () => {
      if (fault === 'reset-before') {
        this.reset(request);
        this.record(pending, { error: 'reset before forwarding' });
        return;
      }
      // Status answers take the way back too.
      this.state.later(delay, () => {
        const code = Number(fault);
        const retryAfter = this.settings.retryAfterSeconds ?? 1;
        const body = JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `fault injected by the test API proxy (${fault})`,
          reason: STATUS_REASON[code],
          ...(code === 429 ? { details: { retryAfterSeconds: retryAfter } } : {}),
          code,
        });
        response.writeHead(code, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(code === 429 ? { 'retry-after': String(retryAfter) } : {}),
        });
        this.record(pending, { status: code });
        response.end(body);
      });
    });
  }

  private forward(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    pending: ReturnType<FaultsHandler['begin']>,
  ): void {
    const upstreamRequest = https.request({
      host: this.upstream.host,
      port: this.upstream.port,
      method: request.method,
      path: request.url,
      headers: { ...endToEnd(request.headers), host: `${this.upstream.host}:${this.upstream.port}` },
      agent: this.agent,
      timeout: this.state.idleTimeoutMs,
    });
    pending.entry.forwarded = true;
    upstreamRequest.on('timeout', () => upstreamRequest.destroy(new Error('upstream timed out')));
    upstreamRequest.on('error', (error) => {
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(`api proxy: ${error.message}\n`);
        this.record(pending, { status: 502, error: error.message });
      } else {
        response.destroy();
        this.record(pending, { error: error.message });
      }
    });
    // The client gave up (or a watch ended): stop the upstream request too.
    response.on('close', () => {
      if (!response.writableFinished) upstreamRequest.destroy();
    });
    upstreamRequest.on('response', (upstreamResponse) => {
      const status = upstreamResponse.statusCode ?? 0;
      if (pending.entry.fault === 'reset-after') {
        // The server did the work; the client never hears of it.
        upstreamResponse.resume();
        upstreamResponse.on('end', () => {
          this.reset(request);
          this.record(pending, { status: null, error: `reset after the server answered ${status}` });
        });
        return;
      }
      upstreamResponse.on('error', (error) => this.record(pending, { status, error: error.message }));
      // Streamed chunk by chunk (watches, chunked lists), the status line first, each after the delay.
      this.state.pipe(upstreamResponse, response, {
        head: () => {
          response.writeHead(status, endToEnd(upstreamResponse.headers));
          response.flushHeaders();
        },
        beforeEnd: () => this.record(pending, { status }),
      });
    });
    // The request body (and the request's head with it) takes the one-way delay.
    this.state.pipe(request, upstreamRequest);
  }
}
