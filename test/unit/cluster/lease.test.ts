import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeClient, RequestOptions, Response } from '../../../src/cluster/client.js';
import { LockRequests, ServiceLock } from '../../../src/cluster/lease.js';

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

function ok(body: unknown, status = 200): Response {
  return { status, body, headers: {} };
}

function lease(resourceVersion: string, holder = 'me'): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'nopea-web', namespace: 'ns', uid: 'u-1', resourceVersion },
    spec: { holderIdentity: holder, leaseDurationSeconds: 60 },
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

  it('counts a takeover of an expired lease as a get and an update', async () => {
    const expired = lease('5', 'someone-else');
    (expired.spec as Record<string, unknown>).renewTime = new Date(Date.now() - 120_000).toISOString();
    const { client } = fakeClient((o) => (o.method === 'GET' ? ok(expired) : ok(lease('6'))));
    const requests = new LockRequests();
    const lock = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      requests,
    });
    expect({ get: requests.get, create: requests.create, update: requests.update }).toEqual({
      get: 1,
      create: 0,
      update: 1,
    });
    await lock.release();
  });
});

describe('ServiceLock.release', () => {
  it('waits for a renewal in flight and deletes with the renewed resourceVersion', async () => {
    vi.useFakeTimers();
    let finishRenew: (() => void) | undefined;
    const { client, calls } = fakeClient((o) => {
      if (o.method === 'GET') return ok({}, 404);
      if (o.method === 'POST') return ok(lease('1'), 201);
      if (o.method === 'PUT') {
        return new Promise<Response>((resolve) => {
          finishRenew = () => resolve(ok(lease('2')));
        });
      }
      return ok({});
    });
    const requests = new LockRequests();
    const lock = await ServiceLock.acquire(client, {
      namespace: 'ns',
      service: 'web',
      holder: 'me',
      leaseSeconds: 3,
      requests,
    });
    // The renewal timer fires (every third of the lease) and its PUT hangs.
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.filter((c) => c.method === 'PUT')).toHaveLength(1);
    expect(finishRenew).toBeDefined();

    let released = false;
    const releasing = lock.release().then(() => {
      released = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(false);
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);

    finishRenew!();
    await releasing;
    const del = calls.find((c) => c.method === 'DELETE');
    expect((del?.body as { preconditions: { resourceVersion: string } }).preconditions.resourceVersion).toBe(
      '2',
    );
    expect(requests.update).toBe(1);
    expect(requests.delete).toBe(1);
  });
});
