/**
 * Taking the service lock for a planned sync, and planning again under it when another run changed
 * things meanwhile. The Lease lives in the service's namespace; on a first deploy into a namespace
 * the same change creates, that Namespace is applied first (its dry-run and the guard have passed).
 */
import { NopeaError } from '../errors.js';
import type { KubeClient } from '../cluster/client.js';
import { ApiError } from '../cluster/errors.js';
import { describeApiError } from '../cluster/explain.js';
import { LockRequests, ServiceLock, holderIdentity } from '../cluster/lease.js';
import { applyObject, getObject } from '../cluster/objects.js';
import type { ObjectResult } from '../apply/execute.js';
import type { GuardResult } from '../apply/guard.js';
import type { Plan } from '../plan/types.js';
import type { ResourceType } from '../resources/catalog.js';
import { intentOf } from '../resources/normalize.js';
import type { ServiceSpec } from './options.js';
import {
  guardService,
  prepareService,
  type PreparedService,
  type RunContext,
  type Shape,
} from './prepare.js';
import type { SyncOptions } from './sync-types.js';

/** The namespace that holds a service's Lease. */
export function lockNamespace(spec: ServiceSpec, opts: SyncOptions): string {
  return opts.lockNamespace ?? spec.namespace ?? 'default';
}

/** Whose lock a run takes: the service, for which deploy, and where its requests are counted. */
export interface LockFor {
  ctx: RunContext;
  client: KubeClient;
  spec: ServiceSpec;
  opts: SyncOptions;
  deployId: string;
  requests: LockRequests;
  /** How the service's objects are reshaped before planning (the chosen strategy's), to plan again alike. */
  shape?: Shape;
}

/** Takes the service's Lease (waiting for another run within `--lock-timeout`), for any write. */
export async function takeLock(who: LockFor): Promise<ServiceLock> {
  const { ctx, client, spec, opts } = who;
  opts.onEvent?.({ type: 'stage', service: spec.name, stage: 'lock' });
  const lockOpts: Parameters<typeof ServiceLock.acquire>[1] = {
    namespace: lockNamespace(spec, opts),
    service: spec.name,
    holder: holderIdentity(who.deployId, opts.provenance?.runUrl),
    requests: who.requests,
    onWait: (holder, expiresInSeconds) =>
      opts.onEvent?.({ type: 'lock-wait', service: spec.name, holder, expiresInSeconds }),
  };
  if (opts.lockTimeoutMs !== undefined) lockOpts.waitTimeoutMs = opts.lockTimeoutMs;
  if (opts.signal) lockOpts.signal = opts.signal;
  return ctx.timer.time('lock', () => ServiceLock.acquire(client, lockOpts));
}

/**
 * Takes the lock, then fetches the state again: when another run recorded something meanwhile (or
 * the Namespace was just applied) the plan is made again and guarded again. `planned` is the plan
 * made before the lock (made here when absent); `written` collects what this step applied.
 */
export async function lockAndPlan(
  who: LockFor,
  written: ObjectResult[],
  onPlan: (plan: Plan) => void,
  planned?: PreparedService,
): Promise<{ lock: ServiceLock; prepared: PreparedService; guard: GuardResult }> {
  const { ctx, client, spec, opts } = who;
  const first = planned ?? (await prepareService(ctx, spec, opts, who.shape));
  const plannedTip = ctx.store.tip;
  if (!planned) onPlan(first.plan);
  // Refused before the lock: the plan shown above explains why.
  guardService(first, opts);
  const namespace = lockNamespace(spec, opts);
  const nsType = ctx.catalog.lookup('v1', 'Namespace').found;
  const exists = async (type: ResourceType): Promise<boolean> => {
    try {
      return Boolean(await getObject(client, type, '', namespace));
    } catch (err) {
      // A user with rights only inside namespaces may not read Namespace objects: go on to the lock,
      // whose own request names the permission that is missing, if any is.
      if (err instanceof ApiError && err.status === 403) return true;
      throw describeApiError(err, `reading Namespace ${namespace} (for the lock)`);
    }
  };
  if (nsType && !(await exists(nsType))) {
    const ns = first.desired.find(
      (d) => d.ref.group === '' && d.ref.kind === 'Namespace' && d.ref.name === namespace,
    );
    if (!ns) {
      throw new NopeaError('input', {
        message: `namespace ${namespace} does not exist, so the lock for service ${spec.name} cannot be taken there`,
        hint: 'create the namespace, add it to the manifests, or pass --lock-namespace with an existing namespace',
      });
    }
    try {
      const applied = await applyObject(client, ns.type, intentOf(ns.object));
      const early: ObjectResult = { id: ns.id, action: 'created', applied, intent: intentOf(ns.object) };
      written.push(early);
      opts.onEvent?.({ type: 'object', service: spec.name, result: early });
    } catch (err) {
      throw describeApiError(err, `apply of ${ns.id}`, ns.id);
    }
  }
  const lock = await takeLock(who);
  try {
    // Another run may have finished while this one planned or waited: plan again on its outcome.
    const tip = await ctx.store.refresh();
    if (tip === plannedTip && written.length === 0)
      return { lock, prepared: first, guard: guardService(first, opts) };
    const prepared = await prepareService(ctx, spec, opts, who.shape);
    // Shown before the guard decides, so a refusal comes with the plan it refers to.
    onPlan(prepared.plan);
    const guard = guardService(prepared, opts);
    return { lock, prepared, guard };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
