/**
 * `sync`: the pipeline for each selected service — plan, guard, lock (planning again under it),
 * carry out the change with the chosen strategy, wait, record. Nothing is written unless every
 * object passed its dry-run and the guard; once anything is written, the outcome is recorded on
 * the state branch whatever happens next.
 */
import { ulid } from 'ulid';
import { NopeaError, cancelledError, errorMessage, formatProblem } from '../errors.js';
import type { KubeClient, RequestStats, Verb } from '../cluster/client.js';
import { refusedBeforeWrite } from '../cluster/explain.js';
import { LockRequests, type ServiceLock } from '../cluster/lease.js';
import type { ApplyItem, ObjectResult } from '../apply/execute.js';
import type { GuardResult } from '../apply/guard.js';
import { releasedFromInventory, type Plan } from '../plan/types.js';
import type { HealthTarget } from '../health/wait.js';
import { chooseStrategy } from '../strategy/choose.js';
import { direct } from '../strategy/direct.js';
import { DEFAULT_CANARY_STEPS } from '../strategy/steps.js';
import type { ProgressiveStrategy } from '../progressive/build.js';
import type { RolloutProgress } from '../progressive/monitor.js';
import { qualifies } from '../progressive/qualify.js';
import { handBack, kultaTypes } from '../progressive/lifecycle.js';
import { progressiveStrategy, type ProgressiveRun } from '../progressive/strategy.js';
import type { DesiredObject } from '../resources/identify.js';
import type { StrategyName } from '../strategy/names.js';
import type { Change, Strategy } from '../strategy/types.js';
import { adviseStrategy, deployContext } from '../memory/context.js';
import { sourceInfo, type SourceInfo } from '../state/repository.js';
import { RunTelemetry } from '../events/telemetry.js';
import type { ServiceSpec } from './options.js';
import { lockAndPlan, takeLock, type LockFor } from './lock.js';
import {
  DEFAULT_TIMEOUT_MS,
  StageTimer,
  guardService,
  identifyService,
  openRun,
  prepareService,
  type Shape,
  type PreparedService,
  type RunContext,
} from './prepare.js';
import { memoryAt } from './memory.js';
import { buildCheckpoint, buildStateChange, type RecordInput } from './record.js';
import type { ServiceSyncResult, SyncEvent, SyncOptions, SyncResult } from './sync-types.js';

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

/**
 * Syncs every selected service, one after the other. A real sync (not a dry run) updates the
 * metrics, and at its end delivers its events and pushes its metrics when `eventsUrl` and
 * `pushgatewayUrl` say where; what cannot be delivered is a warning on the service's result.
 */
export async function sync(opts: SyncOptions): Promise<SyncResult> {
  if (opts.dryRun) return syncAll(opts);
  const telemetry = new RunTelemetry(opts);
  const onEvent = (event: SyncEvent): void => {
    if (event.type === 'rollout') telemetry.rolloutPhase(event.service, event.progress.view.phase);
    opts.onEvent?.(event);
  };
  const result = await telemetry.run(() => syncAll({ ...opts, onEvent }, telemetry));
  const warnings = await telemetry.finish();
  for (const s of result.services) for (const w of warnings.get(s.service) ?? []) addWarning(s, w);
  return result;
}

async function syncAll(opts: SyncOptions, telemetry?: RunTelemetry): Promise<SyncResult> {
  const ctx = await openRun(opts);
  // Read once, at the tip the run opened on; each service's advice comes from it.
  ctx.memory = memoryAt(ctx.store);
  ctx.memory.catch(() => undefined);
  const cut = (): void => ctx.client?.cutInFlight();
  opts.hurry?.addEventListener('abort', cut, { once: true });
  try {
    const services: ServiceSyncResult[] = [];
    const lockRequests = new LockRequests();
    for (const spec of ctx.services) {
      telemetry?.serviceStarts(spec.name);
      const done = await syncService(ctx, spec, opts, lockRequests);
      telemetry?.syncEnded(done);
      services.push(done);
      if (opts.signal?.aborted) break;
    }
    const result: SyncResult = { services, lockRequests, stages: ctx.timer.stages };
    if (ctx.client) result.requests = ctx.client.stats;
    return result;
  } finally {
    opts.hurry?.removeEventListener('abort', cut);
    ctx.client?.close();
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
  if (guard.prune.length > 0 || guard.kept.some((k) => releasedFromInventory(k.entry))) return false;
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
  spec: ServiceSpec;
  result: ServiceSyncResult;
  started: number;
  lockRequests: LockRequests;
  /** The chosen strategy's reshaping of the service's objects, for every plan of the run. */
  shape?: Shape;
}

function lockFor(run: ServiceRun): LockFor {
  const { ctx, client, spec, opts, result, lockRequests } = run;
  const who: LockFor = { ctx, client, spec, opts, deployId: result.deployId, requests: lockRequests };
  if (run.shape) who.shape = run.shape;
  return who;
}

/** How the chosen strategy reshapes the service's objects before they are planned, if it does. */
function shapeOf(strategy: Strategy, ctx: RunContext): Shape | undefined {
  return isProgressive(strategy) ? (desired) => strategy.shape(desired, ctx.catalog) : undefined;
}

function isProgressive(strategy: Strategy): strategy is ProgressiveRun {
  return 'shape' in strategy;
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
    // The service's own stages, filled in as they run (the deploy record keeps the same).
    stages: ctx.timer.stages,
  };
  if (spec.namespace) result.namespace = spec.namespace;
  const client = ctx.client;
  if (!client) throw new NopeaError('input', 'sync needs a cluster; --offline only applies to diff');

  const onPlan = (plan: Plan): void => {
    result.plan = plan;
    opts.onEvent?.({ type: 'plan', service: spec.name, plan });
  };
  const serviceRun: ServiceRun = { ctx, client, opts, spec, result, started, lockRequests };

  if (opts.dryRun) {
    try {
      const chosen = await chooseFor(serviceRun, await identifyService(ctx, spec, opts));
      const prepared = await prepareService(ctx, spec, opts, shapeOf(chosen, ctx));
      onPlan(prepared.plan);
      result.kept = keptOf(guardService(prepared, opts));
      result.outcome = 'dry-run';
    } catch (err) {
      // A dry run writes nothing: missing rights mean the same as for a real sync refused before writing.
      result.error = refusedBeforeWrite(asNopeaError(err));
    }
    result.durationMs = Date.now() - started;
    return result;
  }

  let strategy: Strategy;
  let lock: ServiceLock;
  let prepared: PreparedService;
  let guard: GuardResult;
  try {
    // The strategy first: a progressive one reshapes what is planned (the Deployment becomes a Rollout).
    strategy = await chooseFor(serviceRun, await identifyService(ctx, spec, opts));
    serviceRun.shape = shapeOf(strategy, ctx);
    // Plan before locking: a run with nothing to do needs neither the lock nor a record.
    const planned = await prepareService(ctx, spec, opts, serviceRun.shape);
    onPlan(planned.plan);
    const early = guardService(planned, opts);
    if (inSync(planned, early)) return await checkInSync(serviceRun, strategy, planned, early);
    ({ lock, prepared, guard } = await lockAndPlan(lockFor(serviceRun), result.objects, onPlan, planned));
    runSource(serviceRun).catch(() => undefined);
  } catch (err) {
    // Refused before anything was written (the Namespace applied before the lock aside): nothing to
    // record, and there is no lock to record it under.
    const error = asNopeaError(err);
    if (opts.signal?.aborted) {
      // Stopped while waiting for the lock or planning: nothing of this run reached the cluster.
      result.outcome = 'cancelled';
      result.error =
        result.objects.length === 0
          ? cancelledError('sync cancelled by a signal before anything was written')
          : error;
    } else {
      result.error = result.objects.length === 0 ? refusedBeforeWrite(error) : error;
    }
    result.durationMs = Date.now() - started;
    return result;
  }
  result.kept = keptOf(guard);

  try {
    await execute(serviceRun, strategy, lock, prepared, guard);
  } catch (err) {
    settleFailure(serviceRun, err);
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

/** What a record is built from, at this moment of the run. */
function recordInput(
  run: ServiceRun,
  prepared: PreparedService,
  guard: GuardResult,
  source: SourceInfo,
): RecordInput {
  const { ctx, opts, result, started } = run;
  return {
    prepared,
    guard,
    result,
    startedAt: new Date(started),
    finishedAt: new Date(),
    stages: ctx.timer.stages,
    source,
    provenance: opts.provenance ?? {},
    onWarning: (warning: string) => addWarning(result, warning),
  };
}

/**
 * The checkout's repository, commit and ref for the service's records, asked of git once: HEAD does
 * not move while a run deploys what it read. Started as soon as the service has the lock, so the
 * record does not wait for it (and awaited there, where a failure is reported).
 */
function runSource(run: ServiceRun): Promise<SourceInfo> {
  return (run.ctx.source ??= sourceInfo(run.ctx.repoRoot, run.opts.provenance));
}

/** Commits the deploy record; a failure to record turns a success into a failure (nothing is lost silently). */
async function record(run: ServiceRun, prepared: PreparedService, guard: GuardResult): Promise<void> {
  const { ctx, opts, result } = run;
  try {
    opts.onEvent?.({ type: 'stage', service: prepared.spec.name, stage: 'record' });
    const source = await runSource(run);
    result.source = source;
    const change = buildStateChange(recordInput(run, prepared, guard, source));
    const committed = await ctx.timer.time('record', () => ctx.store.commit(change));
    result.stateCommit = committed.commit;
  } catch (err) {
    const recordError = asNopeaError(err);
    const problems = [...recordError.problems];
    const written = result.objects.filter((o) => o.action === 'created' || o.action === 'configured');
    if (written.length > 0) {
      // What the cluster now holds that the branch does not know: the next sync records it, but only
      // if it runs before the objects leave git (prune works from the recorded inventory).
      problems.push({
        message: `${written.length} object(s) were applied but are not recorded in the service's inventory`,
        hint: 'fix what kept the state branch from being written, then run the sync again before removing any of them from git; until it is recorded, a later sync cannot prune them',
      });
    }
    const unrecorded =
      written.length > 0 ? new NopeaError(recordError.kind, problems, { cause: recordError }) : recordError;
    result.error = result.error
      ? new NopeaError(result.error.kind, [...result.error.problems, ...unrecorded.problems])
      : unrecorded;
    if (result.outcome === 'succeeded') result.outcome = 'failed';
  }
}

/**
 * Records a progressive deploy as `progressing` before its rollout is monitored (buildCheckpoint). A
 * checkpoint that cannot be written is a warning: the deploy goes on and its final record is written
 * as usual, but until then a promote or rollback from another run cannot find it.
 */
async function checkpoint(run: ServiceRun, prepared: PreparedService, guard: GuardResult): Promise<void> {
  const { ctx, result } = run;
  try {
    const source = await runSource(run);
    await ctx.store.commit(buildCheckpoint(recordInput(run, prepared, guard, source)));
  } catch (err) {
    addWarning(
      result,
      `${prepared.spec.name}: the rollout is not recorded as progressing on the state branch (${errorMessage(err)}); a promote or rollback from another run finds it only once this run ends`,
    );
  }
}

/**
 * A run with nothing to apply: it checks health and records nothing when all is well. When health
 * fails, something broke since the last deploy; that is recorded, under the lock like every write.
 */
async function checkInSync(
  run: ServiceRun,
  strategy: Strategy,
  prepared: PreparedService,
  guard: GuardResult,
): Promise<ServiceSyncResult> {
  const { result, started } = run;
  result.inSync = true;
  result.kept = keptOf(guard);
  result.objects.push(...prepared.desired.map((d): ObjectResult => ({ id: d.id, action: 'unchanged' })));
  try {
    // Nothing to roll out: a Rollout at rest is checked like any object, not monitored.
    if (run.opts.wait ?? true) {
      const change = changeOf(run, prepared, guard, []);
      // Nothing was written since the plan read every object: its first look needs no second read.
      change.seen = prepared.live;
      await waitHealthy(run, isProgressive(strategy) ? direct : strategy, change);
    }
    result.outcome = 'succeeded';
  } catch (err) {
    settleFailure(run, err);
    if (result.outcome === 'failed') await recordUnderLock(run, prepared, guard);
  }
  result.durationMs = Date.now() - started;
  return result;
}

/** Records a run that wrote nothing to the cluster, holding the lock like any other write to the branch. */
async function recordUnderLock(
  run: ServiceRun,
  prepared: PreparedService,
  guard: GuardResult,
): Promise<void> {
  const { result } = run;
  let lock: ServiceLock;
  try {
    lock = await takeLock(lockFor(run));
  } catch (err) {
    const why = asNopeaError(err);
    result.error = new NopeaError(result.error?.kind ?? why.kind, [
      ...(result.error?.problems ?? []),
      { message: `not recorded on the state branch: ${why.problems.map(formatProblem).join('; ')}` },
    ]);
    return;
  }
  try {
    await record(run, prepared, guard);
  } finally {
    await lock.release();
  }
}

/**
 * Chooses the strategy — explicit, or what memory advises for the service in its namespace — keeps
 * the choice (and memory's context) on the result for the record, and returns its implementation.
 * Canary and blue-green need Kulta: an explicit one the cluster cannot run is refused before anything
 * is written; memory's advice for one is followed only when the service qualifies (Kulta served,
 * one Deployment, a Service selecting it), else the deploy is direct with a warning saying why.
 */
async function chooseFor(run: ServiceRun, desired: DesiredObject[]): Promise<Strategy> {
  const { spec, ctx, opts } = run;
  const memory = await ctx.memory;
  if (memory?.warning) addWarning(run.result, memory.warning);
  const kulta = Boolean(ctx.catalog.lookup('kulta.io/v1alpha1', 'Rollout').found);
  const input: Parameters<typeof chooseStrategy>[0] = {
    available: new Set<StrategyName>(kulta ? ['direct', 'canary', 'blue-green'] : ['direct']),
  };
  if (opts.strategy) input.flag = opts.strategy;
  if (spec.strategy) input.configured = spec.strategy;
  if (memory) {
    const context = deployContext(memory.graph, spec.name, spec.namespace ?? '', new Date().toISOString());
    run.result.memory = context;
    if (context.known) input.advice = adviseStrategy(context, ctx.canaryThreshold);
  }
  const qualification = kulta
    ? qualifies(desired, ctx.catalog)
    : { ok: false as const, why: 'the cluster does not serve Kulta (rollouts.kulta.io)' };
  if (!qualification.ok) input.unqualified = qualification.why;
  const choice = chooseStrategy(input);
  if (choice.warning) addWarning(run.result, choice.warning);
  const { warning: _warning, ...strategy } = choice;
  run.result.strategy = strategy;
  opts.onEvent?.({ type: 'strategy', service: spec.name, choice: strategy });
  if (choice.name === 'direct') return direct;
  const onProgress = (progress: RolloutProgress): void =>
    opts.onEvent?.({ type: 'rollout', service: spec.name, progress });
  return progressiveStrategy(spec.name, progressiveSettings(choice.name, spec, opts), onProgress);
}

/** The settings a progressive strategy runs with: `--canary-steps`, then nopea.yaml, then the defaults. */
function progressiveSettings(
  name: 'canary' | 'blue-green',
  spec: ServiceSpec,
  opts: SyncOptions,
): ProgressiveStrategy {
  if (name === 'blue-green')
    return { name, ...(spec.blueGreen?.httpRoute ? { httpRoute: spec.blueGreen.httpRoute } : {}) };
  const settings: ProgressiveStrategy = {
    name,
    steps: opts.canarySteps ?? spec.canary?.steps ?? DEFAULT_CANARY_STEPS,
    ...(spec.canary?.analysis ? { analysis: spec.canary.analysis } : {}),
    ...(spec.canary?.httpRoute ? { httpRoute: spec.canary.httpRoute } : {}),
  };
  return settings;
}

/** Adds a warning once: the plan and the record may meet the same rebuilt memory. */
function addWarning(result: ServiceSyncResult, warning: string): void {
  const warnings = (result.warnings ??= []);
  if (!warnings.includes(warning)) warnings.push(warning);
}

/** The change as the strategy sees it: plain values, progress reported as sync events. */
function changeOf(
  run: ServiceRun,
  prepared: PreparedService,
  guard: GuardResult,
  items: ApplyItem[],
  lock?: ServiceLock,
): Change {
  const { ctx, client, opts } = run;
  const service = prepared.spec.name;
  const change: Change = {
    service,
    client,
    catalog: ctx.catalog,
    items,
    targets: healthTargets(prepared, run.result.objects),
    guard,
    clock: ctx.timer,
    onStage: (stage) => opts.onEvent?.({ type: 'stage', service, stage }),
    onObject: (result) => opts.onEvent?.({ type: 'object', service, result }),
    onHealth: (snapshot) => opts.onEvent?.({ type: 'health', service, snapshot }),
  };
  if (opts.signal) change.signal = opts.signal;
  if (lock) change.mayWrite = () => lock.check();
  return change;
}

/**
 * Every desired object to wait for, with the uid of the object this run applied (or found live), so
 * the wait can tell it from an earlier object of the same name (a Job deleted after completing).
 */
function healthTargets(prepared: PreparedService, results: readonly ObjectResult[]): HealthTarget[] {
  const applied = new Map(results.map((r) => [r.id, r.applied?.metadata.uid]));
  // A run-once Job that completed in an earlier deploy and is gone since has nothing left to wait for.
  const finished = new Set(prepared.plan.entries.filter((e) => e.completedAt).map((e) => e.id));
  return prepared.desired
    .filter((d) => !finished.has(d.id))
    .map((d) => {
      const target: HealthTarget = { id: d.id, type: d.type };
      const uid = applied.get(d.id) ?? prepared.live.get(d.id)?.metadata.uid;
      if (typeof uid === 'string') target.uid = uid;
      return target;
    });
}

async function execute(
  run: ServiceRun,
  strategy: Strategy,
  lock: ServiceLock,
  prepared: PreparedService,
  guard: GuardResult,
): Promise<void> {
  const { opts, result } = run;
  const change = changeOf(run, prepared, guard, applyItems(prepared, result.objects), lock);
  if (!isProgressive(strategy)) await handBackRollouts(run, prepared, guard);
  const applied = await strategy.apply(change, {
    forceConflicts: opts.forceConflicts ?? false,
    recreateOnImmutable: opts.recreateOnImmutable ?? false,
    propagationPolicy: opts.propagationPolicy ?? 'Background',
  });
  result.objects.push(...applied.objects);
  if (applied.rollout) result.rollout = applied.rollout;
  if (applied.error) throw applied.error;
  change.targets = healthTargets(prepared, result.objects);
  if (isProgressive(strategy) && (opts.wait ?? true)) await checkpoint(run, prepared, guard);
  if (!(opts.wait ?? true)) {
    // --no-wait: a rollout was started, not finished; it is promoted or rolled back later (exit 4).
    result.outcome = isProgressive(strategy) ? 'paused' : 'succeeded';
    return;
  }
  await waitHealthy(run, strategy, change);
}

/**
 * Back to direct after canary or blue-green: a Rollout git no longer declares, whose Deployment it
 * declares again, goes before the Deployment is applied, so that the Deployment adopts its
 * ReplicaSets and rolls them over like an update, and Kulta does not scale them at the same time.
 */
async function handBackRollouts(
  run: ServiceRun,
  prepared: PreparedService,
  guard: GuardResult,
): Promise<void> {
  const rollouts = guard.prune.filter((e) => e.kind === 'Rollout' && e.apiVersion.startsWith('kulta.io/'));
  for (const entry of rollouts) {
    const returning = prepared.desired.some(
      (d) =>
        d.ref.group === 'apps' &&
        d.ref.kind === 'Deployment' &&
        d.ref.namespace === entry.namespace &&
        d.ref.name === entry.name,
    );
    if (!returning) continue;
    await handBack({
      client: run.client,
      types: kultaTypes(run.ctx.catalog),
      namespace: entry.namespace,
      name: entry.name,
    });
  }
}

/** Stage 8: waits for the change to be healthy, or a rollout to its end; throws the failure it amounts to. */
async function waitHealthy(run: ServiceRun, strategy: Strategy, change: Change): Promise<void> {
  const { opts, result } = run;
  const waited = await strategy.wait(change, { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  result.health = waited.health;
  if (waited.rollout) result.rollout = waited.rollout;
  if (waited.rolledBack) result.rolledBack = true;
  if (waited.error) throw waited.error;
  result.outcome = waited.paused ? 'paused' : 'succeeded';
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

/**
 * The outcome of a run that stopped on an error. After a signal it is `cancelled`, whatever the
 * error: a wait or a request cut short by the stop is part of the cancellation, and its problems are
 * kept after the cancellation's own.
 */
function settleFailure(run: ServiceRun, err: unknown): void {
  const error = asNopeaError(err);
  if (!run.opts.signal?.aborted) {
    run.result.error = error;
    run.result.outcome = run.result.rolledBack ? 'rolled-back' : 'failed';
    return;
  }
  run.result.outcome = 'cancelled';
  run.result.error =
    error.kind === 'cancelled'
      ? error
      : new NopeaError('cancelled', [...cancelledError().problems, ...error.problems]);
}

function asNopeaError(err: unknown): NopeaError {
  if (err instanceof NopeaError) return err;
  if ((err as { name?: string } | null)?.name === 'AbortError') return cancelledError();
  return new NopeaError('internal', errorMessage(err), { cause: err });
}
