/**
 * The per-service lock: a coordination.k8s.io/v1 Lease held for the whole run and renewed while it
 * lasts. A second run for the same service waits (bounded, saying who holds it); a lease whose holder
 * stopped renewing is taken over once it has not changed for its duration on this runner's clock
 * (another runner's clock is never compared with ours). Updates use resourceVersion, so two runs
 * racing for a free lease cannot both win. The holder asks `check()` before each write: once a
 * renewal found the lease taken, or renewals have failed for most of its duration, it must stop.
 */
import os from 'node:os';
import { NopeaError, cancelledError, errorMessage } from '../errors.js';
import { backoffDelay, poll, systemClock, type Clock } from '../poll.js';
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
  /**
   * Called while waiting, with the current holder and the seconds after which its lease counts as
   * abandoned if it is not renewed meanwhile.
   */
  onWait?: (holder: string, expiresInSeconds: number) => void;
  signal?: AbortSignal;
  /** Counts the lock's own requests (taking, renewing, releasing), so a run can tell them from object writes. */
  requests?: LockRequests;
  /** This runner's clock, which alone judges how old a lease is. */
  clock?: Clock;
}

/** Looking at a held (or contended) lease again: soon at first, then at most every 2 s. */
const WAIT_BACKOFF = { initialMs: 250, maxMs: 2_000 };

/**
 * The holder stops writing once its last successful renewal is older than this share of the lease's
 * duration: a run that waits takes the lease over only after the whole duration, so what the holder
 * still has in flight when it stops has the rest to finish.
 */
const SAFE_SHARE = 0.75;

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

/** The lease as stored, or undefined when there is none. */
async function readLease(
  client: KubeClient,
  path: string,
  requests: LockRequests,
  signal?: AbortSignal,
): Promise<Lease | undefined> {
  requests.get++;
  const res = await client.request<Lease>({ method: 'GET', path, verb: 'get', allow: [404], signal });
  return res.status === 404 ? undefined : res.body;
}

export class ServiceLock {
  private timer: NodeJS.Timeout | undefined;
  private lost: string | undefined;
  /** A renewal in flight: release waits for it, or its new resourceVersion would fail the delete's precondition. */
  private renewing: Promise<void> | undefined;
  /** Why the last renewal failed, while renewals fail. */
  private renewFailure: string | undefined;

  private constructor(
    private readonly client: KubeClient,
    private lease: Lease,
    private readonly requests: LockRequests,
    private readonly clock: Clock,
    /** How long a write of the lease keeps it ours: the duration this run asked for. */
    private readonly durationMs: number,
    /** When, on this runner's clock, the last write of the lease that succeeded was sent. */
    private renewedAt: number,
  ) {}

  get name(): string {
    return this.lease.metadata.name;
  }

  private get where(): string {
    return `Lease ${this.lease.metadata.namespace}/${this.name}`;
  }

  /** Why the lock was lost while held (another run took it after we failed to renew), if it was. */
  get lostReason(): string | undefined {
    return this.lost;
  }

  /**
   * Whether this run may still write under the lock: undefined while it is safely held, otherwise
   * the error to stop with — a renewal found the lease taken by another run, or no renewal has
   * succeeded for most of the lease's duration, after which another run may take it over.
   */
  check(): NopeaError | undefined {
    if (this.lost) {
      return new NopeaError('deploy', {
        message: `${this.lost} while this run held it, so this run stopped writing`,
        hint: 'the other run deploys this service now; look at its outcome, then run the sync again if needed',
      });
    }
    const ageMs = this.clock.now() - this.renewedAt;
    if (ageMs <= this.durationMs * SAFE_SHARE) return undefined;
    const failure = this.renewFailure ? ` (last attempt: ${this.renewFailure})` : '';
    return new NopeaError('deploy', {
      message: `the lock (${this.where}) has not been renewed for ${Math.round(ageMs / 1000)} s of its ${Math.round(this.durationMs / 1000)} s${failure}; another run may take it over, so this run stopped writing`,
      hint: `check that the cluster is reachable from here and that the user may update leases in namespace ${this.lease.metadata.namespace}, then run the sync again`,
    });
  }

  /**
   * Takes the service's lease, waiting for another holder within the bound. A held lease counts as
   * abandoned once it has not changed for its duration as this runner's clock measures it, as
   * client-go's leader election judges it: the holder's own timestamps are never compared with ours.
   */
  static async acquire(client: KubeClient, opts: LockOptions): Promise<ServiceLock> {
    const clock = opts.clock ?? systemClock;
    const seconds = opts.leaseSeconds ?? 60;
    const name = `nopea-${opts.service}`;
    const where = `Lease ${opts.namespace}/${name}`;
    const path = resourcePath(LEASE_TYPE, opts.namespace, name);
    const waitMs = opts.waitTimeoutMs ?? 5 * 60_000;
    const requests = opts.requests ?? new LockRequests();
    const describe = (err: unknown): NopeaError => describeApiError(err, `taking the lock (${where})`);
    const cancelled = (): NopeaError =>
      cancelledError(`sync cancelled by a signal while waiting for the lock (${where})`);

    const read = async (): Promise<Lease | undefined> => {
      try {
        return await readLease(client, path, requests, opts.signal);
      } catch (err) {
        throw opts.signal?.aborted ? cancelled() : describe(err);
      }
    };
    const write = async (current: Lease | undefined, now: number): Promise<Lease> => {
      const spec = {
        holderIdentity: opts.holder,
        leaseDurationSeconds: seconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
      };
      if (!current) {
        requests.create++;
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: opts.namespace, labels: { 'app.kubernetes.io/managed-by': 'nopea' } },
          spec: { ...spec, leaseTransitions: 0 },
        };
        const res = await client.request<Lease>({
          method: 'POST',
          path: resourcePath(LEASE_TYPE, opts.namespace),
          body,
          verb: 'create',
        });
        return res.body;
      }
      const previous = current.spec.holderIdentity ?? '';
      const transitions = (current.spec.leaseTransitions ?? 0) + (previous === opts.holder ? 0 : 1);
      requests.update++;
      const res = await client.request<Lease>({
        method: 'PUT',
        path,
        body: { ...current, spec: { ...spec, leaseTransitions: transitions } },
        verb: 'update',
      });
      return res.body;
    };

    // Another run's lease as last seen, and when (on our clock) it was first seen like that.
    let seen: { holder: string; version: string; renewTime: string; since: number } | undefined;
    let heldBy: typeof seen;
    const result = await poll<{ lease: Lease; sentAt: number }>(
      async (n) => {
        const current = await read();
        const now = clock.now();
        const holder = current?.spec.holderIdentity ?? '';
        heldBy = undefined;
        if (current && holder && holder !== opts.holder) {
          const version = `${current.metadata.resourceVersion} ${holder} ${current.spec.renewTime}`;
          if (seen?.version !== version) {
            seen = { holder, version, renewTime: current.spec.renewTime ?? '', since: now };
          }
          const durationMs = (current.spec.leaseDurationSeconds ?? seconds) * 1000;
          const leftMs = seen.since + durationMs - now;
          if (leftMs > 0) {
            heldBy = seen;
            opts.onWait?.(holder, Math.ceil(leftMs / 1000));
            return { done: false, retryInMs: Math.min(leftMs, backoffDelay(n, WAIT_BACKOFF)) };
          }
        }
        try {
          return { done: true, value: { lease: await write(current, now), sentAt: now } };
        } catch (err) {
          // Lost a race for the same lease: another run wrote it between our read and our write.
          if (err instanceof ApiError && (err.status === 409 || err.status === 422)) {
            return { done: false, reason: err.message };
          }
          throw describe(err);
        }
      },
      { timeoutMs: waitMs, backoff: WAIT_BACKOFF, signal: opts.signal, clock },
    );
    if (result.ok) {
      const { lease, sentAt } = result.value;
      return ServiceLock.held(new ServiceLock(client, lease, requests, clock, seconds * 1000, sentAt));
    }
    if (result.why === 'aborted') throw cancelled();
    if (heldBy) {
      throw new NopeaError('deploy', {
        message: `service ${opts.service} is locked by another nopea run: ${heldBy.holder} (${where}, renewed ${heldBy.renewTime || 'never'})`,
        hint: 'wait for that run to finish and retry, or raise --lock-timeout; a lease whose holder died is taken over once it goes unrenewed for its duration',
      });
    }
    throw new NopeaError('deploy', {
      message: `could not take the lock (${where}) within ${Math.round(waitMs / 1000)} s: every attempt lost a race with another run writing it (${result.last ?? 'no answer'})`,
      hint: 'another run is taking the same lock: wait for it to finish and retry, or raise --lock-timeout',
    });
  }

  /** Starts renewing: every third of the duration, so one failed renewal still leaves time for the next. */
  private static held(lock: ServiceLock): ServiceLock {
    lock.timer = setInterval(
      () => {
        if (lock.renewing) return;
        lock.renewing = lock.renew().finally(() => {
          lock.renewing = undefined;
        });
      },
      Math.max(1000, lock.durationMs / 3),
    );
    lock.timer.unref();
    return lock;
  }

  private async renew(): Promise<void> {
    try {
      await this.put();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) {
        // The lease stays ours for its duration: the next tick tries again, and check() says when
        // that is too late to go on writing.
        this.renewFailure = errorMessage(err);
        return;
      }
      // Our resourceVersion is stale. Either another run took the lease, or an earlier renewal of
      // ours went through without its answer reaching us: only the lease itself tells which.
      try {
        const current = await readLease(
          this.client,
          resourcePath(LEASE_TYPE, this.lease.metadata.namespace, this.name),
          this.requests,
        );
        if (!current || current.spec.holderIdentity !== this.lease.spec.holderIdentity) {
          const by = current ? current.spec.holderIdentity || 'its holder was cleared' : 'it was deleted';
          this.lost = `${this.where} was taken by another run (${by})`;
          this.stopRenewing();
          return;
        }
        this.lease = current;
        await this.put();
      } catch (again) {
        this.renewFailure = errorMessage(again);
      }
    }
  }

  /** Writes our lease with a new renewTime; on success the lease is ours for its duration from when it was sent. */
  private async put(): Promise<void> {
    const sentAt = this.clock.now();
    const body: Lease = { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(sentAt) } };
    this.requests.update++;
    const res = await this.client.request<Lease>({
      method: 'PUT',
      path: resourcePath(LEASE_TYPE, this.lease.metadata.namespace, this.name),
      body,
      verb: 'update',
    });
    this.lease = res.body;
    this.renewedAt = sentAt;
    this.renewFailure = undefined;
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
