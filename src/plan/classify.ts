/**
 * Stage 4, plan: the three-way comparison. Pure: every input has been fetched already.
 *
 * - git changed it: the desired intent differs from the intent nopea last applied (state branch);
 * - the cluster changed it: fields of that last intent are no longer owned by nopea in the live
 *   object (server-side apply moves ownership to whoever changes a value), or were removed;
 * - something to do at all: the server's dry-run of the intent differs from the live object.
 */
import type { Origin } from '../errors.js';
import type { DesiredObject } from '../resources/identify.js';
import { normalizeForCompare } from '../resources/normalize.js';
import {
  FIELD_MANAGER,
  isPlainObject,
  parseId,
  type KubeObject,
  type ResourceId,
} from '../resources/object.js';
import { isSecret, maskSecretPair, redactSecret } from '../resources/secrets.js';
import { ownersOf, unownedPaths } from './ownership.js';
import { diffValues, formatPath, getAt, jsonEqual, pathsOverlap, toFieldChange, type Path } from './paths.js';
import { countActions, type Action, type DriftedField, type Plan, type PlanEntry } from './types.js';
import { applyRank } from '../resources/order.js';

/** Everything known about one desired object before classifying it. */
export interface ObservedObject {
  desired: DesiredObject;
  /** The intent as it will be sent (server-owned fields removed). */
  intent: KubeObject;
  /** The intent nopea last applied, from the state branch (Secret values hashed). */
  lastApplied?: KubeObject;
  /** For a Job: when a deploy saw the last-applied spec complete (state branch). */
  completedAt?: string;
  /** Cluster mode: the live object; undefined when it does not exist. */
  live?: KubeObject;
  /** Cluster mode: the server's dry-run result; absent when a dry-run was impossible (see note). */
  dryRun?: KubeObject;
  note?: string;
}

/** An inventory entry that is no longer desired. */
export interface PruneCandidate {
  id: ResourceId;
  apiVersion: string;
  /** The object's uid when nopea applied it (recorded in the inventory; absent in older records). */
  uid?: string;
  /** Cluster mode: the live object (undefined: already gone). */
  live?: KubeObject;
  lastApplied?: KubeObject;
  origin?: Origin;
}

export interface PlanInput {
  service: string;
  mode: 'cluster' | 'offline';
  stateCommit?: string;
  objects: ObservedObject[];
  prune: PruneCandidate[];
}

export const PRUNE_ANNOTATION = 'nopea.dev/prune';

/** The intent in the form it is stored on the state branch, so the two compare like for like. */
export function comparableIntent(intent: KubeObject, lastApplied: KubeObject | undefined): KubeObject {
  return isSecret(intent) ? redactSecret(intent, lastApplied) : intent;
}

function baseEntry(id: ResourceId, apiVersion: string, action: Action, origin?: Origin): PlanEntry {
  const ref = parseId(id);
  const entry: PlanEntry = {
    id,
    apiVersion,
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    action,
    changes: [],
  };
  if (origin) entry.origin = origin;
  return entry;
}

function withDocs(
  entry: PlanEntry,
  before: KubeObject | undefined,
  after: KubeObject | undefined,
): PlanEntry {
  const masked = maskSecretPair(before, after);
  if (masked.before) entry.before = masked.before;
  if (masked.after) entry.after = masked.after;
  if (before && after) entry.changes = diffValues(masked.before, masked.after).map(toFieldChange);
  return entry;
}

function classifyOffline(o: ObservedObject): PlanEntry {
  const { desired } = o;
  if (!o.lastApplied) {
    return withDocs(
      baseEntry(desired.id, desired.object.apiVersion, 'create', desired.origin),
      undefined,
      o.intent,
    );
  }
  const now = comparableIntent(o.intent, o.lastApplied);
  if (jsonEqual(now, o.lastApplied))
    return baseEntry(desired.id, desired.object.apiVersion, 'unchanged', desired.origin);
  // Secrets compare hashed on both sides so equal values mask as equal.
  const after = isSecret(o.intent) ? now : o.intent;
  return withDocs(
    baseEntry(desired.id, desired.object.apiVersion, 'update', desired.origin),
    o.lastApplied,
    after,
  );
}

/** Changed fields owned by another manager that nopea never applied (server-side apply would refuse them). */
function foreignFields(o: ObservedObject, changed: Path[], drift: Path[]): DriftedField[] {
  if (!o.live) return [];
  const out: DriftedField[] = [];
  for (const path of changed) {
    if (drift.some((d) => pathsOverlap(d, path))) continue;
    const managers = ownersOf(o.live, o.live, path, FIELD_MANAGER);
    if (managers.length > 0) out.push({ path: formatPath(path), managers });
  }
  return out;
}

/**
 * A run-once Job that is gone from the cluster after a deploy saw it complete, and whose spec git has
 * not changed since: re-creating it would run it again on every sync. (A changed spec runs again.)
 */
function finishedJob(o: ObservedObject): o is ObservedObject & { completedAt: string } {
  const { ref } = o.desired;
  return (
    ref.group === 'batch' &&
    ref.kind === 'Job' &&
    o.completedAt !== undefined &&
    o.lastApplied !== undefined &&
    jsonEqual(comparableIntent(o.intent, o.lastApplied), o.lastApplied)
  );
}

function classifyCluster(o: ObservedObject): PlanEntry {
  const { desired } = o;
  const entry = baseEntry(desired.id, desired.object.apiVersion, 'create', desired.origin);
  if (o.note) entry.note = o.note;
  if (!o.live && finishedJob(o)) {
    entry.action = 'unchanged';
    entry.completedAt = o.completedAt;
    entry.note = `completed at ${o.completedAt} and removed since (ttlSecondsAfterFinished): not re-created while git leaves it unchanged`;
    return entry;
  }
  if (!o.live) return withDocs(entry, undefined, normalizeForCompare(o.dryRun ?? o.intent));
  // Provably unchanged (plan/shortcut.ts): the live object stands in for the dry-run it needed none of.
  if (o.dryRun === o.live) {
    entry.action = 'unchanged';
    return entry;
  }

  const after = normalizeForCompare(o.dryRun ?? o.intent);
  const before = normalizeForCompare(o.live);
  if (jsonEqual(before, after)) {
    entry.action = 'unchanged';
    return entry;
  }
  const changedPaths = diffValues(before, after).map((c) => c.path);
  const gitChanged = !o.lastApplied || !jsonEqual(comparableIntent(o.intent, o.lastApplied), o.lastApplied);
  const driftPaths = o.lastApplied && o.live ? unownedPaths(o.lastApplied, o.live, FIELD_MANAGER) : [];
  const relevant = driftPaths.filter((p) => changedPaths.some((c) => pathsOverlap(c, p)));
  // A drifted field git changed too is a real conflict: someone else and git both want it, and a
  // sync must not silently pick git's value. Drift git left alone is just taken back.
  const stored = o.lastApplied ? comparableIntent(o.intent, o.lastApplied) : undefined;
  const gitTouched = (p: Path): boolean => !jsonEqual(getAt(stored, p), getAt(o.lastApplied, p));
  const owned = (p: Path): DriftedField => ({
    path: formatPath(p),
    managers: ownersOf(o.live!, o.lastApplied, p, FIELD_MANAGER),
  });
  let drift: DriftedField[] = relevant.filter((p) => !gitTouched(p)).map(owned);
  const conflicts = [...relevant.filter(gitTouched).map(owned), ...foreignFields(o, changedPaths, relevant)];
  if (!gitChanged && drift.length === 0 && conflicts.length === 0) {
    // Nothing in git moved, yet applying changes the object: it drifted in a way ownership does not
    // show (e.g. a mutating webhook). Name whoever owns the differing fields now.
    drift = changedPaths.map((p) => ({
      path: formatPath(p),
      managers: ownersOf(o.live!, o.live, p, FIELD_MANAGER),
    }));
  }
  if (!gitChanged) entry.action = conflicts.length > 0 ? 'conflict' : 'drift';
  else entry.action = drift.length > 0 || conflicts.length > 0 ? 'conflict' : 'update';
  if (drift.length > 0) entry.drift = drift;
  if (conflicts.length > 0) {
    entry.conflicts = conflicts;
    entry.note = [entry.note, 'needs --force-conflicts to take over fields owned by another manager']
      .filter(Boolean)
      .join('; ');
  }
  return withDocs(entry, before, after);
}

/**
 * Whether an intent sets nothing but the object's identity. Server-side apply records no managed
 * fields for such an apply, so nopea leaves no trace in the live object's managedFields.
 */
function identityOnly(intent: KubeObject | undefined): boolean {
  if (!intent) return false;
  const { apiVersion: _a, kind: _k, metadata, ...rest } = intent;
  const { name: _n, namespace: _ns, ...meta } = metadata;
  return Object.keys(rest).length === 0 && Object.keys(meta).length === 0;
}

/**
 * Why the live object of an inventory entry is not the one nopea applied, or undefined when it is:
 * nopea must manage some field of it (unless its last-applied intent sets no field at all, which
 * server-side apply does not record), and when the inventory recorded a uid, the uid must match (an
 * object deleted and re-created by someone else, or an entry planted in the inventory, is foreign).
 */
export function notOwnedReason(
  live: KubeObject,
  recordedUid: string | undefined,
  lastApplied?: KubeObject,
): string | undefined {
  const managers = Array.isArray(live.metadata.managedFields)
    ? live.metadata.managedFields.flatMap((m) =>
        isPlainObject(m) && typeof m.manager === 'string' ? [m.manager] : [],
      )
    : [];
  const traceless = managers.length === 0 && identityOnly(lastApplied);
  if (!managers.includes(FIELD_MANAGER) && !traceless) {
    const who = managers.length
      ? `its fields are managed by ${[...new Set(managers)].join(', ')}`
      : 'no field manager';
    return `not applied by nopea (${who})`;
  }
  const uid = live.metadata.uid;
  if (recordedUid && typeof uid === 'string' && uid !== recordedUid) {
    return `re-created since nopea applied it (uid ${uid}, nopea applied ${recordedUid})`;
  }
  return undefined;
}

function pruneEntry(p: PruneCandidate, mode: PlanInput['mode']): PlanEntry | undefined {
  const subject = mode === 'cluster' ? p.live : p.lastApplied;
  if (mode === 'cluster' && !p.live) return undefined; // already gone: nothing to do
  const entry = baseEntry(p.id, p.apiVersion, 'prune', p.origin);
  const annotations = subject?.metadata.annotations;
  const foreign = mode === 'cluster' && p.live ? notOwnedReason(p.live, p.uid, p.lastApplied) : undefined;
  if (foreign) {
    entry.notOwned = true;
    entry.note = `kept: ${foreign}; nopea stops tracking it`;
  } else if (isPlainObject(annotations) && annotations[PRUNE_ANNOTATION] === 'disabled') {
    entry.pruneDisabled = true;
    entry.note = `kept: annotated ${PRUNE_ANNOTATION}: disabled`;
  }
  const uid = p.live?.metadata.uid;
  if (typeof uid === 'string') {
    entry.live = { uid };
    const rv = p.live?.metadata.resourceVersion;
    if (typeof rv === 'string') entry.live.resourceVersion = rv;
  }
  const masked = maskSecretPair(subject && normalizeForCompare(subject), undefined);
  if (masked.before) entry.before = masked.before;
  return entry;
}

/** Classifies every desired object and prune candidate; entries come in apply order, prunes last. */
export function planService(input: PlanInput): Plan {
  const entries = input.objects.map((o) =>
    input.mode === 'offline' ? classifyOffline(o) : classifyCluster(o),
  );
  const byRank = (a: PlanEntry, b: PlanEntry): number =>
    applyRank({ group: parseId(a.id).group, kind: a.kind }) -
      applyRank({ group: parseId(b.id).group, kind: b.kind }) || a.id.localeCompare(b.id);
  entries.sort(byRank);
  const prunes = input.prune
    .map((p) => pruneEntry(p, input.mode))
    .filter((e): e is PlanEntry => e !== undefined)
    .sort((a, b) => byRank(b, a));
  const all = [...entries, ...prunes];
  const plan: Plan = { service: input.service, mode: input.mode, entries: all, counts: countActions(all) };
  if (input.stateCommit) plan.stateCommit = input.stateCommit;
  return plan;
}
