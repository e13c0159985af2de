/**
 * Stage 9, record: what one deploy writes to the state branch — its record, the last-applied
 * intents that changed (Secret values hashed), the inventory (the prune source) and current.json.
 * The caller passes in the clock readings and the CI provenance and commits the change; Secret
 * values are hashed with `redactSecret`'s salted HMAC.
 */
import type { GuardResult } from '../apply/guard.js';
import { comparableIntent } from '../plan/classify.js';
import { jsonEqual } from '../plan/paths.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import type { KubeObject, ResourceId } from '../resources/object.js';
import { redactSecret } from '../resources/secrets.js';
import { formatProblem } from '../errors.js';
import type { StateChange } from '../state/change.js';
import type { DeployRecord, Inventory, LastApplied } from '../state/format.js';
import { statePaths } from '../state/layout.js';
import type { CiProvenance, SourceInfo } from '../state/repository.js';
import type { PreparedService } from './prepare.js';
import type { ServiceSyncResult } from './sync-types.js';

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
}

/** The last-applied entry for an object now in the cluster: its intent, Secret values hashed. */
function lastAppliedEntry(
  desired: DesiredObject,
  previous: LastApplied | undefined,
  deployId: string,
  now: string,
): LastApplied | undefined {
  const intent = intentOf(desired.object);
  const stored = comparableIntent(intent, previous?.object);
  const sameOrigin =
    previous?.origin?.file === desired.origin.file && previous?.origin?.line === desired.origin.line;
  // Unchanged entries are not rewritten: the branch diff of a deploy shows what it changed.
  if (
    previous &&
    sameOrigin &&
    previous.apiVersion === desired.object.apiVersion &&
    jsonEqual(stored, previous.object)
  ) {
    return undefined;
  }
  return {
    format: 1,
    id: desired.id,
    apiVersion: desired.object.apiVersion,
    origin: desired.origin,
    deployId,
    appliedAt: now,
    object: redactSecret(intent, previous?.object as KubeObject | undefined) as LastApplied['object'],
  };
}

/** The state branch change recording one deploy: record, current, inventory, last-applied objects. */
export function buildStateChange(input: RecordInput): StateChange {
  const { prepared, guard, result, source } = input;
  const { spec, state, plan } = prepared;
  const now = input.finishedAt.toISOString();
  const outcome = result.outcome === 'dry-run' ? 'failed' : result.outcome;
  const actions = new Map(result.objects.map((o) => [o.id, o.action]));
  const writes: Record<string, unknown> = {};
  const deletes: string[] = [];

  const inCluster = new Map<ResourceId, string>();
  const desiredIds = new Set(prepared.desired.map((d) => d.id));
  const planned = new Set(plan.entries.map((e) => e.id));
  for (const o of state.inventory?.objects ?? []) {
    // No longer desired and no prune entry: the plan found it already gone from the cluster.
    if (plan.mode === 'cluster' && !desiredIds.has(o.id) && !planned.has(o.id)) {
      deletes.push(statePaths.lastApplied(o.id));
      continue;
    }
    inCluster.set(o.id, o.apiVersion);
  }
  for (const d of prepared.desired) {
    const action = actions.get(d.id);
    const applied = action === 'created' || action === 'configured' || action === 'unchanged';
    if (!applied) continue;
    inCluster.set(d.id, d.object.apiVersion);
    const entry = lastAppliedEntry(d, state.lastApplied.get(d.id), result.deployId, now);
    if (entry) writes[statePaths.lastApplied(d.id)] = entry;
  }
  for (const o of result.objects) {
    if (o.action !== 'pruned') continue;
    inCluster.delete(o.id);
    deletes.push(statePaths.lastApplied(o.id));
  }
  // Objects kept by their opt-out annotation are released: nopea stops tracking them.
  for (const k of guard.kept) {
    if (!k.entry.pruneDisabled) continue;
    inCluster.delete(k.entry.id);
    deletes.push(statePaths.lastApplied(k.entry.id));
  }
  const inventory: Inventory = {
    format: 1,
    service: spec.name,
    namespace: spec.namespace ?? '',
    objects: [...inCluster]
      .map(([id, apiVersion]) => ({ id, apiVersion }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
  writes[statePaths.inventory] = inventory;

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
  }
  if (input.provenance.actor) record.actor = input.provenance.actor;
  if (input.provenance.runUrl) record.runUrl = input.provenance.runUrl;
  writes[statePaths.deploy(result.deployId)] = record;
  writes[statePaths.current] = {
    format: 1,
    service: spec.name,
    deployId: result.deployId,
    status: outcome,
    updatedAt: now,
  };
  return {
    service: spec.name,
    message: `deploy ${spec.name} ${result.deployId} ${outcome}`,
    writes,
    deletes,
  };
}
