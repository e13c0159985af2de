/**
 * nopea's process-wide Prometheus registry (never prom-client's global one): what `nopea serve`
 * exposes on `/metrics`. Importing this module is enough for every metric to be there, and for every
 * Kubernetes API request of the process to be counted (see `scope.ts`).
 */
import { Registry } from 'prom-client';
import { observeRequests } from '../cluster/client.js';
import { keepProcessMetrics } from './kept.js';
import { NopeaMetrics, observeKubeRequest } from './metrics.js';
import { RunMetrics, currentRun } from './scope.js';

export const metricsRegistry: Registry = new Registry();
keepProcessMetrics();

/** The instruments of the process-wide registry. */
export const processMetrics = new NopeaMetrics(metricsRegistry);

/** The registry's exposition text and its content type (Prometheus text format 0.0.4). */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

// Every API request of the process, counted for the process and for the run (and service) it belongs to.
observeRequests((o) => {
  const run = currentRun();
  if (run) run.observeRequest(o);
  else observeKubeRequest([processMetrics], o);
});

/** A new run's metrics: the process-wide set, and the run's own per service. */
export function runMetrics(): RunMetrics {
  return new RunMetrics(processMetrics);
}
