import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { KubeClient, type RequestOptions, type Response } from '../../../src/cluster/client.js';
import { ApiError } from '../../../src/cluster/errors.js';
import { LockRequests, ServiceLock } from '../../../src/cluster/lease.js';
import { NopeaError } from '../../../src/errors.js';
import type { Clock } from '../../../src/poll.js';

type Handler = (opts: RequestOptions) => Promise<Response> | Response;

/** A client answering from a handler and logging what it was asked. */
function fakeClient(handler: Handler): { client: KubeClient; calls: RequestOptions[] } {
  const calls: RequestOptions[] = [];
  const client = {
    request: async (opts: RequestOptions) => {
      calls.push(opts);
      return handler(opts);
    },
  } as unknown as KubeClient;
  return { client, calls };
}

/** A clock that only moves when the lock's wait sleeps. */
function fakeClock(start = 5_000_000): Clock {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

function ok(body: unknown, status = 200): Response {
  return { status, body, headers: {} };
}

function conflict(): ApiError {
  return new ApiError(409, 'Conflict', 'the object has been modified', [], 'PUT lease');
}

function lease(resourceVersion: string, holder = 'me', extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'nopea-web', namespace: 'ns', uid: 'u-1', resourceVersion },
    spec: { holderIdentity: holder, leaseDurationSeconds: 60, ...extra },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ServiceLock request accounting', () => {
  it('counts taking and releasing a free lock as its own requests', async () => {
    const { client } = fakeClient((o) => {
      if (o.method === 'GET') return ok({}, 404);
      if (o.method === 'POST') return ok(lease('1'), 201);
      return ok({});
    });
    const requests = new LockRequests();
    const lock = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      requests,
    });
    expect({ get: requests.get, create: requests.create, update: requests.update }).toEqual({
      get: 1,
      create: 1,
      update: 0,
    });
    await lock.release();
    expect(requests.delete).toBe(1);
    expect(requests.total).toBe(3);
    expect(requests.writes).toBe(2);
  });

  it('counts a takeover of an abandoned lease as its reads and one update', async () => {
    const abandoned = lease('5', 'someone-else', { leaseDurationSeconds: 10 });
    const { client } = fakeClient((o) => (o.method === 'GET' ? ok(abandoned) : ok(lease('6'))));
    const requests = new LockRequests();
    const lock = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      requests,
      clock: fakeClock(),
    });
    expect(requests.get).toBeGreaterThan(1);
    expect({ create: requests.create, update: requests.update }).toEqual({ create: 0, update: 1 });
    await lock.release();
  });
});

describe('ServiceLock.acquire judges a held lease on its own clock', () => {
  /** Acquires against a lease held by `other`; returns when (on our clock) the takeover was written. */
  async function takeover(renewTime: string) {
    const clock = fakeClock();
    const start = clock.now();
    const held = lease('5', 'other', { leaseDurationSeconds: 10, renewTime });
    let writtenAt: number | undefined;
    const { client } = fakeClient((o) => {
      if (o.method === 'GET') return ok(held);
      writtenAt = clock.now() - start;
      return ok(lease('6'));
    });
    const lock = await ServiceLock.acquire(client, { namespace: 'ns', service: 'web', holder: 'me', clock });
    await lock.release();
    return writtenAt;
  }

  it('takes a lease over only after it went unchanged for its duration, however old its renewTime', async () => {
    // The holder's clock may be far behind ours: its renewTime says nothing about our clock.
    expect(await takeover('2000-01-01T00:00:00.000000Z')).toBeGreaterThanOrEqual(10_000);
  });

  it('takes a lease over after its duration even when its renewTime is in our future', async () => {
    expect(await takeover('2100-01-01T00:00:00.000000Z')).toBeLessThan(13_000);
  });

  it('waits while the holder keeps renewing, and gives up at the lock timeout naming the holder', async () => {
    const clock = fakeClock();
    const start = clock.now();
    let version = 0;
    const waits: number[] = [];
    const { client, calls } = fakeClient(() =>
      // Every read sees a new resourceVersion: the holder is alive, whatever its renewTime says.
      ok(
        lease(String(++version), 'run-1@ci', { leaseDurationSeconds: 10, renewTime: '2000-01-01T00:00:00Z' }),
      ),
    );
    const err = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      clock,
      waitTimeoutMs: 30_000,
      onWait: (_holder, expiresIn) => waits.push(expiresIn),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).message).toContain(
      'service web is locked by another nopea run: run-1@ci (Lease ns/nopea-web',
    );
    expect(clock.now() - start).toBe(30_000);
    expect(calls.every((c) => c.method === 'GET')).toBe(true);
    expect(waits.every((s) => s === 10)).toBe(true);
  });
});

describe('ServiceLock.check', () => {
  async function heldLock(put: Handler, leaseSeconds = 12) {
    vi.useFakeTimers();
    const { client, calls } = fakeClient((o) => {
      if (o.method === 'POST') return ok(lease('1'), 201);
      if (o.method === 'PUT') return put(o);
      if (o.method === 'GET' && calls.some((c) => c.method === 'PUT')) return put(o);
      if (o.method === 'GET') return ok({}, 404);
      return ok({});
    });
    const lock = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      leaseSeconds,
    });
    onTestFinished(() => lock.release());
    return { lock, calls };
  }

  it('is clear while renewals succeed', async () => {
    const { lock } = await heldLock(() => ok(lease('2')));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lock.check()).toBeUndefined();
  });

  it('stops the holder once a renewal finds the lease taken by another run', async () => {
    const { lock, calls } = await heldLock((o) => {
      if (o.method === 'PUT') throw conflict();
      return ok(lease('9', 'thief@elsewhere'));
    });
    expect(lock.check()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(4_000);
    const err = lock.check();
    expect(err).toBeInstanceOf(NopeaError);
    expect(err?.message).toContain('Lease ns/nopea-web was taken by another run (thief@elsewhere)');
    expect(err?.message).toContain('this run stopped writing');
    await lock.release();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
  });

  it('keeps the lease when the conflict was an earlier renewal of its own', async () => {
    let puts = 0;
    const { lock, calls } = await heldLock((o) => {
      if (o.method === 'GET') return ok(lease('7'));
      if (++puts === 1) throw conflict();
      return ok(lease('8'));
    });
    await vi.advanceTimersByTimeAsync(4_000);
    expect(lock.check()).toBeUndefined();
    await lock.release();
    const del = calls.find((c) => c.method === 'DELETE');
    expect((del?.body as { preconditions: { resourceVersion: string } }).preconditions.resourceVersion).toBe(
      '8',
    );
  });

  it('stops the holder a margin before the lease could expire when renewals keep failing', async () => {
    let failing = true;
    const { lock } = await heldLock(() => {
      if (failing) throw new ApiError(503, 'ServiceUnavailable', 'etcd is down', [], 'PUT lease');
      return ok(lease('3'));
    });
    // Renewals every 4 s fail; the lease is still ours until 9 s (three quarters of 12 s).
    await vi.advanceTimersByTimeAsync(8_500);
    expect(lock.check()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    const err = lock.check();
    expect(err?.message).toMatch(
      /the lock \(Lease ns\/nopea-web\) has not been renewed for 10 s of its 12 s \(last attempt: etcd is down\)/,
    );
    expect(err?.kind).toBe('deploy');
    // A renewal that goes through again makes the lease safely ours again.
    failing = false;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(lock.check()).toBeUndefined();
  });
});

describe('ServiceLock.acquire against a server that answers every write 409', () => {
  it('backs off within a bound and gives up at the lock timeout', async () => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      // The lease looks free, and every attempt to take it loses a race.
      res.statusCode = req.method === 'GET' ? 404 : 409;
      res.end(
        JSON.stringify({
          kind: 'Status',
          reason: req.method === 'GET' ? 'NotFound' : 'AlreadyExists',
          message:
            req.method === 'GET' ? 'not found' : 'leases.coordination.k8s.io "nopea-web" already exists',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = new KubeClient({
      server: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      agent: new http.Agent({ keepAlive: true }),
      headers: async () => ({}),
    });
    onTestFinished(() => client.close());

    const timeoutMs = 2_000;
    const started = Date.now();
    const err = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      waitTimeoutMs: timeoutMs,
    }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;

    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).message).toContain(
      'could not take the lock (Lease ns/nopea-web) within 2 s: every attempt lost a race',
    );
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(elapsed).toBeLessThan(timeoutMs + 1_500);
    // Each attempt is a read and a write; waits grow from 250 ms to 2 s and jitter keeps each at
    // least half its size, so a timeout of T allows at most T / 1 s + 6 attempts.
    expect(requests).toBeLessThanOrEqual(2 * (timeoutMs / 1_000 + 6));
    expect(requests).toBeGreaterThanOrEqual(4);
  });
});
