/**
 * Delivering events: each CloudEvent is POSTed on its own in structured mode
 * (`Content-Type: application/cloudevents+json`) to the events URL. Bounded: at most 4 attempts per
 * event, each with a 1.5 s deadline, retried with backoff on a network failure, a timeout, 408, 429
 * or 5xx, all within 5 s; events go out side by side. An event that cannot be delivered is a
 * warning, never a failed deploy.
 */
import http from 'node:http';
import https from 'node:https';
import { errorMessage } from '../errors.js';
import { poll, type Clock } from '../poll.js';
import { httpUrl, redactUrl } from '../metrics/url.js';
import { CLOUDEVENTS_CONTENT_TYPE, type CloudEvent } from './cdevents.js';

export interface DeliverOptions {
  /** Deadline of one attempt (default 1.5 s). */
  attemptTimeoutMs?: number;
  /** Attempts per event, the first included (default 4). */
  maxAttempts?: number;
  /** Bound on all attempts and waits of one event (default 5 s). */
  totalTimeoutMs?: number;
  clock?: Clock;
}

/** How one POST ended: the status, or the failure before any. */
type Sent = { status: number } | { error: string };

/** POSTs a body once, within the deadline; never throws. */
export function postOnce(url: URL, body: string, contentType: string, timeoutMs: number): Promise<Sent> {
  const mod = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(body);
  return new Promise<Sent>((resolve) => {
    const req = mod.request(url, {
      method: 'POST',
      agent: false,
      headers: {
        'Content-Type': contentType,
        'Content-Length': String(payload.length),
        'User-Agent': 'nopea',
        Connection: 'close',
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err) => resolve({ error: errorMessage(err) }));
    });
    req.on('error', (err) =>
      resolve({
        error:
          err.name === 'AbortError' || err.name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : errorMessage(err),
      }),
    );
    req.end(payload);
  });
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Delivers one event; resolves to a warning when it could not be. */
export async function deliverEvent(
  eventsUrl: string,
  event: CloudEvent,
  opts: DeliverOptions = {},
): Promise<string | undefined> {
  const what = `event ${event.type} ${event.id} not delivered to ${redactUrl(eventsUrl)}`;
  let url: URL;
  try {
    url = httpUrl(eventsUrl);
  } catch (err) {
    return `${what}: ${errorMessage(err)}`;
  }
  const attemptMs = opts.attemptTimeoutMs ?? 1_500;
  const body = JSON.stringify(event);
  const result = await poll<string | undefined>(
    async () => {
      const sent = await postOnce(url, body, CLOUDEVENTS_CONTENT_TYPE, attemptMs);
      if ('error' in sent) return { done: false, reason: sent.error };
      if (sent.status >= 200 && sent.status < 300) return { done: true, value: undefined };
      if (retryable(sent.status)) return { done: false, reason: `HTTP ${sent.status}` };
      return { done: true, value: `${what}: HTTP ${sent.status}` };
    },
    {
      timeoutMs: opts.totalTimeoutMs ?? 5_000,
      maxAttempts: opts.maxAttempts ?? 4,
      backoff: { initialMs: 200, maxMs: 1_000 },
      ...(opts.clock ? { clock: opts.clock } : {}),
    },
  );
  if (result.ok) return result.value;
  return `${what} after ${result.attempts} attempt(s): ${result.last ?? result.why}`;
}

/** Delivers every event, side by side; resolves to the warnings of those that could not be. */
export async function deliverEvents(
  eventsUrl: string,
  events: readonly CloudEvent[],
  opts: DeliverOptions = {},
): Promise<string[]> {
  const warnings = await Promise.all(events.map((e) => deliverEvent(eventsUrl, e, opts)));
  return warnings.filter((w): w is string => w !== undefined);
}
