/**
 * `health [SERVICE]`: the live objects of a service's inventory on the state branch (or of every
 * service there) judged by the same readiness rules and diagnostics as a sync's wait — one look, no
 * waiting, nothing written (no Lease, no commit, no write to the cluster). The wait is asked for a
 * single poll with no grace period, so a pod problem seen now is a failure now; a Kulta Rollout is
 * judged by its phase, as the rollout monitor reads it.
 */
import type { KubeClient } from '../cluster/client.js';
import { describeApiError, refusedBeforeWrite } from '../cluster/explain.js';
import { openCluster, type ClusterTarget } from './cluster.js';
import { getObject } from '../cluster/objects.js';
import { liveTargets } from '../cluster/observe.js';
import { NopeaError } from '../errors.js';
import { failed, progressing, ready, type Assessment } from '../health/assessment.js';
import { waitForHealth, type Diagnosis, type HealthTarget } from '../health/wait.js';
import { viewOf } from '../progressive/rollout.js';
import { SIDES } from '../progressive/target.js';
import type { ResourceCatalog } from '../resources/catalog.js';
import { formatId, parseId, type KubeObject, type ResourceId } from '../resources/object.js';
import { STATE_FORMAT, type Inventory } from '../state/format.js';
import type { ServiceState } from '../state/reader.js';
import type { Status } from './outcome.js';
import { selectServicesOnBranch } from './history.js';
import { openStateView, type StateLocationOptions } from './prepare.js';

/** What `health` says of one object. `missing`: in the inventory, not in the cluster. */
export const OBJECT_HEALTH_STATES = ['healthy', 'progressing', 'failed', 'missing'] as const;
export type ObjectHealthState = (typeof OBJECT_HEALTH_STATES)[number];

/** The diagnosis of an object that is not healthy: pod, container, reason, last events. */
export type HealthDiagnostics = Omit<Diagnosis, 'id' | 'state'>;

/** One object of a service's inventory, as it is now. */
export interface ObjectHealthResult {
  id: ResourceId;
  kind: string;
  name: string;
  namespace: string;
  state: ObjectHealthState;
  /** A machine reason when there is one (`ImagePullBackOff`, `AtGate`, `NotFound`, ...). */
  reason?: string;
  message?: string;
  diagnostics?: HealthDiagnostics;
}

export interface ServiceHealth {
  service: string;
  namespace: string;
  /** Every object of its inventory is healthy. */
  healthy: boolean;
  objects: ObjectHealthResult[];
}

export interface HealthResult {
  services: ServiceHealth[];
  /** Every service is healthy. */
  healthy: boolean;
  /** The state branch commit whose inventories were checked. */
  stateCommit?: string;
}

export interface HealthOptions extends StateLocationOptions, ClusterTarget {
  /** One service (default: every service on the state branch). */
  service?: string;
  signal?: AbortSignal;
}

/** A health check's status: `succeeded` when everything is healthy, else `failed` (exit 1). */
export function healthStatus(result: Pick<HealthResult, 'healthy'>): Status {
  return result.healthy ? 'succeeded' : 'failed';
}

/**
 * A Kulta Rollout by its phase: `Completed` is healthy, a gate (or blue-green's preview) is
 * progressing, not failed; `Failed` fails, except nopea's rolled-back rest (step -1, weight 0: the
 * stable side holds every replica, the state Kulta is held in after a rollback).
 */
export function assessRollout(rollout: KubeObject): Assessment {
  const view = viewOf(rollout);
  const at: string[] = [];
  if (view.strategy === 'canary' && view.step !== undefined && view.step >= 0)
    at.push(`step ${view.step + 1}/${view.steps.length}`);
  if (view.strategy === 'canary' && view.weight !== undefined) at.push(`weight ${view.weight}%`);
  const where = at.length > 0 ? ` (${at.join(', ')})` : '';
  const phase = view.phase ?? 'none yet';
  if (view.atGate) {
    const gate = view.strategy === 'blue-green' ? 'preview, waiting at a gate' : 'waiting at a gate';
    return progressing(`${view.strategy} ${gate}${where}: promote or roll it back`, 'AtGate');
  }
  if (view.phase === 'Completed') return ready(`${view.strategy} Completed${where}`);
  if (view.phase === 'Failed') {
    if (view.step === -1 && view.weight === 0)
      return ready(`${view.strategy} rolled back: the stable version holds every replica`, 'RolledBack');
    return failed(
      'RolloutFailed',
      `${view.strategy} phase Failed${where}${view.message ? `: ${view.message}` : ''}`,
    );
  }
  return progressing(`${view.strategy} phase ${phase}${where}`, view.phase);
}

/** The ReplicaSets Kulta runs a Rollout's pods in (`<name>-stable`/`-canary`, `-active`/`-preview`). */
export function rolloutSides(rollout: KubeObject): ResourceId[] {
  const view = viewOf(rollout);
  return SIDES[view.strategy].map((side) =>
    formatId({ group: 'apps', kind: 'ReplicaSet', namespace: view.namespace, name: `${view.name}-${side}` }),
  );
}

function entryOfRollout(id: ResourceId, live: KubeObject): ObjectHealthResult {
  const a = assessRollout(live);
  return entry(id, a.state === 'ready' ? 'healthy' : a.state, a);
}

const SEVERITY: readonly ObjectHealthState[] = ['failed', 'progressing', 'missing', 'healthy'];

/**
 * A Rollout with what its pods say: a side ReplicaSet that failed (a pod that cannot pull its image)
 * fails the Rollout whatever its phase, and one still rolling out keeps a Completed Rollout
 * progressing; its diagnosis (pod, container, events) becomes the Rollout's. A side that does not
 * exist (one Kulta has not created, or nopea removed) says nothing.
 */
export function withSides(
  rollout: ObjectHealthResult,
  sides: readonly (ObjectHealthResult | undefined)[],
): ObjectHealthResult {
  const worst = sides
    .filter((x): x is ObjectHealthResult => x !== undefined && x.state !== 'healthy')
    .sort((a, b) => SEVERITY.indexOf(a.state) - SEVERITY.indexOf(b.state))[0];
  if (!worst || SEVERITY.indexOf(worst.state) >= SEVERITY.indexOf(rollout.state)) return rollout;
  const out: ObjectHealthResult = {
    ...rollout,
    state: worst.state,
    message: `${rollout.message ?? ''}; ReplicaSet ${worst.name}: ${worst.message ?? worst.state}`,
  };
  if (worst.reason) out.reason = worst.reason;
  if (worst.diagnostics) out.diagnostics = worst.diagnostics;
  return out;
}

function isRollout(id: ResourceId): boolean {
  const ref = parseId(id);
  return ref.kind === 'Rollout' && ref.group === 'kulta.io';
}

/** The object's place in the answer: its id split, and its state. */
function entry(id: ResourceId, state: ObjectHealthState, a?: Partial<Assessment>): ObjectHealthResult {
  const ref = parseId(id);
  const out: ObjectHealthResult = { id, kind: ref.kind, name: ref.name, namespace: ref.namespace, state };
  if (a?.reason) out.reason = a.reason;
  if (a?.message) out.message = a.message;
  return out;
}

function diagnosticsOf(d: Diagnosis): HealthDiagnostics {
  const rest: Partial<Diagnosis> = { ...d };
  delete rest.id;
  delete rest.state;
  return rest as HealthDiagnostics;
}

/**
 * Joins what the wait saw of each target into the answer, in inventory order. An object the wait did
 * not find is missing, unless it is a Job a deploy saw complete (run-once Jobs are removed by their
 * TTL); a Rollout gets its phase.
 */
export function serviceHealth(
  inventory: Inventory,
  state: Pick<ServiceState, 'lastApplied'>,
  seen: {
    objects: {
      id: ResourceId;
      state: 'ready' | 'progressing' | 'failed';
      reason?: string;
      message: string;
    }[];
    failures: Diagnosis[];
  },
  rollouts: ReadonlyMap<ResourceId, KubeObject | undefined>,
  unserved: ReadonlySet<ResourceId>,
): ServiceHealth {
  const objects = new Map(seen.objects.map((o) => [o.id, o]));
  const diagnoses = new Map(seen.failures.map((d) => [d.id, d]));
  const judged = (id: ResourceId): ObjectHealthResult | undefined => {
    const o = objects.get(id);
    if (!o || (o.state === 'progressing' && o.reason === 'NotFound')) return undefined;
    const out = entry(id, o.state === 'ready' ? 'healthy' : o.state, o);
    const d = diagnoses.get(id);
    if (d && o.state !== 'ready') out.diagnostics = diagnosticsOf(d);
    return out;
  };
  const results = inventory.objects.map(({ id, apiVersion }): ObjectHealthResult => {
    const completed = state.lastApplied.get(id)?.completedAt;
    if (unserved.has(id))
      return entry(id, 'missing', {
        reason: 'NotServed',
        message: `the cluster no longer serves ${apiVersion}`,
      });
    if (rollouts.has(id)) {
      const live = rollouts.get(id);
      if (!live) return entry(id, 'missing', { reason: 'NotFound', message: 'not found in the cluster' });
      return withSides(entryOfRollout(id, live), rolloutSides(live).map(judged));
    }
    const out = judged(id);
    if (out) return out;
    if (completed && parseId(id).kind === 'Job')
      return entry(id, 'healthy', {
        reason: 'Completed',
        message: `completed at ${completed}, removed since`,
      });
    return entry(id, 'missing', { reason: 'NotFound', message: 'not found in the cluster' });
  });
  return {
    service: inventory.service,
    namespace: inventory.namespace,
    healthy: results.every((r) => r.state === 'healthy'),
    objects: results,
  };
}

/** One look of the wait: a single poll, pod problems failing at once, everything not ready diagnosed. */
const ONE_LOOK = { timeoutMs: 0, failGraceMs: 0 } as const;

/**
 * Looks at the targets once. The wait diagnoses only the failed objects when something failed, so the
 * ones still progressing are looked at once more, for their own diagnosis.
 */
async function look(
  client: KubeClient,
  catalog: ResourceCatalog,
  targets: HealthTarget[],
  signal?: AbortSignal,
): Promise<Parameters<typeof serviceHealth>[2]> {
  const opts = signal ? { ...ONE_LOOK, signal } : ONE_LOOK;
  if (targets.length === 0) return { objects: [], failures: [] };
  const first = await waitForHealth(client, catalog, targets, opts);
  const diagnosed = new Set(first.failures.map((d) => d.id));
  const again = new Set(
    first.objects
      .filter((o) => o.state === 'progressing' && o.reason !== 'NotFound' && !diagnosed.has(o.id))
      .map((o) => o.id),
  );
  if (again.size === 0) return first;
  const second = await waitForHealth(
    client,
    catalog,
    targets.filter((t) => again.has(t.id)),
    opts,
  );
  return {
    objects: [...first.objects.filter((o) => !again.has(o.id)), ...second.objects],
    failures: [...first.failures, ...second.failures],
  };
}

async function checkService(
  client: KubeClient,
  catalog: ResourceCatalog,
  state: ServiceState & { inventory: Inventory },
  signal?: AbortSignal,
): Promise<ServiceHealth> {
  const inventory = state.inventory;
  const resolved = new Map(liveTargets([], inventory.objects, catalog).map((t) => [t.id, t]));
  const unserved = new Set(inventory.objects.map((o) => o.id).filter((id) => !resolved.has(id)));
  const targets: HealthTarget[] = [];
  const rollouts = new Map<ResourceId, KubeObject | undefined>();
  const replicaSet = catalog.lookup('apps/v1', 'ReplicaSet').found;
  await Promise.all(
    inventory.objects.map(async (o) => {
      const t = resolved.get(o.id);
      if (!t) return;
      if (!isRollout(o.id)) {
        targets.push(o.uid ? { ...t, uid: o.uid } : t);
        return;
      }
      const ref = parseId(o.id);
      let live: KubeObject | undefined;
      try {
        live = await getObject(client, t.type, ref.namespace, ref.name);
      } catch (err) {
        throw describeApiError(err, `reading Rollout ${ref.namespace}/${ref.name}`);
      }
      rollouts.set(o.id, live);
      // Its pods run in ReplicaSets Kulta made, which are not in the inventory: judged like any other.
      if (live && replicaSet) for (const id of rolloutSides(live)) targets.push({ id, type: replicaSet });
    }),
  );
  return serviceHealth(inventory, state, await look(client, catalog, targets, signal), rollouts, unserved);
}

/** `nopea health [SERVICE]`: every object of the inventory, as it is now. Reads only. */
export async function health(opts: HealthOptions): Promise<HealthResult> {
  try {
    return await checkAll(opts);
  } catch (err) {
    // health never writes: missing credentials or RBAC rights are a configuration problem (exit 2).
    throw err instanceof NopeaError ? refusedBeforeWrite(err) : err;
  }
}

async function checkAll(opts: HealthOptions): Promise<HealthResult> {
  const view = await openStateView(opts);
  const names = selectServicesOnBranch(await view.store.listServices(), view.store.branch, opts.service);
  const states = await Promise.all(names.map((name) => view.store.readService(name)));
  const result: HealthResult = { services: [], healthy: true };
  if (view.store.tip) result.stateCommit = view.store.tip;
  if (names.length === 0) return result;
  const { client, catalog } = await openCluster(opts);
  try {
    result.services = await Promise.all(
      names.map((service, i) => {
        const state = states[i]!;
        const inventory = state.inventory ?? { format: STATE_FORMAT, service, namespace: '', objects: [] };
        return checkService(client, catalog, { ...state, inventory }, opts.signal);
      }),
    );
  } finally {
    client.close();
  }
  result.healthy = result.services.every((s) => s.healthy);
  return result;
}
