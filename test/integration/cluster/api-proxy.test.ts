// The loopback proxy in front of the test API server (test/cluster/api-proxy.ts): latency mode passes
// TLS through with the delay it promises, faults mode shows the client exactly the fault it injected
// and logs it, and a seed gives the same sequence again.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiProxy, type ApiProxyOptions, FAULT_KINDS, startApiProxy } from '../../cluster/api-proxy.js';
import { apiCall, apiTargetOf, type ApiTarget } from '../../cluster/harness.js';
import { apiRequest, testCluster, useNamespace, waitFor } from '../../helpers/cluster.js';

const ns = useNamespace('api-proxy', { scope: 'all' });
const proxies: ApiProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

async function proxy(options: Omit<ApiProxyOptions, 'upstream'>): Promise<ApiProxy> {
  const started = await startApiProxy({ upstream: testCluster().kubeconfig, ...options });
  proxies.push(started);
  return started;
}

interface RawReply {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  text?: string;
  /** The client's error code: ECONNRESET, or TIMEOUT when it gave up. */
  error?: string;
  ms: number;
}

/** One raw https request with the cluster CA; never throws, reports what the client saw. */
function raw(target: ApiTarget, method: string, urlPath: string, body?: unknown, timeoutMs = 10_000) {
  const started = performance.now();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<RawReply>((resolve) => {
    const request = https.request(new URL(urlPath, target.server), {
      method,
      ca: target.ca,
      agent: false,
      timeout: timeoutMs,
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    });
    const ms = () => performance.now() - started;
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode, headers: response.headers, text, ms: ms() }),
      );
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code, ms: ms() }));
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code, ms: ms() }));
    request.end(payload);
  });
}

function runKubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const child = spawn(testCluster().kubectl, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { from: 'api-proxy test' },
});

describe('latency mode', () => {
  it('passes kubectl through untouched and counts connections and bytes', async () => {
    const p = await proxy({ mode: 'latency' });
    expect(fs.readFileSync(p.kubeconfig, 'utf8')).toContain(p.url);
    const result = await runKubectl([`--kubeconfig=${p.kubeconfig}`, 'get', 'ns', '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`namespace/${ns.name}`);
    const stats = p.stats();
    expect(stats.connections).toBeGreaterThanOrEqual(1);
    expect(stats.bytesFromClients).toBeGreaterThan(0);
    expect(stats.bytesToClients).toBeGreaterThan(stats.bytesFromClients);
    expect(p.log()).toEqual([]);
  });

  it('adds at least the delay in each direction to a round trip', async () => {
    const delayMs = 40;
    const p = await proxy({ mode: 'latency', delayMs });
    const direct = apiTargetOf(testCluster().kubeconfig);
    const proxied = { ...direct, server: p.url };
    const fastest = async (target: ApiTarget) => {
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const reply = await apiCall(target, 'GET', `/api/v1/namespaces/${ns.name}`);
        expect(reply.status).toBe(200);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const directMs = await fastest(direct);
    const proxiedMs = await fastest(proxied);
    // A fresh connection takes more than one round trip (TCP, TLS, the request); one is the bound.
    expect(proxiedMs - directMs).toBeGreaterThanOrEqual(2 * delayMs);
  });
});

describe('faults mode', () => {
  it('forwards everything at rate 0, with the same token and CA as the cluster kubeconfig', async () => {
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'api-proxy-log-')), 'log.jsonl');
    const p = await proxy({ mode: 'faults', delayMs: 0, faults: { rate: 0 }, logFile });
    const result = await runKubectl([`--kubeconfig=${p.kubeconfig}`, 'get', 'ns', ns.name, '-o', 'name']);
    expect(result.code).toBe(0);
    const target = apiTargetOf(p.kubeconfig);
    for (let i = 0; i < 10; i++) {
      expect((await raw(target, 'GET', `/api/v1/namespaces/${ns.name}`)).status).toBe(200);
    }
    const log = p.log();
    expect(log.length).toBeGreaterThanOrEqual(11);
    expect(log.every((entry) => entry.fault === null && entry.forwarded)).toBe(true);
    // kubectl's GET of the namespace and the ten above.
    expect(log.filter((entry) => entry.path === `/api/v1/namespaces/${ns.name}`)).toHaveLength(11);
    expect(p.stats()).toMatchObject({ requests: log.length, faults: { '500': 0, stall: 0 } });
    await p.close();
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(log);
    fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
  });

  it('streams a chunked watch response', async () => {
    const p = await proxy({ mode: 'faults', delayMs: 5 });
    const reply = await raw(
      apiTargetOf(p.kubeconfig),
      'GET',
      `/api/v1/namespaces/${ns.name}/configmaps?watch=1&timeoutSeconds=1`,
    );
    expect(reply.status).toBe(200);
    expect(reply.headers?.['transfer-encoding']).toBe('chunked');
    expect(reply.text).toContain('"type":"ADDED"');
    expect(p.log()[0]).toMatchObject({ status: 200, fault: null, forwarded: true });
  });

  describe('at rate 1, each kind alone', () => {
    const expected: Record<(typeof FAULT_KINDS)[number], (reply: RawReply) => void> = {
      '500': (reply) => expect(reply.status).toBe(500),
      '503': (reply) => expect(reply.status).toBe(503),
      '429': (reply) => {
        expect(reply.status).toBe(429);
        expect(reply.headers?.['retry-after']).toBe('2');
        expect(JSON.parse(reply.text!)).toMatchObject({ reason: 'TooManyRequests', code: 429 });
      },
      'reset-before': (reply) => expect(reply.error).toBe('ECONNRESET'),
      'reset-after': (reply) => expect(reply.error).toBe('ECONNRESET'),
      stall: (reply) => {
        expect(reply.error).toBe('TIMEOUT');
        expect(reply.ms).toBeGreaterThanOrEqual(900);
      },
    };
    const reachesServer = new Set(['reset-after']);

    for (const kind of FAULT_KINDS) {
      it(`${kind}: the client sees it, the log records it`, async () => {
        const p = await proxy({ mode: 'faults', faults: { rate: 1, kinds: [kind], retryAfterSeconds: 2 } });
        const name = `fault-${kind}`;
        const reply = await raw(
          apiTargetOf(p.kubeconfig),
          'POST',
          `/api/v1/namespaces/${ns.name}/configmaps`,
          configMap(name),
          1000,
        );
        expected[kind](reply);
        const [entry] = await waitFor(() => p.log().length > 0 && p.log(), {
          what: 'the proxy to log the request',
          timeoutMs: 10_000,
          intervalMs: 20,
        });
        expect(entry).toMatchObject({
          seq: 1,
          method: 'POST',
          path: `/api/v1/namespaces/${ns.name}/configmaps`,
          fault: kind,
          forwarded: reachesServer.has(kind),
          status: /^\d+$/.test(kind) ? Number(kind) : null,
        });
        expect(p.stats().faults[kind]).toBe(1);
        // Whether the write happened is what the fault says: only a reset after forwarding made it.
        const created = await apiRequest('GET', `/api/v1/namespaces/${ns.name}/configmaps/${name}`);
        expect(created.status).toBe(reachesServer.has(kind) ? 200 : 404);
      });
    }
  });

  it('reproduces the same sequence from the same seed', async () => {
    const p = await proxy({ mode: 'faults', delayMs: 0 });
    const target = apiTargetOf(p.kubeconfig);
    const sequence = async (seed: number) => {
      p.setFaults({ rate: 0.5, kinds: ['500', '503', '429'], seed });
      const seen: (number | undefined)[] = [];
      for (let i = 0; i < 20; i++)
        seen.push((await raw(target, 'GET', `/api/v1/namespaces/${ns.name}`)).status);
      return seen;
    };
    const first = await sequence(42);
    expect(await sequence(42)).toEqual(first);
    expect(first).toContain(200);
    expect(first.some((status) => status !== 200)).toBe(true);
    expect(await sequence(7)).not.toEqual(first);
    const log = p.log();
    expect(log.slice(0, 20).map((entry) => entry.status)).toEqual(first);
    expect(log.every((entry) => entry.status === (entry.fault ? Number(entry.fault) : 200))).toBe(true);
  });

  it('faults only the requests a match accepts', async () => {
    const p = await proxy({
      mode: 'faults',
      delayMs: 0,
      faults: { rate: 1, kinds: ['503'], match: ({ method }) => method === 'POST' },
    });
    const target = apiTargetOf(p.kubeconfig);
    expect((await raw(target, 'GET', `/api/v1/namespaces/${ns.name}`)).status).toBe(200);
    expect(
      (await raw(target, 'POST', `/api/v1/namespaces/${ns.name}/configmaps`, configMap('m'))).status,
    ).toBe(503);
  });

  it('ends a stalled request when it closes', async () => {
    const p = await proxy({ mode: 'faults', faults: { rate: 1, kinds: ['stall'] } });
    const pending = raw(apiTargetOf(p.kubeconfig), 'GET', `/api/v1/namespaces/${ns.name}`, undefined, 60_000);
    await waitFor(() => p.stats().open === 1 && p.stats().requests === 1, {
      what: 'the stalled request to arrive',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    await p.close();
    const reply = await pending;
    expect(reply.error).toBeDefined();
    expect(reply.ms).toBeLessThan(30_000);
  });
});
