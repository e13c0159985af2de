/**
 * `nopea serve`: the app on a node HTTP server. It refuses to listen beyond loopback without an API
 * key, bounds how long a client may take to send its request, and shuts down gracefully: the first
 * SIGTERM (or SIGINT) stops accepting (new requests answer 503, `/ready` says so) while the requests
 * in flight finish — a deploy runs to its recorded end — and then the process exits 0. A second
 * signal stops the deploys' new writes (recorded as cancelled), a third cuts their requests short.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path, { delimiter } from 'node:path';
import { NopeaError } from '../errors.js';
import { metricsText } from '../metrics/registry.js';
import type { OperationContext } from '../surface/api.js';
import { DEFAULT_GIT_TIMEOUT_MS, Git } from '../state/git.js';
import { apiKeysFrom, hasKeys, isLoopback } from './auth.js';
import { createApp, Lifecycle, MAX_BODY_BYTES } from './app.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** The repository the operations run on. */
  repo: string;
  context: Omit<OperationContext, 'cwd'>;
  /** The remote refs are fetched from (default: the state remote, else origin). */
  remote?: string;
  env: NodeJS.ProcessEnv;
  /** Bound on receiving a request (headers and body) from a client. */
  readTimeoutMs: number;
  lockWaitMs: number;
  maxBodyBytes?: number;
  log: (line: string) => void;
}

export interface RunningServer {
  url: string;
  /** Resolves when the server has shut down (after a signal, or `shutdown()`). */
  closed: Promise<void>;
  /** Stops accepting, lets requests in flight finish, then closes. */
  shutdown(): Promise<void>;
}

/** Whether `dir` is (inside) a git repository. */
async function isRepository(dir: string): Promise<boolean> {
  try {
    const out = await new Git({ cwd: dir, timeoutMs: DEFAULT_GIT_TIMEOUT_MS }).run([
      'rev-parse',
      '--is-inside-work-tree',
    ]);
    return out.trim() === 'true';
  } catch {
    return false;
  }
}

function listen(server: ServerType, where: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const address = server.address();
    if (address && typeof address === 'object') return resolve(address);
    server.once('listening', () => resolve(server.address() as AddressInfo));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new NopeaError('input', `cannot listen on ${where}: ${err.code ?? err.message}`)),
    );
  });
}

/** Starts the server; rejects (a NopeaError `input`, exit 2) when it may not listen where asked. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const keys = apiKeysFrom(opts.env);
  if (!hasKeys(keys)) {
    if (!isLoopback(opts.host)) {
      throw new NopeaError('input', {
        message: `refusing to serve on ${opts.host} without an API key: anyone who reaches it could deploy`,
        hint: 'set NOPEA_API_KEYS (comma-separated keys; NOPEA_API_WRITE_KEYS for the keys that may deploy), or serve on 127.0.0.1',
      });
    }
    opts.log(
      `warning: no API key is set (NOPEA_API_KEYS): the API on ${opts.host} is open to every local user and process`,
    );
  }
  const lifecycle = new Lifecycle();
  const app = createApp({
    keys,
    context: { ...opts.context, cwd: opts.repo },
    remote: opts.remote ?? opts.context.stateRemote ?? 'origin',
    lifecycle,
    lockWaitMs: opts.lockWaitMs,
    maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    log: opts.log,
    isRepository: () => isRepository(opts.repo),
    metrics: metricsText,
    hiddenPaths: [
      ...[opts.context.kubeconfig, opts.context.kubectl, ...(opts.env.KUBECONFIG ?? '').split(delimiter)]
        .filter((p): p is string => Boolean(p))
        .map((p) => path.resolve(p)),
      homedir(),
      tmpdir(),
      process.cwd(),
      // Where nopea is installed (the script that runs).
      ...(process.argv[1] ? [path.dirname(path.resolve(process.argv[1]))] : []),
    ],
  });
  const server = serve({
    fetch: app.fetch,
    hostname: opts.host,
    port: opts.port,
    serverOptions: {
      // A client that trickles its headers or body is cut off (408) instead of holding a socket.
      headersTimeout: opts.readTimeoutMs,
      requestTimeout: opts.readTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, opts.readTimeoutMs),
      keepAliveTimeout: 5000,
    },
  });
  // Responses not yet written out: the app is done with a request before node has sent its answer.
  const unsent = new Set<ServerResponse>();
  let allSent: (() => void) | undefined;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    unsent.add(res);
    res.once('close', () => {
      unsent.delete(res);
      if (unsent.size === 0) allSent?.();
    });
  });
  const address = await listen(server, `${opts.host}:${opts.port}`);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      lifecycle.draining = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      if (lifecycle.active > 0)
        opts.log(`shutting down: waiting for ${lifecycle.active} request(s) in flight`);
      await lifecycle.whenIdle();
      if (unsent.size > 0) await new Promise<void>((resolve) => (allSent = resolve));
      if ('closeAllConnections' in server) server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      opts.log(`${signal}: shutting down; requests in flight finish (again to stop their new writes)`);
      void shutdown();
    } else if (signals === 2) {
      opts.log(`${signal}: stopping new writes of the requests in flight; their outcome is recorded`);
      lifecycle.stop.abort();
    } else {
      opts.log(`${signal}: cutting requests in flight short`);
      lifecycle.hurry.abort();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const closed = new Promise<void>((resolve) => {
    server.once('close', () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    });
  });
  opts.log(`listening on ${url}`);
  return { url, closed, shutdown };
}
