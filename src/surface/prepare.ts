/**
 * Stages 1–5 for one run: source → identify → state → plan → guard. Shared by `diff` and `sync`, so
 * both see exactly the same plan.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { KubeClient } from '../cluster/client.js';
import { ListsAhead, dryRunAll, liveTargets, readLive } from '../cluster/observe.js';
import { builtinCatalog, type ResourceCatalog } from '../resources/catalog.js';
import { identify, type DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import type { KubeObject, Manifest, ResourceId } from '../resources/object.js';
import { loadConfig, type NopeaConfig } from '../source/config.js';
import { loadManifests } from '../source/load.js';
import { guardPlan, type GuardResult, type PruneLimit } from '../apply/guard.js';
import { planService, type ObservedObject, type PruneCandidate } from '../plan/classify.js';
import { provablyUnchanged } from '../plan/shortcut.js';
import type { Plan } from '../plan/types.js';
import { DEFAULT_STATE_BRANCH } from '../state/layout.js';
import { openState } from '../state/open.js';
import type { StateStore } from '../state/store.js';
import { type Checkout, locateCheckout, type SourceInfo } from '../state/repository.js';
import type { ServiceState } from '../state/reader.js';
import { describeApiError } from '../cluster/explain.js';
import { connectCluster, discoverCluster } from './cluster.js';
import type { MemoryAt } from './memory.js';
import { selectServices, type RunOptions, type ServiceSpec } from './options.js';
import type { SyncOptions } from './sync-types.js';

/** How many objects one sync may prune unless `--max-prune` says otherwise. */
export const DEFAULT_MAX_PRUNE: PruneLimit = { count: 10 };
/** Bound on the health wait unless `--timeout` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Wall time of each stage, for deploy records and benchmarks. */
export class StageTimer {
  readonly stages: { name: string; ms: number }[] = [];

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.stages.push({ name, ms: Math.round(performance.now() - start) });
    }
  }
}

/** Everything a sync needs about one service after planning. */
export interface PreparedService {
  spec: ServiceSpec;
  desired: DesiredObject[];
  state: ServiceState;
  plan: Plan;
  /**
   * Each desired object that exists in the cluster as the plan read it (empty offline): its uid for
   * the inventory, and an in-sync run's first look at its health.
   */
  live: Map<ResourceId, KubeObject>;
}

/** The run's shared context: repository, state branch, cluster connection. */
export interface RunContext {
  repoRoot: string;
  cwd: string;
  store: StateStore;
  client?: KubeClient;
  catalog: ResourceCatalog;
  timer: StageTimer;
  services: ServiceSpec[];
  /** Manifests per service, loading since the run opened (files do not change during a run). */
  manifests?: Map<string, Promise<Manifest[]>>;
  /** The memory graph at the state tip the run opened on, read once (only a sync asks for it). */
  memory?: Promise<MemoryAt>;
  /** `memory.canaryThreshold` of nopea.yaml, when it sets one. */
  canaryThreshold?: number;
  /** LISTs sent while the manifests load, per service, for the kinds its last deploy's inventory holds. */
  listsAhead?: ListsAhead;
  /** The checkout's repository, commit and ref for the service's deploy records, asked of git once. */
  source?: Promise<SourceInfo>;
  /**
   * Each service's desired objects, identified once per run: the manifests and the catalog do not
   * change during a run, and a sync asks before choosing its strategy, before its plan and again under
   * the lock.
   */
  identified?: Map<string, Promise<DesiredObject[]>>;
}

/**
 * A path given on the command line (relative to where nopea runs) as the loader takes it: relative to
 * the repository root when inside it, so messages name it the way origins do
 * (`deploy/app`, not `/home/runner/work/repo/repo/deploy/app`); absolute otherwise, so the loader can
 * say it is outside the repository.
 */
export function repoPath(repoRoot: string, cwd: string, given: string): string {
  const absolute = path.resolve(cwd, given);
  const relative = path.relative(repoRoot, absolute);
  if (relative === '') return '.';
  if (relative.startsWith('..') || path.isAbsolute(relative)) return absolute;
  return relative.split(path.sep).join('/');
}

/** Where the state branch is and how to reach it: flags, then nopea.yaml, then the defaults. */
function stateOptions(
  { root: repoRoot, shallow: shallowRepository }: Checkout,
  config: NopeaConfig | undefined,
  opts: StateLocationOptions,
): Parameters<typeof openState>[0] {
  const branch = opts.stateBranch ?? config?.stateBranch ?? DEFAULT_STATE_BRANCH;
  const remote = opts.stateRemote ?? config?.stateRemote ?? 'origin';
  const storeOpts: Parameters<typeof openState>[0] = { repoRoot, shallowRepository, branch, remote };
  if (config?.retention?.deploys) storeOpts.retention = { deploys: config.retention.deploys };
  if (opts.gitAuthHeader) storeOpts.auth = { extraHeader: opts.gitAuthHeader };
  return storeOpts;
}

/** What the read-only commands need: the repository, its nopea.yaml and the state branch. */
export interface StateView {
  repoRoot: string;
  config: NopeaConfig | undefined;
  store: StateStore;
}

/** Where the repository and its state branch are, as flags, Action inputs or API fields give it. */
export type StateLocationOptions = Pick<RunOptions, 'cwd' | 'stateBranch' | 'stateRemote' | 'gitAuthHeader'>;

/** Opens the repository's state branch for reading, without a cluster. */
export async function openStateView(opts: StateLocationOptions): Promise<StateView> {
  const checkout = await locateCheckout(path.resolve(opts.cwd ?? process.cwd()));
  const config = await loadConfig(checkout.root);
  return { repoRoot: checkout.root, config, store: await openState(stateOptions(checkout, config, opts)) };
}

/** Opens repository, configuration, state branch and (unless offline) the cluster. */
export async function openRun(opts: RunOptions, timer = new StageTimer()): Promise<RunContext> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const checkout = await locateCheckout(cwd);
  const repoRoot = checkout.root;
  const config = await loadConfig(repoRoot);
  // git reports the root with symlinks resolved; resolve cwd the same way before relating the two.
  const realCwd = await realpath(cwd).catch(() => cwd);
  const services = selectServices(
    {
      ...opts,
      paths: opts.paths?.map((p) => repoPath(repoRoot, realCwd, p)),
    },
    config,
  );
  const storeOpts = stateOptions(checkout, config, opts);
  // Manifests load while git fetches the state and the cluster is discovered.
  const manifests = new Map<string, Promise<Manifest[]>>();
  for (const spec of services) {
    const loading = loadManifests(loadOptions(repoRoot, spec, opts));
    // Awaited in prepareService; this keeps an early failure elsewhere from leaving it unhandled.
    loading.catch(() => undefined);
    manifests.set(spec.name, loading);
  }
  const clientPromise = opts.offline ? undefined : connectCluster(opts);
  // Discovery goes out as soon as the cluster is connected, while git fetches the state; like `source`,
  // its stage is only what is left of it once the state is open. A state error still comes first.
  const discovering = clientPromise?.then(discoverCluster);
  discovering?.catch(() => undefined);
  let store: StateStore;
  let client: KubeClient | undefined;
  let catalog: ResourceCatalog;
  try {
    [store, client] = await Promise.all([timer.time('state', () => openState(storeOpts)), clientPromise]);
    catalog = discovering ? await timer.time('discovery', () => discovering) : builtinCatalog();
  } catch (err) {
    // Nothing else holds the client: discovery still in flight (and its retries) would keep the
    // process alive after the error is reported.
    clientPromise
      ?.then((c) => {
        c.cutInFlight();
        c.close();
      })
      .catch(() => undefined);
    throw err;
  }
  const ctx: RunContext = { repoRoot, cwd, store, catalog, timer, services, manifests };
  if (client) {
    ctx.client = client;
    ctx.listsAhead = new ListsAhead(client);
  }
  if (config?.memory?.canaryThreshold !== undefined) ctx.canaryThreshold = config.memory.canaryThreshold;
  return ctx;
}

/** How a service's manifests are read: its paths, the kubectl that renders kustomizations, their rules. */
function loadOptions(
  repoRoot: string,
  spec: ServiceSpec,
  opts: RunOptions,
): Parameters<typeof loadManifests>[0] {
  const load: Parameters<typeof loadManifests>[0] = { repoRoot, paths: spec.paths };
  const kubectl = opts.kubectl ?? process.env.NOPEA_KUBECTL;
  if (kubectl) load.kubectl = kubectl;
  if (spec.kustomize) load.kustomize = spec.kustomize;
  return load;
}

/** Stage 5: the safety rails for a planned service, with the run's options (throws a guard error). */
export function guardService(prepared: PreparedService, opts: SyncOptions): GuardResult {
  return guardPlan(prepared.plan, {
    prune: opts.prune ?? prepared.spec.prune,
    maxPrune: opts.maxPrune ?? DEFAULT_MAX_PRUNE,
    allowPruneKinds: opts.allowPruneKinds ?? [],
    forceConflicts: opts.forceConflicts ?? false,
    inventorySize: prepared.state.inventory?.objects.length ?? 0,
    desiredCount: prepared.desired.length,
  });
}

/** Stages 1–2 for one service: its manifests, loaded and identified (once per run, see `identified`). */
export function identifyService(
  ctx: RunContext,
  spec: ServiceSpec,
  opts: RunOptions,
): Promise<DesiredObject[]> {
  ctx.identified ??= new Map();
  let identified = ctx.identified.get(spec.name);
  if (!identified) {
    identified = loadAndIdentify(ctx, spec, opts);
    ctx.identified.set(spec.name, identified);
  }
  return identified;
}

async function loadAndIdentify(
  ctx: RunContext,
  spec: ServiceSpec,
  opts: RunOptions,
): Promise<DesiredObject[]> {
  // The service's state is read meanwhile (the store keeps it for the plan), and the cluster is asked
  // for the kinds its last deploy left; a manifest error still comes first, as if the state had been
  // read after them.
  ctx.store
    .readService(spec.name)
    .then((state) =>
      ctx.listsAhead?.start(spec.name, liveTargets([], state.inventory?.objects ?? [], ctx.catalog)),
    )
    .catch(() => undefined);
  const manifests = await ctx.timer.time(
    'source',
    () => ctx.manifests?.get(spec.name) ?? loadManifests(loadOptions(ctx.repoRoot, spec, opts)),
  );
  return identify(manifests, ctx.catalog, spec.namespace ? { namespace: spec.namespace } : {});
}

/**
 * How a service's desired objects become what is planned: as they are, or reshaped by the strategy
 * (a progressive one turns the Deployment into a Kulta Rollout).
 */
export type Shape = (desired: DesiredObject[]) => DesiredObject[];

/** Loads, identifies (reshaped by `shape`), reads state and plans one service. */
export async function prepareService(
  ctx: RunContext,
  spec: ServiceSpec,
  opts: RunOptions,
  shape?: Shape,
): Promise<PreparedService> {
  const { timer } = ctx;
  const identified = await identifyService(ctx, spec, opts);
  const desired = shape ? shape(identified) : identified;
  const state = await timer.time('state', () => ctx.store.readService(spec.name));
  const live = new Map<ResourceId, KubeObject>();
  const plan = await timer.time('plan', () => planFor(ctx, spec, desired, state, live));
  return { spec, desired, state, plan, live };
}

async function planFor(
  ctx: RunContext,
  spec: ServiceSpec,
  desired: DesiredObject[],
  state: ServiceState,
  seen: Map<ResourceId, KubeObject>,
): Promise<Plan> {
  const desiredIds = new Set(desired.map((d) => d.id));
  const lastApplied = (id: ResourceId): KubeObject | undefined =>
    state.lastApplied.get(id)?.object as KubeObject | undefined;
  const gone = (state.inventory?.objects ?? []).filter((o) => !desiredIds.has(o.id));
  const prune: PruneCandidate[] = gone.map((o) => {
    const candidate: PruneCandidate = { id: o.id, apiVersion: o.apiVersion };
    if (o.uid) candidate.uid = o.uid;
    const la = state.lastApplied.get(o.id);
    if (la) {
      candidate.lastApplied = la.object as KubeObject;
      if (la.origin) candidate.origin = la.origin;
    }
    return candidate;
  });
  const observations: ObservedObject[] = desired.map((d) => {
    const o: ObservedObject = { desired: d, intent: intentOf(d.object) };
    const la = lastApplied(d.id);
    if (la) o.lastApplied = la;
    const completedAt = state.lastApplied.get(d.id)?.completedAt;
    if (completedAt) o.completedAt = completedAt;
    return o;
  });

  if (ctx.client) {
    const client = ctx.client;
    // Live objects first: they tell which objects need no dry-run at all (see plan/shortcut.ts).
    const early = ctx.listsAhead?.take(spec.name);
    const live = await readLive(client, liveTargets(desired, gone, ctx.catalog), early).catch(
      (err: unknown) => {
        throw describeApiError(err, 'reading live objects');
      },
    );
    for (const o of observations) {
      const l = live.get(o.desired.id);
      if (!l) continue;
      o.live = l;
      seen.set(o.desired.id, l);
    }
    const needDryRun = observations.filter((o) => !provablyUnchanged(o.intent, o.lastApplied, o.live));
    const dryRunSet = new Set(needDryRun);
    const dry = await dryRunAll(
      client,
      needDryRun.map((o) => o.desired),
    );
    for (const o of observations) {
      const r = dry.results.get(o.desired.id);
      if (r) o.dryRun = r;
      else if (!dryRunSet.has(o) && o.live) o.dryRun = o.live;
      const note = dry.deferred.get(o.desired.id);
      if (note) o.note = note;
    }
    for (const p of prune) {
      const l = live.get(p.id);
      if (l) p.live = l;
    }
  }
  const input: Parameters<typeof planService>[0] = {
    service: spec.name,
    mode: ctx.client ? 'cluster' : 'offline',
    objects: observations,
    prune,
  };
  if (ctx.store.tip) input.stateCommit = ctx.store.tip;
  return planService(input);
}
