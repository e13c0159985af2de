/**
 * The per-service lock: a coordination.k8s.io/v1 Lease held for the whole run and renewed while it
 * lasts. A second run for the same service waits (bounded, saying who holds it); a lease whose holder
 * stopped renewing is taken over once it expires. Updates use resourceVersion, so two runs racing
 * for a free lease cannot both win.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NopeaError } from '../errors.js';
import type { ResourceType } from '../resources/catalog.js';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';
import { describeApiError } from './explain.js';
import { resourcePath } from './objects.js';

export const LEASE_TYPE: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
  verbs: ['get', 'create', 'update', 'delete'],
};

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LockOptions {
  namespace: string;
  service: string;
  /** Who holds it: shown to runs that wait (deploy id, host, CI run). */
  holder: string;
  leaseSeconds?: number;
  /** How long to wait for another run to finish before giving up. */
  waitTimeoutMs?: number;
  /** Called while waiting, with the current holder and seconds until its lease expires. */
  onWait?: (holder: string, expiresInSeconds: number) => void;
  signal?: AbortSignal;
  /** Counts the lock's own requests (taking, renewing, releasing), so a run can tell them from object writes. */
  requests?: LockRequests;
}

/**
 * API requests made for the lock. A sync that changes nothing still takes and releases its Lease;
 * counting those apart lets "no object was written" be checked exactly.
 */
export class LockRequests {
  get = 0;
  create = 0;
  update = 0;
  delete = 0;

  get total(): number {
    return this.get + this.create + this.update + this.delete;
  }

  get writes(): number {
    return this.create + this.update + this.delete;
  }
}

/** Kubernetes MicroTime: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The holder identity: deploy id plus where it runs (the host, and the CI run's URL when there is one). */
export function holderIdentity(deployId: string, runUrl?: string): string {
  return `${deployId}@${os.hostname()}${runUrl ? ` (${runUrl})` : ''}`;
}

export class ServiceLock {
  private timer: NodeJS.Timeout | undefined;
  private lost: string | undefined;
  /** A renewal in flight: release waits for it, or its new resourceVersion would fail the delete's precondition. */
  private renewing: Promise<void> | undefined;

  private constructor(
    private readonly client: KubeClient,
    private lease: Lease,
    private readonly requests: LockRequests,
  ) {}

  get name(): string {
    return this.lease.metadata.name;
  }

  /** Why the lock was lost while held (another run took it after we failed to renew), if it was. */
  get lostReason(): string | undefined {
    return this.lost;
  }

  /** Takes the service's lease, waiting for another holder within the bound. */
  static async acquire(client: KubeClient, opts: LockOptions): Promise<ServiceLock> {
    const seconds = opts.leaseSeconds ?? 60;
    const name = `nopea-${opts.service}`;
    const path = resourcePath(LEASE_TYPE, opts.namespace, name);
    const deadline = Date.now() + (opts.waitTimeoutMs ?? 5 * 60_000);
    const describe = (err: unknown): NopeaError =>
      describeApiError(err, `taking the lock (Lease ${opts.namespace}/${name})`);
    const requests = opts.requests ?? new LockRequests();
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const now = Date.now();
      const spec = {
        holderIdentity: opts.holder,
        leaseDurationSeconds: seconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
      };
      let current: Lease | undefined;
      try {
        requests.get++;
        const res = await client.request<Lease>({ method: 'GET', path, verb: 'get', allow: [404] });
        current = res.status === 404 ? undefined : res.body;
      } catch (err) {
        throw describe(err);
      }
      try {
        if (!current) {
          const body: Lease = {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name,
              namespace: opts.namespace,
              labels: { 'app.kubernetes.io/managed-by': 'nopea' },
            },
            spec: { ...spec, leaseTransitions: 0 },
          };
          requests.create++;
          const res = await client.request<Lease>({
            method: 'POST',
            path: resourcePath(LEASE_TYPE, opts.namespace),
            body,
            verb: 'create',
          });
          return ServiceLock.held(client, res.body, seconds, requests);
        }
        const holder = current.spec.holderIdentity ?? '';
        const renewed = Date.parse(current.spec.renewTime ?? current.spec.acquireTime ?? '') || 0;
        const expiresAt = renewed + (current.spec.leaseDurationSeconds ?? seconds) * 1000;
        if (!holder || holder === opts.holder || expiresAt <= now) {
          const body: Lease = {
            ...current,
            spec: {
              ...spec,
              leaseTransitions: (current.spec.leaseTransitions ?? 0) + (holder === opts.holder ? 0 : 1),
            },
          };
          requests.update++;
          const res = await client.request<Lease>({ method: 'PUT', path, body, verb: 'update' });
          return ServiceLock.held(client, res.body, seconds, requests);
        }
        if (now >= deadline) {
          throw new NopeaError('deploy', {
            message: `service ${opts.service} is locked by another nopea run: ${holder} (Lease ${opts.namespace}/${name}, renewed ${new Date(renewed).toISOString()})`,
            hint: 'wait for that run to finish and retry, or raise --lock-timeout; a lease whose holder died expires by itself',
          });
        }
        opts.onWait?.(holder, Math.max(0, Math.round((expiresAt - now) / 1000)));
        await sleep(Math.min(2000, Math.max(200, deadline - now)), undefined, { signal: opts.signal });
      } catch (err) {
        // Lost a race for the same lease: look again.
        if (err instanceof ApiError && (err.status === 409 || err.status === 422)) continue;
        if (err instanceof NopeaError) throw err;
        if ((err as { name?: string }).name === 'AbortError') throw err;
        throw describe(err);
      }
    }
    throw new NopeaError('deploy', `could not take Lease ${opts.namespace}/${name}: too many races`);
  }

  private static held(
    client: KubeClient,
    lease: Lease,
    seconds: number,
    requests: LockRequests,
  ): ServiceLock {
    const lock = new ServiceLock(client, lease, requests);
    lock.timer = setInterval(
      () => {
        if (lock.renewing) return;
        lock.renewing = lock.renew().finally(() => {
          lock.renewing = undefined;
        });
      },
      Math.max(1000, (seconds * 1000) / 3),
    );
    lock.timer.unref();
    return lock;
  }

  private async renew(): Promise<void> {
    const body: Lease = { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(Date.now()) } };
    try {
      this.requests.update++;
      const res = await this.client.request<Lease>({
        method: 'PUT',
        path: resourcePath(LEASE_TYPE, this.lease.metadata.namespace, this.name),
        body,
        verb: 'update',
      });
      this.lease = res.body;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.lost = `Lease ${this.lease.metadata.namespace}/${this.name} was taken by another run`;
        this.stopRenewing();
      }
      // Other failures: try again at the next tick; the lease stays valid for its duration.
    }
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up (if still ours), so a waiting run can go on at once. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing;
    if (this.lost) return;
    try {
      this.requests.delete++;
      await this.client.request({
        method: 'DELETE',
        path: resourcePath(LEASE_TYPE, this.lease.metadata.namespace, this.name),
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          preconditions: {
            uid: this.lease.metadata.uid,
            resourceVersion: this.lease.metadata.resourceVersion,
          },
        },
        verb: 'delete',
        allow: [404, 409],
      });
    } catch {
      // The lease expires by itself; failing to release it early must not fail the deploy.
    }
  }
}
