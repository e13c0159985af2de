// The API client's retry policy, against a loopback HTTP server that fails on purpose: transient
// failures are retried with a bound, permanent ones are not, and the final error names the request.
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

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits++;
    (script.shift() ?? ok)(res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client(maxAttempts = 4): KubeClient {
  return new KubeClient(
    { server: url, agent: new http.Agent({ keepAlive: true }), headers: async () => ({}) },
    { maxAttempts, maxBackoffMs: 50, timeoutMs: 2000 },
  );
}

async function get(c: KubeClient) {
  return c.request({ method: 'GET', path: '/api/v1/namespaces/web/configmaps/a', verb: 'get' });
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

  it('returns allowed statuses instead of throwing', async () => {
    script.push(status(404));
    const c = client();
    const res = await c.request({ method: 'GET', path: '/x', verb: 'get', allow: [404] });
    expect(res.status).toBe(404);
    c.close();
  });
});
