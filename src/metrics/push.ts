/**
 * Pushing a run's metrics to a Pushgateway: once per service at the end of the run, grouped by job
 * `nopea` and the service (`PUT /metrics/job/nopea/service/<name>`, replacing the group's last push).
 * Bounded: one attempt and at most two retries, each with its own deadline. A failure is a warning.
 */
import { Pushgateway, type Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import { retry, type Clock } from '../poll.js';
import { httpUrl, redactUrl } from './url.js';

export const PUSH_JOB = 'nopea';

export interface PushOptions {
  /** Deadline of one attempt (default 3 s). */
  attemptTimeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  retries?: number;
  clock?: Clock;
}

/** Pushes one service's registry; resolves to a warning when it could not be delivered. */
export async function pushMetrics(
  gatewayUrl: string,
  service: string,
  registry: Registry,
  opts: PushOptions = {},
): Promise<string | undefined> {
  const attemptMs = opts.attemptTimeoutMs ?? 3_000;
  const attempts = 1 + (opts.retries ?? 2);
  try {
    const url = httpUrl(gatewayUrl);
    await retry(
      () =>
        new Pushgateway(
          url.href,
          { timeout: attemptMs, signal: AbortSignal.timeout(attemptMs) },
          registry,
        ).push({ jobName: PUSH_JOB, groupings: { service } }),
      {
        timeoutMs: attempts * attemptMs + 2_000,
        maxAttempts: attempts,
        backoff: { initialMs: 250, maxMs: 1_000 },
        retryable: () => true,
        ...(opts.clock ? { clock: opts.clock } : {}),
      },
    );
    return undefined;
  } catch (err) {
    return `metrics of ${service} not pushed to the Pushgateway ${redactUrl(gatewayUrl)}: ${errorMessage(err)}`;
  }
}
