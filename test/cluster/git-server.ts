// A loopback git smart-HTTP server for tests, the git sibling of api-proxy.ts: it serves the bare
// repositories under a directory through the real `git http-backend` (CGI, one process per request)
// and injects faults at a chosen rate, deterministically from a seed, or queued one by one, so a test
// can see what nopea does when a push or fetch of its state branch goes wrong:
//
// - `push-503`: a receive-pack POST answered 503 without reaching git (the push did not land).
// - `push-reject`: git runs nothing; the answer is the one a declining pre-receive hook gives, a 200
//   receive-pack result whose report says `ng <ref> pre-receive hook declined` for every ref of the
//   request (in pkt-line format, inside side-band when the client asked for it).
// - `push-drop-after`: the POST goes to git, which finishes (the ref IS updated on disk); then the
//   connection is destroyed without a byte of the response (the client sees an error; the push landed).
// - `push-drop-before`: the connection is destroyed before anything reaches git (did not land).
// - `fetch-slow`: every chunk of an upload-pack response (`GET …/info/refs?service=git-upload-pack`,
//   `POST …/git-upload-pack`) waits `slowMs` before it is passed on, one after another.
// - `fetch-drop`: an upload-pack POST's response is cut (connection destroyed) after its first chunk.
//
// A push kind applies only to receive-pack POSTs, a fetch kind only to upload-pack requests (and
// `fetch-drop` only to the POSTs): each request draws among the configured kinds that apply to it, and
// a request none applies to neither draws nor is faulted. The 4-byte POST of a lone flush packet that
// git sends as a probe before a large (chunked) request carries no request and is never faulted.
// Every response closes its connection unless `keepAlive` is set (see there: curl would otherwise
// resend a dropped push on its own). Every request is logged (in memory, and as JSONL with `logFile`).
//
// Bounded: every socket has an idle timeout; git runs without a shell, in a process group of its own
// that is killed when the client goes away; close() ends every socket, process and timer.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { prng } from './api-proxy.js';

/** What the server can inject instead of (or around) running git for a request. */
export const GIT_FAULT_KINDS = [
  'push-503',
  'push-reject',
  'push-drop-after',
  'push-drop-before',
  'fetch-slow',
  'fetch-drop',
] as const;
export type GitFaultKind = (typeof GIT_FAULT_KINDS)[number];

export interface GitFaultOptions {
  /** Share of the requests a kind applies to that are faulted, 0..1. */
  rate: number;
  /** Kinds drawn from, uniformly among those that apply to the request (default: all). */
  kinds?: readonly GitFaultKind[];
  /** Seed of the draw: the same seed and the same request order give the same faults (default 1). */
  seed?: number;
  /**
   * `fetch-slow`: each chunk git writes waits this long before it is passed on, one after another, so
   * a response of n chunks takes at least n × slowMs (default 200 ms).
   */
  slowMs?: number;
}

export interface GitServerOptions {
  /** Directory holding the bare repositories; `repoUrl(name)` serves `<root>/<name>`. */
  root: string;
  /** Default rate 0 (only queued faults are injected). */
  faults?: GitFaultOptions;
  /** Every log entry is also appended to this file as one JSON line. */
  logFile?: string;
  /** A socket with no traffic either way for this long is destroyed (default 60 s). */
  idleTimeoutMs?: number;
  /**
   * Keep connections open between requests (default false: every response says `Connection: close`).
   * Off by default because curl, under git, silently sends a request again on a fresh connection when
   * a reused one dies before the first byte of its response: that hides `push-drop-before` (the retry
   * lands) and turns `push-drop-after` into a second push (`cannot lock ref … but expected …`).
   */
  keepAlive?: boolean;
}

/**
 * `upload-pack` / `receive-pack`: the POST of that service (`…/git-upload-pack`, `…/git-receive-pack`);
 * `info`: a `GET …/info/refs` (its `service=` query, in `path`, says which); `other`: anything else.
 */
export type GitService = 'upload-pack' | 'receive-pack' | 'info' | 'other';

export interface GitLogEntry {
  /** 1, 2, … in the order requests arrived. */
  seq: number;
  /** When the request arrived (ISO). */
  time: string;
  method: string;
  /** Path and query, as sent. */
  path: string;
  service: GitService;
  /** The request's Content-Encoding, when it had one (git gzips upload-pack requests over 1 KiB). */
  encoding?: string;
  /** The injected fault, or null when the request was served as is. */
  fault: GitFaultKind | null;
  /** Status the client saw (injected or git's); null when it got none (a drop, an error). */
  status: number | null;
  /** Whether the request reached git http-backend. */
  forwarded: boolean;
  /** Until the response ended, the connection was destroyed or the client gave up. */
  ms: number;
  /** What went wrong or was done instead, e.g. `client gave up`, `dropped after git answered 200`. */
  error?: string;
}

export interface GitServerStats {
  /** Client connections accepted. */
  connections: number;
  /** Client connections still open. */
  open: number;
  /** Bytes read from clients. */
  bytesFromClients: number;
  /** Bytes written to clients. */
  bytesToClients: number;
  /** HTTP requests seen. */
  requests: number;
  /** git http-backend processes still running. */
  running: number;
  /** Injected faults by kind. */
  faults: Record<GitFaultKind, number>;
}

export interface GitServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** `${url}/${name}`, e.g. repoUrl('remote.git') for `<root>/remote.git`. */
  repoUrl(name: string): string;
  /** New fault settings from the next request on; the draw restarts from the seed (the queue stays). */
  setFaults(faults: GitFaultOptions): void;
  /**
   * Faults for the next requests they apply to, before (and instead of) the seeded draw: a request
   * takes the first queued kind that applies to it, and a request that takes one does not draw.
   */
  queue(...kinds: GitFaultKind[]): void;
  /** Every finished request so far, in arrival order. */
  log(): GitLogEntry[];
  stats(): GitServerStats;
  /** Ends every connection, git process and timer. */
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (a free port). */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const root = path.resolve(options.root);
  if (!fs.statSync(root).isDirectory()) throw new Error(`git server: ${root} is not a directory`);
  const server = new GitHttpServer(root, options);
  const port = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    repoUrl: (name) => `${url}/${name.replace(/^\/+/, '')}`,
    setFaults: (faults) => server.configure(faults),
    queue: (...kinds) => server.enqueue(kinds),
    log: () => server.entries.map((entry) => ({ ...entry })).sort((a, b) => a.seq - b.seq),
    stats: () => server.stats(),
    close: () => (closed ??= server.close()),
  };
}

// ---------------------------------------------------------------------------------------------
// Requests, faults, log

type Backend = ChildProcessByStdio<Writable, Readable, Readable>;

interface Pending {
  entry: GitLogEntry;
  started: number;
  done: boolean;
}

interface CgiHead {
  status: number;
  headers: Record<string, string | string[]>;
}

/** What decides whether a kind applies to a request. */
interface RequestShape {
  service: GitService;
  /** The `service=` query of an info/refs GET. */
  advertises?: string;
  /** A POST of 4 bytes: git's probe (a lone flush packet) before a large chunked request. */
  probe: boolean;
}

const FLUSH = Buffer.from('0000');
const NO_CACHE = {
  expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
  pragma: 'no-cache',
  'cache-control': 'no-cache, max-age=0, must-revalidate',
};
/** Environment kept for git from this process's; the rest is CGI's and ours. */
const KEPT_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'LC_CTYPE', 'SYSTEMROOT'];
const REJECT_REASON = 'pre-receive hook declined';

function applies(kind: GitFaultKind, request: RequestShape): boolean {
  if (request.probe) return false;
  if (kind.startsWith('push-')) return request.service === 'receive-pack';
  if (kind === 'fetch-drop') return request.service === 'upload-pack';
  return (
    request.service === 'upload-pack' ||
    (request.service === 'info' && request.advertises === 'git-upload-pack')
  );
}

class GitHttpServer {
  readonly entries: GitLogEntry[] = [];
  private settings!: GitFaultOptions;
  private kinds!: readonly GitFaultKind[];
  private draw!: () => number;
  private readonly queued: GitFaultKind[] = [];
  private seq = 0;
  private requests = 0;
  private connections = 0;
  private readonly faults = Object.fromEntries(GIT_FAULT_KINDS.map((kind) => [kind, 0])) as Record<GitFaultKind, number>; // prettier-ignore
  private readonly sockets = new Set<net.Socket>();
  private readonly children = new Map<Backend, Promise<void>>();
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private closedBytes = { read: 0, written: 0 };
  private closing = false;
  /** Sockets this server's idle timeout destroyed. */
  private readonly idled = new WeakSet<net.Socket>();
  private readonly logStream?: fs.WriteStream;
  private readonly http = http.createServer((request, response) => this.handle(request, response));

  private readonly idleTimeoutMs: number;
  private readonly keepAlive: boolean;

  constructor(
    private readonly root: string,
    options: GitServerOptions,
  ) {
    this.configure(options.faults ?? { rate: 0 });
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.keepAlive = options.keepAlive ?? false;
    if (options.logFile) this.logStream = fs.createWriteStream(options.logFile, { flags: 'a' });
    // Node resets a kept-alive socket's timeout to `timeout` when its next request arrives: both are
    // the idle timeout, so no request is ever unbounded.
    this.http.timeout = this.idleTimeoutMs;
    this.http.keepAliveTimeout = this.idleTimeoutMs;
    this.http.on('connection', (socket: net.Socket) => this.track(socket));
    this.http.on('upgrade', (request: http.IncomingMessage, socket: net.Socket) => {
      this.record(this.begin(request, this.shape(request).service, null), { error: 'upgrade refused' });
      socket.destroy();
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => {
        const address = this.http.address();
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the bound port'));
      });
    });
  }

  configure(faults: GitFaultOptions): void {
    if (!(faults.rate >= 0 && faults.rate <= 1)) throw new Error(`fault rate ${faults.rate} is not in 0..1`);
    const kinds = faults.kinds ?? GIT_FAULT_KINDS;
    for (const kind of kinds)
      if (!GIT_FAULT_KINDS.includes(kind)) throw new Error(`unknown git fault ${kind}`);
    if (faults.rate > 0 && kinds.length === 0)
      throw new Error('a fault rate above 0 needs at least one kind');
    if (faults.slowMs !== undefined && !(faults.slowMs >= 0))
      throw new Error(`slowMs ${faults.slowMs} is not >= 0`);
    this.settings = faults;
    this.kinds = kinds;
    this.draw = prng(faults.seed ?? 1);
  }

  enqueue(kinds: GitFaultKind[]): void {
    for (const kind of kinds)
      if (!GIT_FAULT_KINDS.includes(kind)) throw new Error(`unknown git fault ${kind}`);
    this.queued.push(...kinds);
  }

  stats(): GitServerStats {
    let read = this.closedBytes.read;
    let written = this.closedBytes.written;
    for (const socket of this.sockets) {
      read += socket.bytesRead;
      written += socket.bytesWritten;
    }
    return {
      connections: this.connections,
      open: this.sockets.size,
      bytesFromClients: read,
      bytesToClients: written,
      requests: this.requests,
      running: this.children.size,
      faults: { ...this.faults },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const wake of [...this.sleeps.values()]) wake();
    this.http.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    for (const child of this.children.keys()) this.stop(child);
    await Promise.all(this.children.values());
    await closed;
    if (this.logStream) await new Promise<void>((resolve) => this.logStream!.end(resolve));
  }

  private track(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs);
    socket.on('timeout', () => {
      this.idled.add(socket);
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.closedBytes.read += socket.bytesRead;
      this.closedBytes.written += socket.bytesWritten;
    });
  }

  /** setTimeout as a promise, resolved early when `response` closes; close() resolves it at once. */
  private sleep(ms: number, response: http.ServerResponse): Promise<void> {
    if (this.closing || response.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeps.delete(timer);
        response.off('close', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeps.set(timer, wake);
      response.once('close', wake);
    });
  }

  private shape(request: http.IncomingMessage): RequestShape {
    const url = new URL(request.url ?? '/', 'http://git.invalid');
    const method = request.method ?? 'GET';
    const probe = method === 'POST' && request.headers['content-length'] === '4';
    if (method === 'POST' && url.pathname.endsWith('/git-upload-pack'))
      return { service: 'upload-pack', probe };
    if (method === 'POST' && url.pathname.endsWith('/git-receive-pack'))
      return { service: 'receive-pack', probe };
    if ((method === 'GET' || method === 'HEAD') && url.pathname.endsWith('/info/refs'))
      return { service: 'info', advertises: url.searchParams.get('service') ?? undefined, probe };
    return { service: 'other', probe };
  }

  private decide(request: RequestShape): GitFaultKind | null {
    const index = this.queued.findIndex((kind) => applies(kind, request));
    if (index >= 0) return this.queued.splice(index, 1)[0]!;
    if (this.settings.rate <= 0) return null;
    const kinds = this.kinds.filter((kind) => applies(kind, request));
    if (kinds.length === 0) return null;
    // Two draws per request a kind applies to, whatever the outcome, so one seed gives one sequence.
    const hit = this.draw() < this.settings.rate;
    const pick = kinds[Math.floor(this.draw() * kinds.length)]!;
    return hit ? pick : null;
  }

  private begin(request: http.IncomingMessage, service: GitService, fault: GitFaultKind | null): Pending {
    this.requests++;
    if (fault) this.faults[fault]++;
    const encoding = request.headers['content-encoding'];
    const entry: GitLogEntry = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      service,
      ...(encoding ? { encoding } : {}),
      fault,
      status: null,
      forwarded: false,
      ms: 0,
    };
    return { entry, started: performance.now(), done: false };
  }

  private record(pending: Pending, patch: Partial<Pick<GitLogEntry, 'status' | 'error'>>): void {
    if (pending.done) return;
    pending.done = true;
    Object.assign(pending.entry, patch, { ms: Math.round(performance.now() - pending.started) });
    this.entries.push(pending.entry);
    if (this.logStream && !this.logStream.writableEnded)
      this.logStream.write(`${JSON.stringify(pending.entry)}\n`);
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!this.keepAlive) response.shouldKeepAlive = false;
    const shape = this.shape(request);
    const fault = this.decide(shape);
    const pending = this.begin(request, shape.service, fault);
    response.on('close', () => {
      if (response.writableFinished) return;
      const why = this.closing ? 'server closed' : this.idled.has(request.socket) ? 'idle timeout' : 'client gave up'; // prettier-ignore
      this.record(pending, { error: why });
    });
    const pathInfo = this.pathInfo(request.url ?? '/');
    if (pathInfo === undefined) {
      request.resume();
      this.answer(response, pending, 400, 'git server: bad path\n');
      return;
    }
    switch (fault) {
      case 'push-drop-before':
        request.resume();
        this.record(pending, { error: 'dropped before forwarding' });
        response.socket?.destroy();
        return;
      case 'push-503':
        // Once the body is in, so that the client is reading when the answer comes.
        request.resume();
        request.on('end', () => this.answer(response, pending, 503, 'fault injected by the test git server (push-503)\n')); // prettier-ignore
        return;
      case 'push-reject':
        this.reject(request, response, pending);
        return;
      default:
        this.forward(request, response, pending, pathInfo);
    }
  }

  /** PATH_INFO for git: the decoded path, undefined when it could leave the root. */
  private pathInfo(url: string): string | undefined {
    const raw = url.split('?')[0]!;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
    if (decoded.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
    return decoded;
  }

  private answer(response: http.ServerResponse, pending: Pending, status: number, text: string): void {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...NO_CACHE }); // prettier-ignore
    this.record(pending, { status });
    response.end(text);
  }

  /**
   * `push-reject`: reads the ref updates from the request (git runs nothing), then answers as
   * receive-pack does when the pre-receive hook declines: `unpack ok`, `ng <ref> <reason>` for each
   * ref, a flush, all inside side-band channel 1 (after a channel 2 message, shown as `remote: …`)
   * when the client asked for side-band.
   */
  private reject(request: http.IncomingMessage, response: http.ServerResponse, pending: Pending): void {
    const gzip = request.headers['content-encoding'] === 'gzip';
    const body: Readable = gzip ? request.pipe(zlib.createGunzip()) : request;
    let head = Buffer.alloc(0);
    let commands: { refs: string[]; capabilities: Set<string> } | undefined;
    body.on('data', (chunk: Buffer) => {
      if (commands) return;
      head = Buffer.concat([head, chunk]);
      commands = parseCommands(head);
      if (!commands && head.length > 1024 * 1024) commands = { refs: [], capabilities: new Set() };
    });
    body.on('error', (error) => {
      this.record(pending, { error: `bad request body: ${error.message}` });
      response.destroy();
    });
    body.on('end', () => {
      if (response.destroyed) return;
      const { refs, capabilities } = commands ?? { refs: [], capabilities: new Set<string>() };
      const report = Buffer.concat([
        pktLine('unpack ok\n'),
        ...refs.map((ref) => pktLine(`ng ${ref} ${REJECT_REASON}\n`)),
        FLUSH,
      ]);
      let payload = report;
      const sideband = capabilities.has('side-band-64k') ? 65515 : capabilities.has('side-band') ? 995 : 0;
      if (sideband > 0) {
        const parts = [band(2, 'fault injected by the test git server (push-reject)\n')];
        for (let at = 0; at < report.length; at += sideband)
          parts.push(band(1, report.subarray(at, at + sideband)));
        payload = Buffer.concat([...parts, FLUSH]);
      }
      response.writeHead(200, {
        'content-type': 'application/x-git-receive-pack-result',
        'content-length': payload.length,
        ...NO_CACHE,
      });
      this.record(pending, { status: 200, error: `rejected ${refs.join(', ') || 'no ref'}` });
      response.end(payload);
    });
  }

  /** Runs git http-backend for the request; `fetch-slow`, `fetch-drop` and `push-drop-after` act on its answer. */
  private forward(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    pending: Pending,
    pathInfo: string,
  ): void {
    const fault = pending.entry.fault;
    const child = this.spawnBackend(request, pathInfo);
    pending.entry.forwarded = true;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, error }));
      child.on('close', (code) => resolve({ code }));
    });
    this.children.set(
      child,
      exited.then(() => void this.children.delete(child)),
    );
    // The client went away (or the connection was cut): git stops too.
    response.on('close', () => {
      if (!response.writableFinished) this.stop(child);
    });
    child.stdin.on('error', () => {});
    request.pipe(child.stdin);

    const relay = async (): Promise<{ head?: CgiHead; cut: boolean }> => {
      const slowMs = fault === 'fetch-slow' ? (this.settings.slowMs ?? 200) : 0;
      let buffered = Buffer.alloc(0);
      let head: CgiHead | undefined;
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        // Read to the end even when nothing is passed on: git must not block on a full pipe.
        if (head && (fault === 'push-drop-after' || response.destroyed)) continue;
        let body = chunk;
        if (!head) {
          buffered = Buffer.concat([buffered, chunk]);
          const parsed = parseCgiHead(buffered);
          if (!parsed) {
            if (buffered.length > 64 * 1024) throw new Error('no CGI header in 64 KiB of output');
            continue;
          }
          head = parsed.head;
          body = parsed.rest;
          if (fault === 'push-drop-after') continue;
          if (slowMs > 0) await this.sleep(slowMs, response);
          // close() wakes the sleep before the destroyed sockets' responses know it: nothing more is sent
          // (a write to such a response may never finish, and close() would wait on it).
          if (response.destroyed || this.closing) continue;
          response.writeHead(head.status, head.headers);
        } else if (slowMs > 0) {
          await this.sleep(slowMs, response);
        }
        if (body.length === 0 || response.destroyed || this.closing) continue;
        await write(response, body);
        if (fault === 'fetch-drop') return { head, cut: true };
      }
      return { head, cut: false };
    };

    void relay()
      .catch((error: Error) => ({ head: undefined, cut: false, error }))
      .then(async (relayed: { head?: CgiHead; cut: boolean; error?: Error }) => {
        if (this.closing) {
          // Whatever git did after close() stopped it, the request ended because the server closed.
          this.record(pending, { error: 'server closed' });
          response.socket?.destroy();
          return;
        }
        if (relayed.cut) {
          this.record(pending, { status: relayed.head?.status ?? null, error: 'cut after the first chunk' });
          response.socket?.destroy();
          return;
        }
        const { code, error } = await exited;
        const failure =
          relayed.error?.message ??
          error?.message ??
          (code === 0 ? undefined : `git http-backend exited with ${code}: ${stderr.trim()}`);
        if (fault === 'push-drop-after') {
          const answered = relayed.head ? `answered ${relayed.head.status}` : 'wrote no CGI header';
          this.record(pending, { error: `dropped after git ${answered}${failure ? ` (${failure})` : ''}` });
          response.socket?.destroy();
          return;
        }
        if (response.destroyed) return;
        if (!relayed.head) {
          this.answer(response, pending, 502, `git server: ${failure ?? 'git http-backend wrote no CGI header'}\n`); // prettier-ignore
          return;
        }
        this.record(pending, { status: relayed.head.status, ...(failure ? { error: failure } : {}) });
        response.end();
      })
      .catch((error: Error) => {
        this.record(pending, { error: error.message });
        response.destroy();
      });
  }

  private spawnBackend(request: http.IncomingMessage, pathInfo: string): Backend {
    const env: NodeJS.ProcessEnv = {};
    for (const name of KEPT_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const set = (name: string, value: string | undefined) => {
      if (value !== undefined) env[name] = value;
    };
    Object.assign(env, {
      // Neither the system's nor the user's git configuration.
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: os.devNull,
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'nopea-test-git-server',
      SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
      REQUEST_METHOD: request.method ?? 'GET',
      PATH_INFO: pathInfo,
      QUERY_STRING: (request.url ?? '').split('?').slice(1).join('?'),
      REMOTE_ADDR: request.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: 'nopea-test',
    });
    set('CONTENT_TYPE', header('content-type'));
    set('CONTENT_LENGTH', header('content-length'));
    // http-backend inflates a gzipped body itself.
    set('HTTP_CONTENT_ENCODING', header('content-encoding'));
    // Protocol v2: http-backend passes it on to upload-pack as GIT_PROTOCOL.
    set('HTTP_GIT_PROTOCOL', header('git-protocol'));
    // receive-pack is refused without http.receivepack (or REMOTE_USER); no `gc --auto` may still
    // write to the repository after the answer.
    const args = ['-c', 'http.receivepack=true', '-c', 'receive.autogc=false', 'http-backend'];
    // A process group of its own, so stop() also ends the upload-pack / receive-pack it runs.
    return spawn('git', args, { cwd: this.root, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  }

  /** SIGTERM to git's process group (so that git removes its lock files), SIGKILL 2 s later. */
  private stop(child: Backend): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const pid = child.pid;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-pid, name);
      } catch {
        // Already gone.
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 2000);
    timer.unref();
    child.once('close', () => clearTimeout(timer));
  }
}

// ---------------------------------------------------------------------------------------------
// CGI and pkt-line

/** The CGI header of http-backend's output (Status: and the rest) and the body bytes after it. */
function parseCgiHead(buffer: Buffer): { head: CgiHead; rest: Buffer } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  const [end, gap] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [-1, 0];
  if (end < 0) return undefined;
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const line of buffer.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10) || 500;
    else if (headers[name] === undefined) headers[name] = value;
    else headers[name] = [headers[name], value].flat();
  }
  return { head: { status, headers }, rest: buffer.subarray(end + gap) };
}

function pktLine(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data]);
}

function band(channel: 1 | 2, data: string | Buffer): Buffer {
  return pktLine(
    Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]),
  );
}

/**
 * The refs a receive-pack request updates (`<old> <new> <ref>` pkt-lines up to the first flush; the
 * first one carries the capabilities after a NUL) once the buffer holds them all, else undefined.
 */
function parseCommands(buffer: Buffer): { refs: string[]; capabilities: Set<string> } | undefined {
  const refs: string[] = [];
  const capabilities = new Set<string>();
  let at = 0;
  while (at + 4 <= buffer.length) {
    const length = Number.parseInt(buffer.subarray(at, at + 4).toString('latin1'), 16);
    // A flush (0000) ends the commands; anything shorter than a header is not a command either.
    if (Number.isNaN(length) || length < 4) return { refs, capabilities };
    if (at + length > buffer.length) return undefined;
    const line = buffer.subarray(at + 4, at + length).toString('utf8');
    at += length;
    const [command, caps] = line.split('\0');
    if (caps !== undefined) for (const cap of caps.trim().split(' ')) if (cap) capabilities.add(cap);
    const match = /^[0-9a-f]{40,64} [0-9a-f]{40,64} (\S+)/.exec(command ?? '');
    if (match) refs.push(match[1]!);
  }
  return undefined;
}

/** Writes a chunk and waits until it is handed to the socket (or the response is gone). */
function write(response: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('close', done);
      resolve();
    };
    response.once('close', done);
    response.write(chunk, done);
  });
}
