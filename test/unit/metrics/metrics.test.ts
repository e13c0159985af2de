import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { KubeClient } from '../../../src/cluster/client.js';
import {
  NopeaMetrics,
  PhaseTracker,
  observeDeploy,
  observeKubeRequest,
  observeMove,
} from '../../../src/metrics/metrics.js';
import { metricsRegistry, metricsText, runMetrics } from '../../../src/metrics/registry.js';
import { RunMetrics } from '../../../src/metrics/scope.js';
import { startSink, type Sink } from '../events/sink.js';

/** The value of one sample in exposition text (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const fresh = (): NopeaMetrics => new NopeaMetrics(new Registry());

describe('NopeaMetrics', () => {
  it('counts a deploy by service, strategy and outcome, its duration and its plan', async () => {
    const m = fresh();
    observeDeploy([m], {
      service: 'web',
      strategy: 'direct',
      outcome: 'succeeded',
      durationMs: 12_000,
      counts: { create: 2, update: 1, drift: 3, conflict: 0, unchanged: 4, prune: 1 },
    });
    observeDeploy([m], { service: 'web', outcome: 'failed', durationMs: 500 });
    const text = await m.registry.metrics();
    expect(sample(text, 'nopea_deploys_total{service="web",strategy="direct",outcome="succeeded"}')).toBe(1);
    expect(sample(text, 'nopea_deploys_total{service="web",strategy="none",outcome="failed"}')).toBe(1);
    expect(
      sample(text, 'nopea_deploy_duration_seconds_sum{service="web",strategy="direct",outcome="succeeded"}'),
    ).toBe(12);
    expect(
      sample(
        text,
        'nopea_deploy_duration_seconds_bucket{le="15",service="web",strategy="direct",outcome="succeeded"}',
      ),
    ).toBe(1);
    for (const [cls, n] of Object.entries({
      create: 2,
      update: 1,
      drift: 3,
      conflict: 0,
      unchanged: 4,
      prune: 1,
    }))
      expect(sample(text, `nopea_plan_objects_total{service="web",class="${cls}"}`)).toBe(n);
    expect(sample(text, 'nopea_drift_objects{service="web"}')).toBe(3);
  });

  it('counts moves, and Kubernetes API requests by verb and code with their latency', async () => {
    const m = fresh();
    observeMove([m], { service: 'web', action: 'promote', outcome: 'succeeded' });
    observeKubeRequest([m], { verb: 'get', status: 200, durationMs: 20 });
    observeKubeRequest([m], { verb: 'get', status: 404, durationMs: 10 });
    observeKubeRequest([m], { verb: 'apply', status: 0, durationMs: 30_000 });
    const text = await m.registry.metrics();
    expect(
      sample(text, 'nopea_rollout_moves_total{service="web",action="promote",outcome="succeeded"}'),
    ).toBe(1);
    expect(sample(text, 'nopea_kube_api_requests_total{verb="get",code="200"}')).toBe(1);
    expect(sample(text, 'nopea_kube_api_requests_total{verb="get",code="404"}')).toBe(1);
    expect(sample(text, 'nopea_kube_api_requests_total{verb="apply",code="error"}')).toBe(1);
    expect(sample(text, 'nopea_kube_api_request_duration_seconds_count{verb="get"}')).toBe(2);
    expect(sample(text, 'nopea_kube_api_request_duration_seconds_sum{verb="get"}')).toBeCloseTo(0.03);
  });

  it('counts phase transitions, not repeated reports of the same phase', async () => {
    const m = fresh();
    const phases = new PhaseTracker(() => [m]);
    for (const p of [undefined, 'Progressing', 'Progressing', 'Paused', 'Progressing', 'Completed'])
      phases.see('web', p);
    const text = await m.registry.metrics();
    expect(
      sample(text, 'nopea_rollout_phase_transitions_total{service="web",from="none",to="Progressing"}'),
    ).toBe(1);
    expect(
      sample(text, 'nopea_rollout_phase_transitions_total{service="web",from="Progressing",to="Paused"}'),
    ).toBe(1);
    expect(
      sample(text, 'nopea_rollout_phase_transitions_total{service="web",from="Paused",to="Progressing"}'),
    ).toBe(1);
    expect(
      sample(text, 'nopea_rollout_phase_transitions_total{service="web",from="Progressing",to="Completed"}'),
    ).toBe(1);
  });
});

describe('RunMetrics', () => {
  it('counts requests for the process and the service at work; earlier ones for the first service', async () => {
    const process = fresh();
    const run = new RunMetrics(process);
    run.observeRequest({ verb: 'discovery', status: 200, durationMs: 5 });
    run.starts('web');
    run.observeRequest({ verb: 'get', status: 200, durationMs: 5 });
    run.starts('api');
    run.observeRequest({ verb: 'apply', status: 200, durationMs: 5 });
    const [web, api] = run.registries().map(([, r]) => r);
    expect(run.registries().map(([s]) => s)).toEqual(['web', 'api']);
    const webText = await web!.metrics();
    expect(sample(webText, 'nopea_kube_api_requests_total{verb="discovery",code="200"}')).toBe(1);
    expect(sample(webText, 'nopea_kube_api_requests_total{verb="get",code="200"}')).toBe(1);
    expect(sample(webText, 'nopea_kube_api_requests_total{verb="apply",code="200"}')).toBeUndefined();
    expect(sample(await api!.metrics(), 'nopea_kube_api_requests_total{verb="apply",code="200"}')).toBe(1);
    const all = await process.registry.metrics();
    for (const verb of ['discovery', 'get', 'apply'])
      expect(sample(all, `nopea_kube_api_requests_total{verb="${verb}",code="200"}`)).toBe(1);
  });
});

describe('the process-wide registry', () => {
  let sink: Sink | undefined;
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
  });

  it('is its own registry, with every metric, in the Prometheus text format', async () => {
    const { contentType, body } = await metricsText();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'nopea_deploys_total',
      'nopea_deploy_duration_seconds',
      'nopea_plan_objects_total',
      'nopea_drift_objects',
      'nopea_rollout_phase_transitions_total',
      'nopea_rollout_moves_total',
      'nopea_kube_api_requests_total',
      'nopea_kube_api_request_duration_seconds',
    ])
      expect(body).toContain(`# TYPE ${name} `);
    expect(metricsRegistry).toBeInstanceOf(Registry);
  });

  it("counts every client's API requests, and a run's for its service", async () => {
    sink = await startSink((n) => (n === 1 ? 404 : 200));
    const client = new KubeClient({
      server: new URL(sink.url),
      agent: new http.Agent(),
      headers: () => Promise.resolve({}),
    });
    const before =
      sample((await metricsText()).body, 'nopea_kube_api_requests_total{verb="list",code="404"}') ?? 0;
    const run = runMetrics();
    await run.run(async () => {
      run.starts('web');
      await client.request({ method: 'GET', path: '/api/v1/pods', verb: 'list', allow: [404] });
      await client.request({ method: 'GET', path: '/api/v1/pods', verb: 'list' });
    });
    client.close();
    const after = (await metricsText()).body;
    expect(sample(after, 'nopea_kube_api_requests_total{verb="list",code="404"}')).toBe(before + 1);
    const [[service, registry]] = run.registries() as [[string, Registry]];
    expect(service).toBe('web');
    const text = await registry.metrics();
    expect(sample(text, 'nopea_kube_api_requests_total{verb="list",code="404"}')).toBe(1);
    expect(sample(text, 'nopea_kube_api_requests_total{verb="list",code="200"}')).toBe(1);
    expect(sample(text, 'nopea_kube_api_request_duration_seconds_count{verb="list"}')).toBe(2);
  });
});
