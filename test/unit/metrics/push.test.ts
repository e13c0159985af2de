import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { NopeaMetrics, observeDeploy } from '../../../src/metrics/metrics.js';
import { pushMetrics } from '../../../src/metrics/push.js';
import { deadUrl, startSink, type Sink } from '../events/sink.js';

let sink: Sink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

function registry(): Registry {
  const m = new NopeaMetrics(new Registry());
  observeDeploy([m], { service: 'web', strategy: 'direct', outcome: 'succeeded', durationMs: 1000 });
  return m.registry;
}

describe('pushMetrics', () => {
  it('PUTs the registry to /metrics/job/nopea/service/<name>', async () => {
    sink = await startSink();
    expect(await pushMetrics(sink.url, 'web', registry())).toBeUndefined();
    const [got] = sink.received;
    expect(got).toMatchObject({ method: 'PUT', url: '/metrics/job/nopea/service/web' });
    expect(got!.body).toContain('nopea_deploys_total{service="web",strategy="direct",outcome="succeeded"} 1');
  });

  it('retries at most twice, then warns', async () => {
    sink = await startSink((n) => (n < 3 ? 500 : 200));
    expect(await pushMetrics(sink.url, 'web', registry())).toBeUndefined();
    expect(sink.received).toHaveLength(3);
    await sink.close();
    sink = await startSink(() => 500);
    expect(await pushMetrics(sink.url, 'web', registry())).toMatch(
      /metrics of web not pushed to the Pushgateway http:\/\/127\.0\.0\.1:\d+\/: push failed with status 500/,
    );
    expect(sink.received).toHaveLength(3);
  });

  it('is bounded by the attempt deadline when the gateway does not answer, and warns when it is down', async () => {
    sink = await startSink(() => 'hang');
    const started = Date.now();
    expect(await pushMetrics(sink.url, 'web', registry(), { attemptTimeoutMs: 200 })).toMatch(/not pushed/);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await pushMetrics(await deadUrl(), 'web', registry(), { retries: 0 })).toMatch(/ECONNREFUSED/);
  });
});
