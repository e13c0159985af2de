// Drives the loopback Prometheus stand-in (test/cluster/prometheus-stand-in.ts) that Kulta's canary
// analysis queries, so a test can make a canary's metrics bad (or good) on demand.
// Kulta's queries carry the Rollout's name but no namespace: values are per Rollout name, so give a
// Rollout whose metrics you set a name no other test uses at the same time.
import http from 'node:http';
import { onTestFinished } from 'vitest';
import type { MetricName, MetricValue, RolloutMetrics } from '../cluster/prometheus-stand-in.js';
import { testCluster } from './cluster.js';

export type { MetricName, MetricValue, RolloutMetrics };
export { HEALTHY_DEFAULTS } from '../cluster/prometheus-stand-in.js';

/** What the stand-in holds for one Rollout name. */
export interface RolloutMetricsState {
  rollout: string;
  /** True when a test set values (otherwise every metric is the healthy default). */
  set: boolean;
  /** The values Kulta gets now (set ones over the defaults); null means "no data". */
  values: Record<MetricName, MetricValue>;
  /** How many times Kulta asked for each metric of this Rollout since it was set or cleared. */
  queries: Record<MetricName, number>;
  lastQueryAt?: string;
}

export interface SetRolloutMetricsOptions {
  /**
   * 'test' (default): cleared again when the current test finishes; call it inside a test.
   * 'manual': the caller clears it with clearRolloutMetrics (e.g. from beforeAll/afterAll).
   */
  cleanup?: 'test' | 'manual';
}

interface Reply {
  status: number;
  text: string;
}

function request(method: string, urlPath: string, body?: unknown): Promise<Reply> {
  const url = new URL(urlPath, testCluster().prometheusUrl);
  // The stand-in only ever listens on loopback; refuse anything else rather than send it elsewhere.
  if (url.hostname !== '127.0.0.1')
    throw new Error(`the Prometheus stand-in must be on 127.0.0.1, not ${url.host}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: 5000,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} to the stand-in timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function controlPath(rollout: string): string {
  return `/control/${encodeURIComponent(rollout)}`;
}

/**
 * Sets what the stand-in answers for Rollout `rollout` (replacing earlier values; a metric left out
 * gets its healthy default), e.g. `{ 'error-rate': 50 }` (percent of 5xx) or `{ 'latency-p95': 2 }`
 * (seconds). Kulta marks the canary Failed once a value is not below the metric's threshold.
 */
export async function setRolloutMetrics(
  rollout: string,
  values: RolloutMetrics,
  options: SetRolloutMetricsOptions = {},
): Promise<RolloutMetricsState> {
  if ((options.cleanup ?? 'test') === 'test') {
    try {
      onTestFinished(() => clearRolloutMetrics(rollout));
    } catch (error) {
      throw new Error(
        "setRolloutMetrics outside a test: pass { cleanup: 'manual' } and call clearRolloutMetrics yourself",
        { cause: error },
      );
    }
  }
  const reply = await request('PUT', controlPath(rollout), values);
  if (reply.status !== 200) {
    throw new Error(`setting metrics of ${rollout}: HTTP ${reply.status} ${reply.text.trim()}`);
  }
  return JSON.parse(reply.text) as RolloutMetricsState;
}

/** Puts Rollout `rollout` back on the healthy defaults and resets its query counters. */
export async function clearRolloutMetrics(rollout: string): Promise<void> {
  const reply = await request('DELETE', controlPath(rollout));
  if (reply.status !== 204) {
    throw new Error(`clearing metrics of ${rollout}: HTTP ${reply.status} ${reply.text.trim()}`);
  }
}

/** What the stand-in holds for Rollout `rollout`, including how often Kulta queried it. */
export async function rolloutMetrics(rollout: string): Promise<RolloutMetricsState> {
  const reply = await request('GET', controlPath(rollout));
  if (reply.status !== 200) {
    throw new Error(`reading metrics of ${rollout}: HTTP ${reply.status} ${reply.text.trim()}`);
  }
  return JSON.parse(reply.text) as RolloutMetricsState;
}
