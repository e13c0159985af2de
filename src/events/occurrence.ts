/**
 * The occurrence of a deploy: one file per deploy outcome on the state branch
 * (`.nopea/occurrences/<deploy-id>.json`), in the shape of the original nopea's occurrences — what
 * happened, where, to which objects, in which steps, and for a failure what failed, why it matters and
 * which remembered failure patterns it matched. Built from the deploy record and plain values; pure.
 * Secret values never reach it: it names objects, never their content.
 */
import type { Problem } from '../errors.js';
import { errorKindsOf } from '../memory/error-kinds.js';
import type { DeployContext } from '../memory/types.js';
import type { DeployRecord, Occurrence } from '../state/format.js';

/** One object the deploy touched, as the cluster answered for it. */
export interface TouchedObject {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

export interface OccurrenceInput {
  record: DeployRecord;
  touched: TouchedObject[];
  /** The error's problems, for the failed step and the error block. */
  problems: Problem[];
  /** What memory knew when the strategy was chosen. */
  memory?: DeployContext;
}

/** The stages of a deploy record that are steps of the run, with what each does. */
const STEPS: Record<string, string> = {
  plan: 'plan the change against the cluster and the state branch',
  lock: "take the service's lock",
  apply: 'apply the manifests with server-side apply',
  prune: 'delete what git no longer declares',
  wait: 'wait until every object is healthy',
  record: 'record the deploy on the state branch',
};

/** The outcomes an occurrence is written for: every end of a deploy (not a pause at a gate). */
export type EndedOutcome = Exclude<DeployRecord['outcome'], 'paused'>;

const TYPE: Record<EndedOutcome, Occurrence['type']> = {
  succeeded: 'deploy.run.completed',
  failed: 'deploy.run.failed',
  cancelled: 'deploy.run.cancelled',
  'rolled-back': 'deploy.run.rolledback',
  superseded: 'deploy.run.superseded',
};

const SEVERITY: Record<EndedOutcome, Occurrence['severity']> = {
  succeeded: 'info',
  failed: 'error',
  cancelled: 'warning',
  'rolled-back': 'warning',
  superseded: 'info',
};

/** What a failure is called: its first machine reason, else nopea's error kind. */
function codeOf(record: DeployRecord): string {
  return record.error?.reasons?.[0] ?? record.error?.kind ?? 'unknown';
}

/** The occurrence of one deploy outcome; none while a rollout waits at a gate (it is written when it ends). */
export function buildOccurrence(input: OccurrenceInput): Occurrence | undefined {
  const { record, memory } = input;
  if (record.outcome === 'paused') return undefined;
  const outcome: EndedOutcome = record.outcome;
  const failed = outcome !== 'succeeded' && outcome !== 'superseded';
  const counts: Record<string, number> = {};
  for (const o of record.objects ?? []) counts[o.action] = (counts[o.action] ?? 0) + 1;
  counts.unchanged = record.plan.unchanged;

  const ran = record.stages.filter((s) => s.name in STEPS);
  const steps: Occurrence['history']['steps'] = ran.map((s, i) => {
    // The run stopped in the last step it entered.
    const stoppedHere = failed && i === ran.length - 1 && record.error !== undefined;
    const step: Occurrence['history']['steps'][number] = {
      name: s.name,
      description: STEPS[s.name] ?? s.name,
      status: stoppedHere ? 'failed' : 'ok',
      duration_ms: s.ms,
    };
    if (stoppedHere)
      step.error = { code: codeOf(record), message: input.problems[0]?.message ?? record.error!.message };
    return step;
  });

  const occurrence: Occurrence = {
    format: 1,
    protocol_version: '1.0',
    id: record.id,
    timestamp: record.finishedAt,
    source: 'nopea',
    type: TYPE[outcome],
    severity: SEVERITY[outcome],
    outcome: failed ? 'failure' : 'success',
    context: {
      service: record.service,
      namespace: record.namespace,
      entities: input.touched.map((t) => ({
        type: t.kind,
        id: t.uid ?? 'unknown',
        name: t.name,
        namespace: t.namespace,
        version: t.resourceVersion ?? '0',
        source_of_truth: 'k8s-api',
      })),
    },
    data: {
      deploy_id: record.id,
      service: record.service,
      namespace: record.namespace,
      strategy: record.strategy.name,
      strategy_reason: record.strategy.reason,
      counts,
    },
    history: { steps },
  };
  if (record.strategy.by) occurrence.data.chosen_by = record.strategy.by;
  if (record.source.commit) occurrence.data.source_commit = record.source.commit;
  if (failed && record.error) {
    const code = codeOf(record);
    occurrence.error = {
      code,
      message: input.problems[0]?.message ?? record.error.message,
      what_failed: `deploy of ${record.service} (${record.strategy.name})`,
      why_it_matters: `${record.service} in ${record.namespace || 'its namespaces'} may not be running what git declares`,
    };
    // The patterns memory held, before this deploy, for the kinds of this failure in this namespace.
    const kinds = new Set<string>(errorKindsOf(record.error, record.outcome));
    const matched = (memory?.failurePatterns ?? []).filter((p) => p.sameNamespace && kinds.has(p.errorKind));
    occurrence.reasoning = {
      summary: `${record.service} ${record.outcome} — ${code}`,
      patterns_matched: matched.map((p) => ({
        pattern_name: p.errorKind,
        confidence: Math.round(p.confidence * 1000) / 1000,
        times_seen: p.observations,
      })),
      // How sure the explanation is: as sure as the strongest remembered pattern, and low for a
      // failure memory has not seen before.
      confidence: Math.max(0.3, ...matched.map((p) => Math.round(p.confidence * 1000) / 1000)),
    };
  }
  return occurrence;
}
