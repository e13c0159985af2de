/**
 * Stage 5, guard: safety rails checked before anything is written. Pure: it reads the plan and the
 * options and either passes (saying what prune will delete) or refuses with every reason at once.
 */
import { NopeaError, type Problem } from '../errors.js';
import { parseId } from '../resources/object.js';
import { releasedFromInventory, type Plan, type PlanEntry } from '../plan/types.js';

/** Kinds never pruned unless named with `--allow-prune-kind`: deleting them destroys data or other apps. */
export const PROTECTED_KINDS: readonly string[] = [
  'Namespace',
  'CustomResourceDefinition',
  'PersistentVolumeClaim',
];

/** `--max-prune`: an absolute count or a percentage of the service's inventory. */
export type PruneLimit = { count: number } | { percent: number };

export interface GuardOptions {
  prune: boolean;
  maxPrune: PruneLimit;
  /** Protected kinds the user allows to prune. */
  allowPruneKinds: string[];
  forceConflicts: boolean;
  /** Objects nopea applied for the service before this run (the inventory size). */
  inventorySize: number;
  /** Desired objects in this run. */
  desiredCount: number;
}

export interface GuardResult {
  /** Prune entries to delete, in plan order (reverse apply order). */
  prune: PlanEntry[];
  /** Prune entries kept, with why. */
  kept: { entry: PlanEntry; reason: string }[];
}

/** Parses `--max-prune` values such as `10` or `25%`; `what` names the flag or input in errors. */
export function parsePruneLimit(value: string | number, what = '--max-prune'): PruneLimit {
  const text = String(value).trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent <= 100) return { percent };
  } else if (/^\d+$/.test(text)) {
    return { count: Number(text) };
  }
  throw new NopeaError('input', {
    message: `${what} "${text}" is not a count or a percentage`,
    hint: 'use a whole number of objects (e.g. 10) or a percentage of the inventory (e.g. 25%)',
  });
}

function limitOf(limit: PruneLimit, inventorySize: number): number {
  return 'count' in limit ? limit.count : Math.floor((limit.percent / 100) * inventorySize);
}

function describeLimit(limit: PruneLimit): string {
  return 'count' in limit ? String(limit.count) : `${limit.percent}%`;
}

/** Checks the plan against the rails; throws a `guard` error (exit 2, nothing written) listing every refusal. */
export function guardPlan(plan: Plan, opts: GuardOptions): GuardResult {
  const problems: Problem[] = [];

  if (!opts.forceConflicts) {
    for (const e of plan.entries) {
      if (!e.conflicts?.length) continue;
      const fields = e.conflicts.map((c) => `${c.path} (owned by ${c.managers.join(', ')})`).join(', ');
      const p: Problem = {
        message: `${e.id}: would take over fields another field manager owns: ${fields}`,
        object: e.id,
        hint: 'pass --force-conflicts to take them over, or remove the fields from the manifest to leave them to that manager',
      };
      if (e.origin) p.origin = e.origin;
      problems.push(p);
    }
  }

  const result: GuardResult = { prune: [], kept: [] };
  const candidates = plan.entries.filter((e) => e.action === 'prune');
  for (const e of candidates) {
    if (!opts.prune) result.kept.push({ entry: e, reason: 'pruning is off (--no-prune)' });
    else if (releasedFromInventory(e)) result.kept.push({ entry: e, reason: e.note ?? 'prune disabled' });
    else result.prune.push(e);
  }

  if (result.prune.length > 0) {
    if (opts.desiredCount === 0) {
      problems.push({
        message: `no desired objects for service ${plan.service}: refusing to prune all ${result.prune.length} object(s) it owns`,
        hint: 'check the manifest paths; an empty set never prunes everything. To retire a service, delete its objects explicitly',
      });
    }
    for (const e of result.prune) {
      const kind = parseId(e.id).kind;
      if (PROTECTED_KINDS.includes(kind) && !opts.allowPruneKinds.includes(kind)) {
        problems.push({
          message: `refusing to prune ${e.id}: ${kind} is a protected kind`,
          object: e.id,
          hint: `pass --allow-prune-kind ${kind} to allow it, or annotate the object nopea.dev/prune: disabled to keep it`,
        });
      }
    }
    const limit = limitOf(opts.maxPrune, opts.inventorySize);
    if (result.prune.length > limit) {
      problems.push({
        message: `would prune ${result.prune.length} object(s), more than --max-prune ${describeLimit(opts.maxPrune)} allows (${limit})`,
        hint: `if this is intended, pass --max-prune ${result.prune.length} (or --no-prune to keep them)`,
      });
    }
  }

  if (problems.length > 0) throw new NopeaError('guard', problems);
  return result;
}
