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

function classifyCluster(o: ObservedObject): PlanEntry {
  const { desired } = o;
  const entry = baseEntry(desired.id, desired.object.apiVersion, 'create', desired.origin);
  if (o.note) entry.note = o.note;
  if (!o.live) return withDocs(entry, undefined, normalizeForCompare(o.dryRun ?? o.intent));

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

function pruneEntry(p: PruneCandidate, mode: PlanInput['mode']): PlanEntry | undefined {
  const subject = mode === 'cluster' ? p.live : p.lastApplied;
  if (mode === 'cluster' && !p.live) return undefined; // already gone: nothing to do
  const entry = baseEntry(p.id, p.apiVersion, 'prune', p.origin);
  const annotations = subject?.metadata.annotations;
  if (isPlainObject(annotations) && annotations[PRUNE_ANNOTATION] === 'disabled') {
    entry.pruneDisabled = true;
    entry.note = `kept: annotated ${PRUNE_ANNOTATION}: disabled`;
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
