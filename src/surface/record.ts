/**
 * Stage 9, record: what one deploy writes to the state branch — its record, the last-applied
 * intents that changed (Secret values hashed), the inventory (the prune source) and current.json.
 * The caller passes in the clock readings and the CI provenance and commits the change; Secret
 * values are hashed with `redactSecret`'s salted HMAC.
 */
import type { GuardResult } from '../apply/guard.js';
import { comparableIntent } from '../plan/classify.js';
import { jsonEqual } from '../plan/paths.js';
import { releasedFromInventory } from '../plan/types.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import { parseId, type KubeObject, type ResourceId } from '../resources/object.js';
import { redactSecret } from '../resources/secrets.js';
import { formatProblem } from '../errors.js';
import type { DerivedFiles, StateChange } from '../state/change.js';
import type { DeployRecord, Inventory, LastApplied } from '../state/format.js';
import type { ServiceState, StateReader } from '../state/reader.js';
import { buildOccurrence, type TouchedObject } from '../events/occurrence.js';
import { observe } from '../memory/graph.js';
import { memoryAt, observationOf } from './memory.js';
import { statePaths } from '../state/layout.js';
import type { CiProvenance, SourceInfo } from '../state/repository.js';
import type { PreparedService } from './prepare.js';
import type { ServiceSyncResult } from './sync-types.js';

/** One inventory entry. */
type InventoryObject = Inventory['objects'][number];

/** Everything a deploy record is built from. */
export interface RecordInput {
  prepared: PreparedService;
  guard: GuardResult;
  result: ServiceSyncResult;
  startedAt: Date;
  finishedAt: Date;
  /** Wall time of each stage. */
  stages: { name: string; ms: number }[];
  /** Repository, commit and ref deployed. */
  source: SourceInfo;
  /** Who started the run and where it runs (CI), as the interface read it. */
  provenance: Pick<CiProvenance, 'actor' | 'runUrl'>;
  /** Told what the record could not do as usual (memory rebuilt from the deploy records). */
  onWarning?: (warning: string) => void;
}

/** current.json's `rollout`: the progressive rollout promote, rollback and a resuming sync act on. */
function currentRollout(input: RecordInput): Record<string, unknown> | undefined {
  if (!input.result.rollout) return undefined;
  const { strategy, name, namespace, phase, step, weight } = input.result.rollout;
  return {
    strategy,
    name,
    namespace,
    startedAt: input.startedAt.toISOString(),
    ...(phase ? { phase } : {}),
    ...(step !== undefined ? { step } : {}),
    ...(weight !== undefined ? { weight } : {}),
  };
}

/**
 * The checkpoint of a progressive deploy once its objects are applied, before the (long) rollout is
 * monitored: the inventory and last-applied files take what was applied, and current.json says the
 * deploy is `progressing` with its rollout, so a `workflow_dispatch` promote or rollback finds it while
 * this run still waits, and a run killed without a chance to record leaves nothing it applied
 * untracked. No deploy record, occurrence or memory yet: the deploy has no outcome; the final record,
 * under the same deploy id, writes them.
 */
export function buildCheckpoint(input: RecordInput): StateChange {
  const { prepared, result } = input;
  const { spec } = prepared;
  const rollout = currentRollout(input);
  return {
    service: spec.name,
    message: `deploy ${spec.name} ${result.deployId} progressing`,
    writes: {
      [statePaths.current]: {
        format: 1,
        service: spec.name,
        deployId: result.deployId,
        status: 'progressing',
        updatedAt: input.finishedAt.toISOString(),
        ...(rollout ? { rollout } : {}),
      },
    },
    derive: async (base) => serviceFiles(input, await serviceAt(input, base)),
  };
}

/** The service's files on the tip a commit builds on: the tip this run planned on needs no second read. */
async function serviceAt(input: RecordInput, base: StateReader): Promise<ServiceState> {
  const { prepared } = input;
  return base.tip === prepared.plan.stateCommit ? prepared.state : base.readService(prepared.spec.name);
}

/**
 * The last-applied entry for an object now in the cluster: its intent, Secret values hashed, and for
 * a Job this deploy saw complete (`completed`), when — kept while the spec stays the same.
 */
function lastAppliedEntry(
  desired: DesiredObject,
  previous: LastApplied | undefined,
  deployId: string,
  now: string,
  completed: boolean,
): LastApplied | undefined {
  const intent = intentOf(desired.object);
  const stored = comparableIntent(intent, previous?.object);
  const sameSpec =
    previous !== undefined &&
    previous.apiVersion === desired.object.apiVersion &&
    jsonEqual(stored, previous.object);
  const sameOrigin =
    previous?.origin?.file === desired.origin.file && previous?.origin?.line === desired.origin.line;
  const completedAt = sameSpec
    ? (previous.completedAt ?? (completed ? now : undefined))
    : completed
      ? now
      : undefined;
  // Unchanged entries are not rewritten: the branch diff of a deploy shows what it changed.
  if (sameSpec && sameOrigin && completedAt === previous.completedAt) return undefined;
  const entry: LastApplied = {
    format: 1,
    id: desired.id,
    apiVersion: desired.object.apiVersion,
    origin: desired.origin,
    deployId,
    appliedAt: now,
    object: redactSecret(intent, previous?.object as KubeObject | undefined) as LastApplied['object'],
  };
  if (completedAt) entry.completedAt = completedAt;
  return entry;
}

/**
 * The service's inventory and last-applied files after this deploy, on top of `base` (what the tip
 * the commit is built on records for the service): what this run applied joins it, what it pruned or
 * released leaves it, and entries it did not touch — another run's, recorded since this one planned —
 * stay. Nothing is ever dropped from the inventory that this run did not prune, release or find gone.
 */
export function serviceFiles(input: RecordInput, base: ServiceState): DerivedFiles {
  const { prepared, guard, result } = input;
  const { plan } = prepared;
  const now = input.finishedAt.toISOString();
  const results = new Map(result.objects.map((o) => [o.id, o]));
  const ready = new Set(result.health?.objects.filter((o) => o.state === 'ready').map((o) => o.id));
  const writes: Record<string, unknown> = {};
  const deletes: string[] = [];

  const inCluster = new Map<ResourceId, InventoryObject>();
  const desiredIds = new Set(prepared.desired.map((d) => d.id));
  const planned = new Set(plan.entries.map((e) => e.id));
  const plannedOn = new Set(prepared.state.inventory?.objects.map((o) => o.id));
  for (const o of base.inventory?.objects ?? []) {
    // In the inventory this run planned with, no longer desired and no prune entry: the plan found it
    // already gone from the cluster.
    const foundGone = plannedOn.has(o.id) && !desiredIds.has(o.id) && !planned.has(o.id);
    if (plan.mode === 'cluster' && foundGone) {
      deletes.push(statePaths.lastApplied(o.id));
      continue;
    }
    inCluster.set(o.id, o);
  }
  for (const d of prepared.desired) {
    const done = results.get(d.id);
    // A write cut short in flight may have landed: tracking it is safe (prune checks ownership first),
    // losing it is not. Its last-applied file is left as it was.
    if (done?.uncertain) {
      if (!inCluster.has(d.id)) inCluster.set(d.id, { id: d.id, apiVersion: d.object.apiVersion });
      continue;
    }
    // Written (a failed result may have been: a CRD that never became Established), or left as it was.
    const stays =
      done?.applied !== undefined ||
      done?.action === 'created' ||
      done?.action === 'configured' ||
      done?.action === 'unchanged';
    if (!done || !stays) continue;
    const entry: InventoryObject = { id: d.id, apiVersion: d.object.apiVersion };
    const uid =
      done.applied?.metadata.uid ?? prepared.live.get(d.id)?.metadata.uid ?? inCluster.get(d.id)?.uid;
    if (typeof uid === 'string') entry.uid = uid;
    inCluster.set(d.id, entry);
    const completed = d.ref.group === 'batch' && d.ref.kind === 'Job' && ready.has(d.id);
    const lastApplied = lastAppliedEntry(d, base.lastApplied.get(d.id), result.deployId, now, completed);
    if (lastApplied) writes[statePaths.lastApplied(d.id)] = lastApplied;
  }
  for (const o of result.objects) {
    if (o.action !== 'pruned') continue;
    inCluster.delete(o.id);
    deletes.push(statePaths.lastApplied(o.id));
  }
  // Kept entries that opt out of pruning, or whose live object is not nopea's, are released.
  for (const k of guard.kept) {
    if (!releasedFromInventory(k.entry)) continue;
    inCluster.delete(k.entry.id);
    deletes.push(statePaths.lastApplied(k.entry.id));
  }
  const inventory: Inventory = {
    format: 1,
    service: prepared.spec.name,
    namespace: prepared.spec.namespace ?? '',
    objects: [...inCluster.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
  writes[statePaths.inventory] = inventory;
  return { writes, deletes };
}

/**
 * The state branch change recording one deploy: its record and current.json, and — derived from the
 * tip the commit is built on, again on every compare-and-swap retry — the inventory and last-applied
 * files (`serviceFiles`).
 */
export function buildStateChange(input: RecordInput): StateChange {
  const { prepared, result, source } = input;
  const { spec, plan } = prepared;
  const now = input.finishedAt.toISOString();
  const outcome = result.outcome === 'dry-run' ? 'failed' : result.outcome;
  const writes: Record<string, unknown> = {};

  const record: DeployRecord = {
    format: 1,
    id: result.deployId,
    service: spec.name,
    namespace: spec.namespace ?? '',
    source,
    startedAt: input.startedAt.toISOString(),
    finishedAt: now,
    strategy: {
      name: result.strategy?.name ?? 'direct',
      reason: result.strategy?.reason ?? 'default',
      by: result.strategy?.by ?? 'default',
    },
    plan: plan.counts,
    objects: result.objects
      .filter((o) => o.action !== 'unchanged')
      .map((o) => ({ id: o.id, action: o.action })),
    stages: input.stages,
    outcome,
  };
  if (result.error) {
    record.error = {
      kind: result.error.kind,
      message: result.error.problems.map(formatProblem).join('\n').slice(0, 4000),
    };
    const reasons = [...new Set(result.error.problems.flatMap((p) => (p.reason ? [p.reason] : [])))];
    if (reasons.length) record.error.reasons = reasons;
  }
  if (input.provenance.actor) record.actor = input.provenance.actor;
  if (input.provenance.runUrl) record.runUrl = input.provenance.runUrl;
  writes[statePaths.deploy(result.deployId)] = record;
  const current: Record<string, unknown> = {
    format: 1,
    service: spec.name,
    deployId: result.deployId,
    status: outcome,
    updatedAt: now,
  };
  // A rollout still in progress (waiting at a gate): what promote, rollback and a resuming sync act on.
  const rollout = outcome === 'paused' ? currentRollout(input) : undefined;
  if (rollout) current.rollout = rollout;
  writes[statePaths.current] = current;
  const occurrence = buildOccurrence({
    record,
    touched: touchedObjects(result),
    problems: result.error?.problems ?? [],
    ...(result.memory ? { memory: result.memory } : {}),
  });
  if (occurrence) writes[statePaths.occurrence(result.deployId)] = occurrence;
  return {
    service: spec.name,
    message: `deploy ${spec.name} ${result.deployId} ${outcome}`,
    writes,
    // Derived from the tip the commit is built on, again on every retry: the service's files (the
    // tip this run planned on needs no second read) and the memory graph, which folds this record
    // into whatever the tip holds, so concurrent runs of different services both end up in it.
    derive: async (base) => {
      const files = serviceFiles(input, await serviceAt(input, base));
      const memory = await memoryAt(base);
      if (memory.warning) input.onWarning?.(memory.warning);
      const observation = observationOf(record);
      const graph = observation ? observe(memory.graph, observation) : memory.graph;
      files.writes = { ...files.writes, [statePaths.graph]: graph };
      return files;
    },
  };
}

/** The objects a deploy wrote or deleted, with the identity the cluster gave them, for its occurrence. */
function touchedObjects(result: ServiceSyncResult): TouchedObject[] {
  return result.objects
    .filter((o) => o.action !== 'unchanged' && o.action !== 'skipped')
    .map((o) => {
      const ref = parseId(o.id);
      const touched: TouchedObject = { kind: ref.kind, name: ref.name, namespace: ref.namespace };
      const uid = o.applied?.metadata.uid;
      const version = o.applied?.metadata.resourceVersion;
      if (typeof uid === 'string') touched.uid = uid;
      if (typeof version === 'string') touched.resourceVersion = version;
      return touched;
    });
}
