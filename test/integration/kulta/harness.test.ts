// The pieces of the Kulta harness that need no controller: the CRD repair and the Prometheus stand-in's
// answers to the exact queries Kulta sends (src/controller/prometheus.rs at 01a54de).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { kultaCrdManifest, kultaSourceDir, repairKultaCrd } from '../../cluster/kulta-crd.js';
import { classifyQuery, createPrometheusStandIn } from '../../cluster/prometheus-stand-in.js';
import { testCluster } from '../../helpers/cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const errorRateQuery = (name: string) =>
  `sum(rate(http_requests_total{status=~"5..",rollout="${name}",revision="canary"}[2m])) / sum(rate(http_requests_total{rollout="${name}",revision="canary"}[2m])) * 100`;
const latencyQuery = (name: string) =>
  `histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{rollout="${name}",revision="canary"}[2m]))`;

describe("Kulta's CRD repair", () => {
  it('keeps v1alpha1 only, drops the conversion webhook and replaces exactly seven anyOf enums', async () => {
    // A fresh cache dir, so the YAML is really parsed and repaired here.
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'nopea-kulta-crd-'));
    onTestFinished(() => fs.rmSync(cache, { recursive: true, force: true }));
    const manifest = kultaCrdManifest(kultaSourceDir(repoRoot), cache);
    const crd = JSON.parse(await manifest.load());
    expect(crd.spec.versions.map((v: { name: string }) => v.name)).toEqual(['v1alpha1']);
    expect(crd.spec.versions[0]).toMatchObject({ served: true, storage: true });
    expect(crd.spec.conversion).toBeUndefined();
    expect(JSON.stringify(crd)).not.toContain('anyOf');
    const phase = crd.spec.versions[0].schema.openAPIV3Schema.properties.status.properties.phase;
    expect(phase).toMatchObject({ type: 'string', nullable: true });
    expect(phase.enum).toContain('Failed');
    expect(crd.metadata.annotations['nopea.test/kulta-crd']).toBe(manifest.hash);
  });

  it('refuses a CRD whose anyOf enums are not the seven it knows', () => {
    const anyOf = {
      anyOf: [
        { type: 'string', enum: ['A'] },
        { enum: [null], nullable: true },
      ],
    };
    const crd = (count: number) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'rollouts.kulta.io' },
      spec: {
        versions: [
          {
            name: 'v1alpha1',
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, anyOf])),
              },
            },
          },
        ],
      },
    });
    expect(repairKultaCrd(crd(7)).replaced).toHaveLength(7);
    expect(() => repairKultaCrd(crd(8))).toThrow(/expected 7 anyOf enums in v1alpha1, found 8/);
  });
});

describe('the Prometheus stand-in', () => {
  const server = createPrometheusStandIn({ now: () => 1_700_000_000 });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (method: string, urlPath: string, body?: string) =>
    new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const req = http.request(`${base}${urlPath}`, { method, agent: false, timeout: 5000 }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  const query = (q: string) => call('GET', `/api/v1/query?query=${encodeURIComponent(q)}`);

  it("recognises Kulta's two queries and nothing else", () => {
    expect(classifyQuery(errorRateQuery('web'))).toEqual({ metric: 'error-rate', rollout: 'web' });
    expect(classifyQuery(latencyQuery('web'))).toEqual({ metric: 'latency-p95', rollout: 'web' });
    expect(
      classifyQuery('sum(rate(http_requests_total{status=~"5..",service="web-a"}[5m]))'),
    ).toBeUndefined();
  });

  it('answers healthy defaults, then the values a test set, as a vector with integer timestamps', async () => {
    expect((await query(errorRateQuery('shop'))).json).toEqual({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [{ metric: { rollout: 'shop', revision: 'canary' }, value: [1_700_000_000, '0'] }],
      },
    });
    expect((await call('PUT', '/control/shop', '{"error-rate": 12.5, "latency-p95": "NaN"}')).status).toBe(
      200,
    );
    const values = async () =>
      Promise.all([query(errorRateQuery('shop')), query(latencyQuery('shop'))]).then((replies) =>
        replies.map((r) => (r.json as { data: { result: { value: [number, string] }[] } }).data.result),
      );
    expect(await values()).toEqual([
      [expect.objectContaining({ value: [1_700_000_000, '12.5'] })],
      [expect.objectContaining({ value: [1_700_000_000, 'NaN'] })],
    ]);
    expect((await call('PUT', '/control/shop', '{"latency-p95": null}')).status).toBe(200);
    expect(await values()).toEqual([[expect.objectContaining({ value: [1_700_000_000, '0'] })], []]);
    expect((await call('GET', '/control/shop')).json).toMatchObject({
      values: { 'error-rate': 0, 'latency-p95': null },
      queries: { 'error-rate': 3, 'latency-p95': 2 },
    });
    expect((await call('DELETE', '/control/shop')).status).toBe(204);
    expect((await call('GET', '/control/shop')).json).toMatchObject({
      set: false,
      queries: { 'error-rate': 0 },
    });
  });

  it('rejects unknown metrics, bad values and bad names', async () => {
    expect((await call('PUT', '/control/shop', '{"latency-p99": 1}')).status).toBe(400);
    expect((await call('PUT', '/control/shop', '{"error-rate": "high"}')).status).toBe(400);
    expect((await call('PUT', '/control/Not_A_Name', '{}')).status).toBe(400);
    expect((await query('up')).json).toMatchObject({ status: 'success', data: { result: [] } });
  });

  it('runs for the cluster on loopback only', async () => {
    const url = new URL(testCluster().prometheusUrl);
    expect(url.hostname).toBe('127.0.0.1');
  });
});
