/**
 * The one bounded loop for everything that waits or retries: the Lease, API retries, the CRD and
 * deletion waits, the state branch's push retries, the health wait and the rollout monitor. Every
 * loop is bounded twice — by time on its clock and by a count of attempts, so even a clock that
 * never moves cannot make it spin — and its delays follow one backoff shape. The clock is
 * injectable, so tests run these loops without sleeping.
 */

/** Time as a loop sees it. `sleep` must return early (resolve or reject) when the signal aborts. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The process clock; its sleep ends early, without throwing, when the signal aborts. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Delays between attempts: `initialMs`, growing by `factor` up to `maxMs`, with ± `jitter` spread. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * Fraction of the delay randomised (default 0.5: between half and the whole delay), so runs that
   * lost the same race do not collide again in step; 0 for a steady rhythm (polling).
   */
  jitter?: number;
}

/** The delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const factor = backoff.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0.5));
  const base = Math.min(backoff.maxMs, backoff.initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - jitter + jitter * random()));
}

/** What one attempt found: done with a value, or not yet (optionally saying when to look again, and why). */
export type Attempt<T> = { done: true; value: T } | { done: false; retryInMs?: number; reason?: string };

export interface PollOptions {
  /** Give up once this much time has passed on the clock. */
  timeoutMs: number;
  /** Give up after this many attempts (default: enough for the timeout at the initial delay, plus 10). */
  maxAttempts?: number;
  backoff: Backoff;
  signal?: AbortSignal;
  clock?: Clock;
  random?: () => number;
}

/** How a loop ended. `last` is the reason the last attempt gave for not being done. */
export type PollResult<T> =
  | { ok: true; value: T; attempts: number; elapsedMs: number }
  | {
      ok: false;
      why: 'timeout' | 'attempts' | 'aborted';
      last?: string;
      attempts: number;
      elapsedMs: number;
    };

/**
 * Calls `attempt` until it is done, the time or attempt bound is reached, or the signal aborts.
 * The wait before the next attempt is the backoff's, or what the attempt asked for, never past the
 * deadline; the last attempt runs at the deadline at the latest.
 */
export async function poll<T>(
  attempt: (n: number) => Promise<Attempt<T>>,
  opts: PollOptions,
): Promise<PollResult<T>> {
  const clock = opts.clock ?? systemClock;
  const start = clock.now();
  const deadline = start + Math.max(0, opts.timeoutMs);
  const maxAttempts =
    opts.maxAttempts ?? Math.ceil(Math.max(0, opts.timeoutMs) / Math.max(1, opts.backoff.initialMs)) + 10;
  let last: string | undefined;
  for (let n = 1; ; n++) {
    if (opts.signal?.aborted) return stopped('aborted', n - 1);
    const result = await attempt(n);
    if (result.done) return { ok: true, value: result.value, attempts: n, elapsedMs: clock.now() - start };
    last = result.reason ?? last;
    const now = clock.now();
    if (opts.signal?.aborted) return stopped('aborted', n);
    if (now >= deadline) return stopped('timeout', n);
    if (n >= maxAttempts) return stopped('attempts', n);
    const wait = result.retryInMs ?? backoffDelay(n, opts.backoff, opts.random);
    await clock.sleep(Math.max(0, Math.min(wait, deadline - now)), opts.signal);
  }

  function stopped(why: 'timeout' | 'attempts' | 'aborted', attempts: number): PollResult<T> {
    const out: PollResult<T> = { ok: false, why, attempts, elapsedMs: clock.now() - start };
    if (last !== undefined) out.last = last;
    return out;
  }
}

export interface RetryOptions extends PollOptions {
  /** Whether a failure is worth another attempt; others are thrown at once. */
  retryable: (err: unknown) => boolean;
  /** A delay the failure itself asks for (e.g. Retry-After), bounded by the backoff's maximum. */
  retryAfterMs?: (err: unknown) => number | undefined;
  /** Called before each retry with the failure it retries and the attempt about to run, e.g. to count it. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * Runs `work` until it succeeds, retrying retryable failures within the bounds. When the bounds are
 * reached (or the signal aborts) the last failure is thrown as it was.
 */
export async function retry<T>(work: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  let failure: { err: unknown } | undefined;
  const result = await poll<T>(async (n) => {
    if (failure) opts.onRetry?.(failure.err, n);
    try {
      return { done: true, value: await work(n) };
    } catch (err) {
      if (!opts.retryable(err) || opts.signal?.aborted) throw err;
      failure = { err };
      const asked = opts.retryAfterMs?.(err);
      return asked === undefined
        ? { done: false }
        : { done: false, retryInMs: Math.min(asked, opts.backoff.maxMs) };
    }
  }, opts);
  if (result.ok) return result.value;
  if (failure) throw failure.err;
  // Aborted before the first attempt: nothing failed, so say why nothing ran.
  throw Object.assign(new Error('aborted before the first attempt'), { name: 'AbortError' });
}
