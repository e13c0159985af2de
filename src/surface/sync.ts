/**
 * `sync`: stages 1–10 for the direct strategy. Per service: lock, plan, guard, apply, prune, wait,
 * record. Nothing is written unless every object passed its dry-run and the guard; once anything is
 * written, the outcome is recorded on the state branch whatever happens next.
 */
import { ulid } from 'ulid';
import { NopeaError, errorMessage, type Problem } from '../errors.js';
import type { KubeClient, RequestStats, Verb } from '../cluster/client.js';
import { ApiError } from '../cluster/errors.js';
import { describeApiError, refusedBeforeWrite } from '../cluster/explain.js';
import { LockRequests, ServiceLock, holderIdentity } from '../cluster/lease.js';
import { applyObject, getObject, type PropagationPolicy } from '../cluster/objects.js';
import { applyAll, applyFailure, type ApplyItem, type ObjectResult } from '../apply/execute.js';
import { guardPlan, type GuardResult, type PruneLimit } from '../apply/guard.js';
import { pruneAll } from '../apply/prune.js';
import { formatDiagnosis, waitForHealth, type HealthReport, type HealthSnapshot } from '../health/wait.js';
import { intentOf } from '../resources/normalize.js';
import type { ResourceType } from '../resources/catalog.js';
import type { ResourceId } from '../resources/object.js';
import type { Plan } from '../plan/types.js';
import type { ServiceState } from '../state/store.js';
import type { RunOptions, ServiceSpec } from './options.js';
import { StageTimer, openRun, prepareService, type PreparedService, type RunContext } from './prepare.js';
import { sourceInfo } from './source-info.js';
import { buildStateChange } from './record.js';

export interface SyncOptions extends RunOptions {
  /** Plan and guard only: no write to the cluster or the branch. */
  dryRun?: boolean;
  prune?: boolean;
  wait?: boolean;
  timeoutMs?: number;
  forceConflicts?: boolean;
  maxPrune?: PruneLimit;
  allowPruneKinds?: string[];
  recreateOnImmutable?: boolean;
  propagationPolicy?: PropagationPolicy;
  lockNamespace?: string;
  lockTimeoutMs?: number;
  /** Stops new writes and waits (SIGTERM/SIGINT); the outcome is still recorded. */
  signal?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
}

/** Progress of a sync, for the interfaces to render as they like. */
export type SyncEvent =
  | { type: 'plan'; service: string; plan: Plan }
  | { type: 'lock-wait'; service: string; holder: string; expiresInSeconds: number }
  | { type: 'stage'; service: string; stage: 'lock' | 'apply' | 'prune' | 'wait' | 'record' }
  | { type: 'object'; service: string; result: ObjectResult }
  | { type: 'health'; service: string; snapshot: HealthSnapshot };

export type SyncOutcome = 'succeeded' | 'failed' | 'cancelled' | 'dry-run';

export interface ServiceSyncResult {
  service: string;
  namespace?: string;
  deployId: string;
  outcome: SyncOutcome;
  plan?: Plan;
  objects: ObjectResult[];
  kept: { id: ResourceId; reason: string }[];
  health?: HealthReport;
  error?: NopeaError;
  durationMs: number;
  /** State branch commit holding the record (absent for dry runs, refused syncs and runs in sync). */
  stateCommit?: string;
  /** Nothing to apply and the branch already records it all: health was checked, no lock taken, nothing recorded. */
  inSync?: boolean;
}

export interface SyncResult {
  services: ServiceSyncResult[];
  /** Every API request of the run, the lock's included. */
  requests?: RequestStats;
  /** The part of `requests` that took, renewed and released the service locks (Leases). */
  lockRequests?: LockRequests;
}

/** API requests of a run, split into the lock's Lease requests and everything else. */
export interface RequestSummary {
  /** Requests for objects, discovery and health, per verb: the lock's excluded. */
  byVerb: Record<Verb, number>;
  total: number;
  /** Writes to objects (apply, create, update, delete): zero when a sync changed nothing. */
  writes: number;
  retries: number;
  /** Requests for the per-service Lease, which every non-dry-run sync takes and releases. */
  lock: { get: number; create: number; update: number; delete: number; total: number; writes: number };
}

/** Splits a run's request counts so that object writes can be told from the lock's own. */
export function requestSummary(
  requests: RequestStats,
  lock: LockRequests = new LockRequests(),
): RequestSummary {
  const byVerb = { ...requests.byVerb };
  byVerb.get -= lock.get;
  byVerb.create -= lock.create;
  byVerb.update -= lock.update;
  byVerb.delete -= lock.delete;
  return {
    byVerb,
    total: requests.total - lock.total,
    writes: requests.writes - lock.writes,
    retries: requests.retries,
    lock: {
      get: lock.get,
      create: lock.create,
      update: lock.update,
      delete: lock.delete,
      total: lock.total,
      writes: lock.writes,
    },
  };
}

const DEFAULTS = { maxPrune: { count: 10 } as PruneLimit, timeoutMs: 5 * 60_000 };

/** Syncs every selected service, one after the other. */
export async function sync(opts: SyncOptions): Promise<SyncResult> {
  const ctx = await openRun(opts);
  try {
    const services: ServiceSyncResult[] = [];
    const lockRequests = new LockRequests();
    for (const spec of ctx.services) {
      services.push(await syncService(ctx, spec, opts, lockRequests));
      if (opts.signal?.aborted) break;
    }
    const result: SyncResult = { services, lockRequests };
    if (ctx.client) result.requests = ctx.client.stats;
    return result;
  } finally {
    ctx.client?.close();
  }
}

function guardFor(prepared: PreparedService, opts: SyncOptions): GuardResult {
  return guardPlan(prepared.plan, {
    prune: opts.prune ?? prepared.spec.prune,
    maxPrune: opts.maxPrune ?? DEFAULTS.maxPrune,
    allowPruneKinds: opts.allowPruneKinds ?? [],
    forceConflicts: opts.forceConflicts ?? false,
    inventorySize: prepared.state.inventory?.objects.length ?? 0,
    desiredCount: prepared.desired.length,
  });
}

/**
 * Takes the service lock for a planned sync. The Lease lives in the service's namespace; on a first
 * deploy into a namespace the same change creates, that Namespace is applied first (its dry-run and
 * the guard have passed). Under the lock the state is fetched again, and when another run recorded
 * something meanwhile (or the Namespace was just applied) the plan is made again.
 */
export async function lockAndPlan(
  ctx: RunContext,
  client: KubeClient,
  spec: ServiceSpec,
  opts: SyncOptions,
  deployId: string,
  lockRequests: LockRequests,
  written: ObjectResult[],
  onPlan: (plan: Plan) => void,
  planned?: PreparedService,
): Promise<{ lock: ServiceLock; prepared: PreparedService; guard: GuardResult }> {
  const first = planned ?? (await prepareService(ctx, spec, opts));
  const plannedTip = ctx.store.tip;
  if (!planned) onPlan(first.plan);
  // Refused before the lock: the plan shown above explains why.
  guardFor(first, opts);
  const namespace = opts.lockNamespace ?? spec.namespace ?? 'default';
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
  opts.onEvent?.({ type: 'stage', service: spec.name, stage: 'lock' });
  const lockOpts: Parameters<typeof ServiceLock.acquire>[1] = {
    namespace,
    service: spec.name,
    holder: holderIdentity(deployId),
    requests: lockRequests,
    onWait: (holder, expiresInSeconds) =>
      opts.onEvent?.({ type: 'lock-wait', service: spec.name, holder, expiresInSeconds }),
  };
  if (opts.lockTimeoutMs !== undefined) lockOpts.waitTimeoutMs = opts.lockTimeoutMs;
  if (opts.signal) lockOpts.signal = opts.signal;
  const lock = await ctx.timer.time('lock', () => ServiceLock.acquire(client, lockOpts));
  try {
    // Another run may have finished while this one planned or waited: plan again on its outcome.
    const tip = await ctx.store.refresh();
    if (tip === plannedTip && written.length === 0)
      return { lock, prepared: first, guard: guardFor(first, opts) };
    const prepared = await prepareService(ctx, spec, opts);
    // Shown before the guard decides, so a refusal comes with the plan it refers to.
    onPlan(prepared.plan);
    const guard = guardFor(prepared, opts);
    return { lock, prepared, guard };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * Whether a sync has nothing to do and nothing new to record: every object unchanged, nothing to
 * prune or release, the state branch already records all of it, and the last deploy succeeded.
 * Such a run only checks health; it takes no lock and writes no commit (CI runs on every push, and
 * the branch should show deploys, not heartbeats).
 */
export function inSync(prepared: PreparedService, guard: GuardResult): boolean {
  const { plan, state, desired } = prepared;
  if (state.current?.status !== 'succeeded') return false;
  if (guard.prune.length > 0 || guard.kept.some((k) => k.entry.pruneDisabled)) return false;
  if (plan.entries.some((e) => e.action !== 'unchanged' && e.action !== 'prune')) return false;
  const recorded = new Set(state.inventory?.objects.map((o) => o.id));
  if (!desired.every((d) => recorded.has(d.id) && state.lastApplied.has(d.id))) return false;
  // Inventory entries neither desired nor planned for pruning are gone from the cluster: drop them.
  const accounted = new Set([...desired.map((d) => d.id), ...plan.entries.map((e) => e.id)]);
  return [...recorded].every((id) => accounted.has(id));
}

/** One service's sync in progress: what every stage after planning reads and fills in. */
interface ServiceRun {
  ctx: RunContext;
  client: KubeClient;
  opts: SyncOptions;
  result: ServiceSyncResult;
  started: number;
}

function keptOf(guard: GuardResult): ServiceSyncResult['kept'] {
  return guard.kept.map((k) => ({ id: k.entry.id, reason: k.reason }));
}

async function syncService(
  run: RunContext,
  spec: ServiceSpec,
  opts: SyncOptions,
  lockRequests: LockRequests,
): Promise<ServiceSyncResult> {
  const started = Date.now();
  // Stage timings are per service: each deploy record gets its own.
  const ctx: RunContext = { ...run, timer: new StageTimer() };
  const deployId = ulid();
  const result: ServiceSyncResult = {
    service: spec.name,
    deployId,
    outcome: 'failed',
    objects: [],
    kept: [],
    durationMs: 0,
  };
  if (spec.namespace) result.namespace = spec.namespace;
  const client = ctx.client;
  if (!client) throw new NopeaError('input', 'sync needs a cluster; --offline only applies to diff');

  const onPlan = (plan: Plan): void => {
    result.plan = plan;
    opts.onEvent?.({ type: 'plan', service: spec.name, plan });
  };
  const serviceRun: ServiceRun = { ctx, client, opts, result, started };

  if (opts.dryRun) {
    try {
      const prepared = await prepareService(ctx, spec, opts);
      onPlan(prepared.plan);
      result.kept = keptOf(guardFor(prepared, opts));
      result.outcome = 'dry-run';
    } catch (err) {
      result.error = asNopeaError(err);
    }
    result.durationMs = Date.now() - started;
    return result;
  }

  let lock: ServiceLock;
  let prepared: PreparedService;
  let guard: GuardResult;
  try {
    // Plan before locking: a run with nothing to do needs neither the lock nor a record.
    const planned = await prepareService(ctx, spec, opts);
    onPlan(planned.plan);
    const early = guardFor(planned, opts);
    if (inSync(planned, early)) return await checkInSync(serviceRun, planned, early);
    ({ lock, prepared, guard } = await lockAndPlan(
      ctx,
      client,
      spec,
      opts,
      deployId,
      lockRequests,
      result.objects,
      onPlan,
      planned,
    ));
  } catch (err) {
    // Refused before anything was written (the Namespace applied before the lock aside): nothing to
    // record, and there is no lock to record it under.
    const error = asNopeaError(err);
    if (opts.signal?.aborted) {
      // Stopped while waiting for the lock or planning: nothing of this run reached the cluster.
      result.outcome = 'cancelled';
      result.error =
        result.objects.length === 0
          ? new NopeaError('deploy', 'sync cancelled by a signal before anything was written')
          : error;
    } else {
      result.error = result.objects.length === 0 ? refusedBeforeWrite(error) : error;
    }
    result.durationMs = Date.now() - started;
    return result;
  }
  result.kept = keptOf(guard);

  try {
    await execute(serviceRun, prepared, guard);
  } catch (err) {
    result.error = asNopeaError(err);
    result.outcome = opts.signal?.aborted ? 'cancelled' : 'failed';
  }
  if (lock.lostReason && !result.error) {
    result.error = new NopeaError(
      'deploy',
      `${lock.lostReason} while this run held it; the outcome may be mixed with that run's`,
    );
    result.outcome = 'failed';
  }
  try {
    await record(serviceRun, prepared, guard);
  } finally {
    await lock.release();
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Commits the deploy record; a failure to record turns a success into a failure (nothing is lost silently). */
async function record(run: ServiceRun, prepared: PreparedService, guard: GuardResult): Promise<void> {
  const { ctx, opts, result, started } = run;
  try {
    opts.onEvent?.({ type: 'stage', service: prepared.spec.name, stage: 'record' });
    const source = await sourceInfo(ctx.repoRoot);
    const committed = await ctx.timer.time('record', () =>
      ctx.store.commit(buildStateChange(ctx, prepared, guard, result, started, source)),
    );
    result.stateCommit = committed.commit;
  } catch (err) {
    const recordError = asNopeaError(err);
    result.error = result.error
      ? new NopeaError(result.error.kind, [...result.error.problems, ...recordError.problems])
      : recordError;
    if (result.outcome === 'succeeded') result.outcome = 'failed';
  }
}

/**
 * A run with nothing to apply: it checks health and records nothing when all is well. When health
 * fails, something broke since the last deploy; that is recorded (the branch takes concurrent commits
 * safely, so no lock is needed for a record alone).
 */
async function checkInSync(
  run: ServiceRun,
  prepared: PreparedService,
  guard: GuardResult,
): Promise<ServiceSyncResult> {
  const { opts, result, started } = run;
  result.inSync = true;
  result.kept = keptOf(guard);
  result.objects.push(...prepared.desired.map((d): ObjectResult => ({ id: d.id, action: 'unchanged' })));
  try {
    await waitHealthy(run, prepared);
    result.outcome = 'succeeded';
  } catch (err) {
    result.error = asNopeaError(err);
    result.outcome = opts.signal?.aborted ? 'cancelled' : 'failed';
    if (result.outcome === 'failed') await record(run, prepared, guard);
  }
  result.durationMs = Date.now() - started;
  return result;
}

async function execute(run: ServiceRun, prepared: PreparedService, guard: GuardResult): Promise<void> {
  const { ctx, client, opts, result } = run;
  const service = prepared.spec.name;
  const onResult = (r: ObjectResult): void => opts.onEvent?.({ type: 'object', service, result: r });
  opts.onEvent?.({ type: 'stage', service, stage: 'apply' });
  const applyOpts: Parameters<typeof applyAll>[2] = {
    forceConflicts: opts.forceConflicts ?? false,
    recreateOnImmutable: opts.recreateOnImmutable ?? false,
    onResult,
  };
  if (opts.signal) applyOpts.signal = opts.signal;
  const items = applyItems(prepared, result.objects);
  const applied = await ctx.timer.time('apply', () => applyAll(client, items, applyOpts));
  result.objects.push(...applied);
  const failedApply = applyFailure(applied);
  if (failedApply) throw failedApply;
  if (opts.signal?.aborted) throw cancelled();

  if (guard.prune.length > 0) {
    opts.onEvent?.({ type: 'stage', service, stage: 'prune' });
    const pruneOpts: Parameters<typeof pruneAll>[3] = {
      propagationPolicy: opts.propagationPolicy ?? 'Background',
      onResult,
    };
    if (opts.signal) pruneOpts.signal = opts.signal;
    const pruned = await ctx.timer.time('prune', () => pruneAll(client, ctx.catalog, guard.prune, pruneOpts));
    result.objects.push(...pruned);
    const failedPrune = applyFailure(pruned);
    if (failedPrune) throw failedPrune;
    if (opts.signal?.aborted) throw cancelled();
  }

  await waitHealthy(run, prepared);
  result.outcome = 'succeeded';
}

/** Stage 8: waits for every desired object to be healthy (unless --no-wait); throws a deploy error naming each failure. */
async function waitHealthy(run: ServiceRun, prepared: PreparedService): Promise<void> {
  const { ctx, client, opts, result } = run;
  if (!(opts.wait ?? true)) return;
  const service = prepared.spec.name;
  opts.onEvent?.({ type: 'stage', service, stage: 'wait' });
  const waitOpts: Parameters<typeof waitForHealth>[3] = {
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    onProgress: (snapshot) => opts.onEvent?.({ type: 'health', service, snapshot }),
  };
  if (opts.signal) waitOpts.signal = opts.signal;
  const targets = prepared.desired.map((d) => ({ id: d.id, type: d.type }));
  const report = await ctx.timer.time('wait', () => waitForHealth(client, ctx.catalog, targets, waitOpts));
  result.health = report;
  if (opts.signal?.aborted) throw cancelled();
  if (!report.ok) {
    const problems: Problem[] = report.failures.map((f) => ({ message: formatDiagnosis(f) }));
    const what = report.timedOut
      ? `not healthy within ${Math.round((opts.timeoutMs ?? DEFAULTS.timeoutMs) / 1000)} s`
      : 'failed its health check';
    throw new NopeaError('deploy', [{ message: `service ${service} ${what}` }, ...problems]);
  }
}

/**
 * What the apply stage writes: every desired object with its plan entry, except those this run
 * wrote already (the service's Namespace, applied before the lock could be taken in it).
 */
export function applyItems(prepared: PreparedService, written: ObjectResult[]): ApplyItem[] {
  const byId = new Map(prepared.plan.entries.map((e) => [e.id, e]));
  const done = new Set(written.map((o) => o.id));
  return prepared.desired
    .filter((desired) => !done.has(desired.id))
    .map((desired) => ({ desired, entry: byId.get(desired.id)! }));
}

function cancelled(): NopeaError {
  return new NopeaError('deploy', {
    message: 'sync cancelled by a signal: no new writes were started; what was applied is recorded',
  });
}

function asNopeaError(err: unknown): NopeaError {
  if (err instanceof NopeaError) return err;
  if ((err as { name?: string } | null)?.name === 'AbortError') return cancelled();
  return new NopeaError('internal', errorMessage(err), { cause: err });
}

/** State as read for a service, re-exported for callers that show it. */
export type { ServiceState };
