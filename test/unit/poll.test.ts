import { describe, expect, it } from 'vitest';
import { backoffDelay, poll, retry, type Clock } from '../../src/poll.js';

/** A clock that only moves when the loop sleeps, recording each sleep. */
function fakeClock(start = 1_000): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('backoffDelay', () => {
  it('grows by the factor up to the maximum, with the jitter spread below it', () => {
    const b = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, b, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffDelay(3, b, () => 0)).toBe(200);
    expect(backoffDelay(2, { initialMs: 1_000, maxMs: 3_000, factor: 1.5, jitter: 0 })).toBe(1_500);
  });
});

describe('poll', () => {
  it('returns the value as soon as an attempt is done', async () => {
    const clock = fakeClock();
    const r = await poll(async (n) => (n === 3 ? { done: true, value: 'x' } : { done: false }), {
      timeoutMs: 60_000,
      backoff: { initialMs: 100, maxMs: 1_000, jitter: 0 },
      clock,
    });
    expect(r).toMatchObject({ ok: true, value: 'x', attempts: 3, elapsedMs: 300 });
    expect(clock.sleeps).toEqual([100, 200]);
  });

  it('stops at the deadline, the last sleep cut to it, and says why with the last reason', async () => {
    const clock = fakeClock();
    const r = await poll(async () => ({ done: false, reason: 'not ready' }), {
      timeoutMs: 1_000,
      backoff: { initialMs: 300, maxMs: 300, jitter: 0 },
      clock,
    });
    expect(r).toMatchObject({ ok: false, why: 'timeout', last: 'not ready', elapsedMs: 1_000 });
    expect(clock.sleeps).toEqual([300, 300, 300, 100]);
  });

  it('is bounded by attempts even when the clock never moves', async () => {
    const frozen: Clock = { now: () => 0, sleep: async () => undefined };
    let calls = 0;
    const r = await poll(
      async () => {
        calls++;
        return { done: false };
      },
      { timeoutMs: 10_000, backoff: { initialMs: 1_000, maxMs: 1_000 }, clock: frozen },
    );
    expect(r).toMatchObject({ ok: false, why: 'attempts' });
    expect(calls).toBe(20);
  });

  it('waits what an attempt asks for instead of the backoff', async () => {
    const clock = fakeClock();
    await poll(async (n) => (n === 2 ? { done: true, value: 1 } : { done: false, retryInMs: 42 }), {
      timeoutMs: 1_000,
      backoff: { initialMs: 500, maxMs: 500 },
      clock,
    });
    expect(clock.sleeps).toEqual([42]);
  });

  it('stops when the signal aborts, before the next attempt', async () => {
    const controller = new AbortController();
    let calls = 0;
    const r = await poll(
      async () => {
        calls++;
        controller.abort();
        return { done: false };
      },
      {
        timeoutMs: 1_000,
        backoff: { initialMs: 10, maxMs: 10 },
        signal: controller.signal,
        clock: fakeClock(),
      },
    );
    expect(r).toMatchObject({ ok: false, why: 'aborted', attempts: 1 });
    expect(calls).toBe(1);
  });

  it('ends a real sleep early when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    const r = await poll(async () => ({ done: false }), {
      timeoutMs: 60_000,
      backoff: { initialMs: 30_000, maxMs: 30_000 },
      signal: controller.signal,
    });
    expect(r).toMatchObject({ ok: false, why: 'aborted' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('retry', () => {
  const transient = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
  const isTransient = (err: unknown): boolean => (err as { code?: string }).code === 'ECONNRESET';

  it('retries retryable failures and counts each retry', async () => {
    const retried: number[] = [];
    const value = await retry(
      async (n) => {
        if (n < 3) throw transient;
        return n;
      },
      {
        timeoutMs: 10_000,
        backoff: { initialMs: 1, maxMs: 1 },
        retryable: isTransient,
        onRetry: (_err, n) => retried.push(n),
        clock: fakeClock(),
      },
    );
    expect(value).toBe(3);
    expect(retried).toEqual([2, 3]);
  });

  it('throws other failures at once, and the last failure when the bounds are reached', async () => {
    let calls = 0;
    const fatal = new Error('no');
    await expect(
      retry(
        async () => {
          calls++;
          throw fatal;
        },
        {
          timeoutMs: 10_000,
          backoff: { initialMs: 1, maxMs: 1 },
          retryable: isTransient,
          clock: fakeClock(),
        },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    await expect(
      retry(
        async () => {
          throw transient;
        },
        {
          timeoutMs: 10_000,
          maxAttempts: 4,
          backoff: { initialMs: 1, maxMs: 1 },
          retryable: isTransient,
          clock: fakeClock(),
        },
      ),
    ).rejects.toBe(transient);
  });

  it('honours a delay the failure asks for, bounded by the backoff maximum', async () => {
    const clock = fakeClock();
    const busy = Object.assign(new Error('busy'), { code: 'ECONNRESET', retryAfter: 60_000 });
    await retry(
      async (n) => {
        if (n === 1) throw busy;
        return 'ok';
      },
      {
        timeoutMs: 60_000,
        backoff: { initialMs: 100, maxMs: 5_000 },
        retryable: isTransient,
        retryAfterMs: (err) => (err as { retryAfter?: number }).retryAfter,
        clock,
      },
    );
    expect(clock.sleeps).toEqual([5_000]);
  });
});
