// The API client's retry policy and deadline, against a loopback HTTP server that fails on purpose:
// transient failures are retried with a bound, permanent ones are not, a response that never
// completes ends at the deadline of its attempt, and the final error names the request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/cluster/client.js';
import { ApiError } from '../../../src/cluster/errors.js';

type Reply = (res: http.ServerResponse, req: http.IncomingMessage) => void;
const script: Reply[] = [];
let hits = 0;
let server: http.Server;
let url: URL;

const status =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(
      JSON.stringify({
        kind: 'Status',
        reason: code === 429 ? 'TooManyRequests' : 'x',
        message: `status ${code}`,
      }),
    );
  };
const ok: Reply = (res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'a' } }));
};
const reset: Reply = (_res, req) => req.socket.destroy();
/** Headers at once, then one byte of body every 50 ms, never finishing: the socket is never idle. */
const trickle: Reply = (res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  const timer = setInterval(() => res.write(' '), 50);
  res.on('close', () => clearInterval(timer));
};
/** The status line, then one byte of a header every 50 ms: the headers never complete. */
const trickleHeaders: Reply = (res) => {
  res.socket?.write('HTTP/1.1 200 OK\r\nx-slow: ');
  const timer = setInterval(() => res.socket?.write('a'), 50);
  res.on('close', () => clearInterval(timer));
};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    (script.shift() ?? ok)(res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(maxAttempts = 4, timeoutMs = 2000): KubeClient {
  return new KubeClient(
    { server: url, agent: new http.Agent({ keepAlive: true }), headers: async () => ({}) },
    { maxAttempts, maxBackoffMs: 50, timeoutMs },
  );
}

async function get(c: KubeClient, signal?: AbortSignal) {
  return c.request({ method: 'GET', path: '/api/v1/namespaces/web/configmaps/a', verb: 'get', signal });
}

describe('KubeClient retries', () => {
  it('retries 5xx, 429 and dropped connections, then succeeds', async () => {
    script.push(status(503), status(429, { 'retry-after': '0' }), reset);
    hits = 0;
    const c = client();
    const res = await get(c);
    expect(res.status).toBe(200);
    expect(hits).toBe(4);
    expect(c.stats.retries).toBe(3);
    expect(c.stats.byVerb.get).toBe(1);
    c.close();
  });

  it('gives up after the bound and names the request', async () => {
    script.push(status(500), status(500), status(500));
    hits = 0;
    const c = client(3);
    const err = await get(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(500);
    expect((err as ApiError).request).toBe('GET /api/v1/namespaces/web/configmaps/a');
    expect(hits).toBe(3);
    c.close();
  });

  it('does not retry what will not get better (conflicts, invalid objects, 403)', async () => {
    for (const code of [409, 422, 403]) {
      script.push(status(code));
      hits = 0;
      const c = client();
      await expect(get(c)).rejects.toMatchObject({ status: code });
      expect(hits).toBe(1);
      c.close();
    }
  });

  it('honours Retry-After within the backoff bound, and the caller signal stops the wait', async () => {
    script.push(status(503, { 'retry-after': '3600' }));
    hits = 0;
    const c = client();
    const controller = new AbortController();
    const started = Date.now();
    // The hour the server asks for is cut to the client's 50 ms maximum.
    expect((await get(c)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);

    const slow = new KubeClient(
      { server: url, agent: new http.Agent({ keepAlive: true }), headers: async () => ({}) },
      { maxAttempts: 5, maxBackoffMs: 60_000 },
    );
    script.push(status(503, { 'retry-after': '30' }));
    const pending = slow.request({ method: 'GET', path: '/x', verb: 'get', signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(slow.stats.retries).toBe(0);
    c.close();
    slow.close();
  });

  it('returns allowed statuses instead of throwing', async () => {
    script.push(status(404));
    const c = client();
    const res = await c.request({ method: 'GET', path: '/x', verb: 'get', allow: [404] });
    expect(res.status).toBe(404);
    c.close();
  });
});

describe('KubeClient deadline', () => {
  for (const [what, reply] of [
    ['the body trickles', trickle],
    ['the headers trickle', trickleHeaders],
  ] as const) {
    it(`ends an attempt at its deadline when ${what}, as a retried timeout naming the request`, async () => {
      script.push(reply, reply, reply);
      hits = 0;
      const c = client(3, 300);
      const started = Date.now();
      const err = await get(c).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(err).toMatchObject({ code: 'ETIMEDOUT' });
      expect((err as Error).message).toBe(
        'GET /api/v1/namespaces/web/configmaps/a: no complete response within 300 ms',
      );
      expect(hits).toBe(3);
      expect(c.stats.retries).toBe(2);
      // Three attempts of 300 ms and two short waits, not forever.
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3_000);
      c.close();
    });
  }
});

describe('cutting requests in flight short (a second signal)', () => {
  it('fails the requests in flight at once, saying they may have landed, and leaves later ones alone', async () => {
    hits = 0;
    script.push(trickle);
    const c = client(4, 60_000);
    const inFlight = c.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/a', verb: 'get' });
    await waitForHits(1);
    const started = Date.now();
    c.cutInFlight();
    await expect(inFlight).rejects.toMatchObject({
      name: 'RequestCutShort',
      message:
        'GET /api/v1/namespaces/a/configmaps/a was cut short by a second signal; it may or may not have reached the cluster',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    // Not retried, and a request sent afterwards (releasing the lock) goes through.
    expect(hits).toBe(1);
    await expect(c.request({ method: 'GET', path: '/after', verb: 'get' })).resolves.toMatchObject({
      status: 200,
    });
    c.close();
  });
});

describe('the caller signal', () => {
  it('ends every request in flight that carries it, as an AbortError, without a retry', async () => {
    hits = 0;
    script.push(trickle, trickle, trickle);
    const c = client(4, 60_000);
    const controller = new AbortController();
    const pending = ['a', 'b', 'c'].map((name) =>
      c.request({
        method: 'GET',
        path: `/api/v1/namespaces/a/configmaps/${name}`,
        verb: 'get',
        signal: controller.signal,
      }),
    );
    await waitForHits(3);
    const started = Date.now();
    controller.abort();
    for (const p of pending) await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hits).toBe(3);
    expect(c.stats.retries).toBe(0);
    // An aborted signal sends nothing; another signal is not affected.
    await expect(get(c, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(hits).toBe(3);
    await expect(get(c, new AbortController().signal)).resolves.toMatchObject({ status: 200 });
    c.close();
  });
});

describe('the server address', () => {
  it('keeps the path of a server behind a proxy (`https://host/k8s/clusters/c-1`) and the query encoded', async () => {
    const paths: string[] = [];
    script.push((res, req) => {
      paths.push(req.url ?? '');
      ok(res, req);
    });
    const c = new KubeClient({
      server: new URL(`${url.origin}/k8s/clusters/c-1/`),
      agent: new http.Agent({ keepAlive: true }),
      headers: async () => ({}),
    });
    await c.request({
      method: 'GET',
      path: '/api/v1/configmaps',
      query: { labelSelector: 'app in (a,b)', limit: 5, continue: undefined },
      verb: 'list',
    });
    expect(paths).toEqual(['/k8s/clusters/c-1/api/v1/configmaps?labelSelector=app%20in%20(a%2Cb)&limit=5']);
    c.close();
  });
});

async function waitForHits(n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (hits < n) {
    if (Date.now() > deadline) throw new Error(`server saw ${hits} requests, expected ${n}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
