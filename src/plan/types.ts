/**
 * The plan: a plain value saying, per object, what a sync would do and why. Every interface renders
 * this same value (text, JSON, Markdown); nothing in the engine formats strings for humans.
 */
import type { Origin } from '../errors.js';
import type { KubeObject, ResourceId } from '../resources/object.js';
import type { FieldChange } from './paths.js';

/**
 * - `create`: not in the cluster yet.
 * - `update`: git changed it since nopea last applied it.
 * - `drift`: someone changed the live object in fields nopea manages; git did not.
 * - `conflict`: both.
 * - `unchanged`: applying would change nothing.
 * - `prune`: nopea applied it for this service before; it is no longer desired.
 */
export type Action = 'create' | 'update' | 'drift' | 'conflict' | 'unchanged' | 'prune';

export const ACTIONS: readonly Action[] = ['create', 'update', 'drift', 'conflict', 'unchanged', 'prune'];

/** A field changed outside nopea, and who owns it now. */
export interface DriftedField {
  path: string;
  /** Field managers that own the field now; empty when someone removed it. */
  managers: string[];
}

export interface PlanEntry {
  id: ResourceId;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: Action;
  origin?: Origin;
  /** Field-level changes the sync would make (Secret values masked). */
  changes: FieldChange[];
  /** Live (or last-applied, offline) and would-be objects, normalised and masked, for rendering. */
  before?: KubeObject;
  after?: KubeObject;
  /** Fields nopea applied before that someone else changed since; a sync takes them back. */
  drift?: DriftedField[];
  /**
   * Fields git now sets that another field manager owns with a different value and nopea never
   * applied: a sync stops on them unless `--force-conflicts`.
   */
  conflicts?: DriftedField[];
  /** Why the entry looks the way it does when that is not obvious (e.g. waits for its CRD). */
  note?: string;
  /** For `prune`: the object opts out with `nopea.dev/prune: disabled`. */
  pruneDisabled?: boolean;
  /**
   * For `prune`: the live object is not the one nopea applied (no field of it is managed by nopea,
   * or its uid differs from the one recorded when nopea applied it), so a sync leaves it alone.
   */
  notOwned?: boolean;
  /**
   * A Job of an unchanged spec that an earlier deploy saw complete and that its TTL has removed
   * since: when it completed. It is `unchanged` (not re-created) and not waited for.
   */
  completedAt?: string;
  /** For `prune`: the live object's identity, sent as the DELETE's preconditions. */
  live?: { uid: string; resourceVersion?: string };
  /** For `prune`: the service has pruning off (`prune: false` in nopea.yaml), so a sync keeps it. */
  pruneOff?: boolean;
}

export type Counts = Record<Action, number>;

export interface Plan {
  service: string;
  /** `cluster`: against the live cluster; `offline`: against the state branch only. */
  mode: 'cluster' | 'offline';
  /** State branch commit the plan compared against, if any. */
  stateCommit?: string;
  entries: PlanEntry[];
  counts: Counts;
}

/**
 * Whether a prune entry is kept and dropped from the inventory: nopea stops tracking an object that
 * opts out of pruning or that is not the one it applied.
 */
export function releasedFromInventory(entry: PlanEntry): boolean {
  return entry.action === 'prune' && Boolean(entry.pruneDisabled || entry.notOwned);
}

/** Counts per action. */
export function countActions(entries: PlanEntry[]): Counts {
  const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Counts;
  for (const e of entries) counts[e.action]++;
  return counts;
}

/**
 * Whether a sync would change anything (drift included: sync corrects it; prune entries of a service
 * with pruning off excluded: a sync leaves them alone).
 */
export function hasChanges(plan: Plan): boolean {
  return plan.entries.some((e) => e.action !== 'unchanged' && !e.pruneOff);
}

/**
 * The plan as a sync of a service with pruning off carries it out: its prune entries are kept and
 * say so, and are not pending changes (`diff --exit-code` would otherwise fail on every run).
 */
export function withPruningOff(plan: Plan): Plan {
  const note = 'kept: pruning is off for this service (prune: false in nopea.yaml)';
  return {
    ...plan,
    entries: plan.entries.map((e) =>
      e.action === 'prune' ? { ...e, pruneOff: true, note: [e.note, note].filter(Boolean).join('; ') } : e,
    ),
  };
}
