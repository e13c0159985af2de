/**
 * Step outputs and the exit status of a run, from the facade's results. Pure.
 *
 * The runner fails the step for any non-zero exit code and keeps the code itself only in its debug log,
 * so the `status` output is what tells later steps (`if: failure()`) why a run failed: `invalid` and
 * `refused` are the exit-2 cases (nothing was changed), `failed` and `cancelled` exit 1. What each
 * result means is `surface/outcome.ts`'s to say; this file only turns it into outputs.
 */
import { errorMessage } from '../errors.js';
import { hasChanges, releasedFromInventory, type Plan } from '../plan/types.js';
import type { DiffResult } from '../surface/diff.js';
import {
  errorExitCode,
  errorStatus,
  exitCodeOf,
  moveStatus,
  syncExitCode,
  syncStatus,
  type Status,
} from '../surface/outcome.js';
import type { RolloutResult } from '../surface/rollout.js';
import type { RolloutState } from '../strategy/types.js';
import type { ServiceSyncResult, SyncResult } from '../surface/sync-types.js';

/** The outputs action.yml declares, as the strings the runner stores. */
export interface ActionOutputs {
  'deploy-id': string;
  status: Status;
  changed: 'true' | 'false';
  created: string;
  updated: string;
  pruned: string;
  drifted: string;
  /** A progressive rollout's phase, step and weight when the run ended (empty without one). */
  'rollout-phase': string;
  'rollout-step': string;
  'rollout-weight': string;
}

export interface Counts {
  created: number;
  updated: number;
  pruned: number;
  drifted: number;
}

/** What a plan would do: objects a sync would create, update (git changes and drift), prune. */
export function planCounts(plan: Plan): Counts {
  const c = plan.counts;
  const prunable = plan.entries.filter((e) => e.action === 'prune' && !releasedFromInventory(e)).length;
  return {
    created: c.create,
    updated: c.update + c.drift + c.conflict,
    pruned: prunable,
    drifted: c.drift + c.conflict,
  };
}

/** What a service's sync did; a dry run reports what it would do, a refused sync nothing. */
export function serviceCounts(s: ServiceSyncResult): Counts {
  const drifted = s.plan ? s.plan.counts.drift + s.plan.counts.conflict : 0;
  if (s.outcome === 'dry-run' && s.plan) {
    // Prune entries the guard kept (prune off, opt-out annotation) would not be deleted.
    return { ...planCounts(s.plan), pruned: Math.max(0, s.plan.counts.prune - s.kept.length), drifted };
  }
  const count = (a: string): number => s.objects.filter((o) => o.action === a).length;
  return { created: count('created'), updated: count('configured'), pruned: count('pruned'), drifted };
}

function sum(counts: Counts[]): Counts {
  const total: Counts = { created: 0, updated: 0, pruned: 0, drifted: 0 };
  for (const c of counts) {
    total.created += c.created;
    total.updated += c.updated;
    total.pruned += c.pruned;
    total.drifted += c.drifted;
  }
  return total;
}

function outputs(
  deployIds: string[],
  status: Status,
  changed: boolean,
  counts: Counts,
  rollout?: RolloutState,
): ActionOutputs {
  return {
    'deploy-id': deployIds.join(','),
    status,
    changed: changed ? 'true' : 'false',
    created: String(counts.created),
    updated: String(counts.updated),
    pruned: String(counts.pruned),
    drifted: String(counts.drifted),
    'rollout-phase': rollout?.phase ?? '',
    'rollout-step': rollout?.step === undefined ? '' : String(rollout.step),
    'rollout-weight': rollout?.weight === undefined ? '' : String(rollout.weight),
  };
}

/** Outputs and exit code of a promote or rollback run. */
export function moveOutputs(result: RolloutResult): { outputs: ActionOutputs; exitCode: number } {
  const status = moveStatus(result);
  return {
    outputs: outputs([result.deployId], status, true, sum([]), result.rollout),
    exitCode: exitCodeOf(status),
  };
}

/** Whether a service's sync became a deploy: it wrote something or recorded an outcome. */
export function deployed(s: ServiceSyncResult): boolean {
  if (s.outcome === 'dry-run') return false;
  // A run that found everything in sync wrote and recorded nothing: it is not a deploy.
  if (s.inSync) return s.stateCommit !== undefined;
  return s.stateCommit !== undefined || s.objects.length > 0;
}

/** Outputs and exit code of a sync. Deploy ids are those of syncs that became deploys. */
export function syncOutputs(result: SyncResult): { outputs: ActionOutputs; exitCode: number } {
  const ran = result.services.filter(deployed);
  const changed = result.services.some((s) =>
    s.outcome === 'dry-run'
      ? s.plan !== undefined && hasChanges(s.plan)
      : s.objects.some((o) => o.action === 'created' || o.action === 'configured' || o.action === 'pruned'),
  );
  return {
    outputs: outputs(
      ran.map((s) => s.deployId),
      syncStatus(result),
      changed,
      sum(result.services.map(serviceCounts)),
      result.services.find((s) => s.rollout)?.rollout,
    ),
    exitCode: syncExitCode(result),
  };
}

/** Outputs of a diff: `changed` says whether a sync would change anything. */
export function diffOutputs(result: DiffResult): { outputs: ActionOutputs; exitCode: number } {
  return {
    outputs: outputs(
      [],
      'planned',
      result.plans.some(hasChanges),
      sum(result.plans.map((p) => planCounts(p))),
    ),
    exitCode: 0,
  };
}

/** Outputs when the run failed as a whole. */
export function errorOutputs(err: unknown): { outputs: ActionOutputs; exitCode: number } {
  return {
    outputs: outputs([], errorStatus(err), false, sum([])),
    exitCode: errorExitCode(err),
  };
}

/** One line for the log and `core.setFailed`. */
export function failureMessage(command: string, status: Status, err?: unknown): string {
  const WHAT: Partial<Record<Status, string>> = {
    invalid: 'invalid input or configuration; nothing was changed',
    refused: 'refused by a safety rail; nothing was changed',
    cancelled: 'cancelled; what was applied is recorded',
    'rolled-back': 'rolled back to the last good template',
    paused: 'stopped with the rollout waiting at a gate; promote or roll it back',
  };
  const what = WHAT[status] ?? 'failed';
  const first = err === undefined ? '' : `: ${errorMessage(err).split('\n')[0]}`;
  return `nopea ${command} ${what}${first}`;
}
