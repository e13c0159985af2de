/**
 * The short texts an MCP client shows beside structured results: one line for the answer (status,
 * exit code, deploy ids, counts), the problems of a failure as `file:line: message` with their hints,
 * and one line per progress event. The meaning of a status comes from `meaningOf`; this only words it.
 */
import { formatProblem, type Problem } from '../errors.js';
import type { Answer } from '../surface/api.js';
import { meaningOf } from '../surface/outcome.js';
import type { SyncEvent } from '../surface/sync-types.js';
import type { RolloutProgress } from '../progressive/monitor.js';
import { rolloutPosition } from '../progressive/rollout.js';

/** Most problems a text lists; structuredContent has them all. */
const PROBLEMS_SHOWN = 10;

type Json = Record<string, unknown>;

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isJson) : [];
}

/** `2 create, 1 update` from a counts object, leaving out zeros (`nothing to do` when all are). */
function counts(value: unknown): string {
  const parts = Object.entries(isJson(value) ? value : {})
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([k, n]) => `${String(n)} ${k}`);
  return parts.length ? parts.join(', ') : 'nothing to do';
}

function rolloutText(rollout: unknown): string {
  return isJson(rollout) ? `; rollout ${rolloutPosition(rollout)}` : '';
}

/** One service's sync: outcome, deploy id, what happened to its objects, where it was recorded. */
function syncLine(s: Json): string {
  const done: Record<string, number> = {};
  for (const o of list(s.objects)) done[String(o.action)] = (done[String(o.action)] ?? 0) + 1;
  const plan = isJson(s.plan) ? s.plan.counts : undefined;
  const applied = list(s.objects).length > 0 || s.stateCommit !== undefined;
  const what =
    s.outcome === 'dry-run' || s.inSync
      ? `plan: ${counts(plan)}`
      : applied
        ? `objects: ${counts(done)}`
        : 'nothing applied, not recorded';
  const recorded = typeof s.stateCommit === 'string' ? `; recorded in ${s.stateCommit.slice(0, 12)}` : '';
  return `${String(s.service)}: ${String(s.outcome)}${s.inSync ? ' (in sync)' : ''}, deploy ${String(s.deployId)}; ${what}${rolloutText(s.rollout)}${recorded}`;
}

/** What each operation's result says in a line, by operation. */
const RESULT_LINES: Record<string, (r: Json) => string[]> = {
  sync: (r) => list(r.services).map(syncLine),
  diff: (r) => list(r.plans).map((p) => `${String(p.service)}: ${counts(p.counts)}`),
  promote: (r) => [moveLine(r)],
  rollback: (r) => [moveLine(r)],
  status: (r) => {
    const current = isJson(r.current) ? r.current : {};
    return [`${String(r.service)}: current deploy ${String(current.deployId)} ${String(current.status)}`];
  },
  history: (r) => {
    const [last] = list(r.deploys);
    const newest = last ? `; newest ${String(last.deployId)} ${String(last.outcome)}` : '';
    return [`${String(r.service)}: ${String(list(r.deploys).length)} deploys${newest}`];
  },
  services: (r) => [
    `${String(list(r.services).length)} services: ${list(r.services)
      .map((s) => `${String(s.service)} (${String(s.status ?? s.lastOutcome ?? 'no deploy')})`)
      .join(', ')}`,
  ],
  explain: (r) => [`${String(r.service)}: auto would choose ${String(r.strategy)}`],
};

function moveLine(r: Json): string {
  return `${String(r.action)} ${String(r.service)} deploy ${String(r.deployId)}: ${String(r.outcome)}${rolloutText(r.rollout)}`;
}

/** The problems of a failure, one per line, as compilers print them (`file:line: message`). */
export function problemLines(problems: readonly Problem[]): string[] {
  const lines = problems.slice(0, PROBLEMS_SHOWN).map(formatProblem);
  const more = problems.length - PROBLEMS_SHOWN;
  if (more > 0) lines.push(`and ${String(more)} more problems (structuredContent lists them all)`);
  return lines;
}

/** The problems inside a result (a sync's services, a move's error), for a failed answer's text. */
function resultProblems(result: Json): Problem[] {
  const errors = [result, ...list(result.services)].map((r) => r.error).filter(isJson);
  return errors.flatMap((e) => list(e.problems) as unknown as Problem[]);
}

/** The text of an answer: a line with the status and its exit code, the result's lines, the problems. */
export function answerText(tool: string, operation: string, answer: Answer): string {
  const { exitCode } = meaningOf(answer.status);
  const head = `${tool}: ${answer.status} (exit ${String(exitCode)})`;
  if (answer.error) {
    return [`${head}, ${answer.error.kind} error:`, ...problemLines(answer.error.problems)].join('\n');
  }
  const result = isJson(answer.result) ? answer.result : {};
  const lines = RESULT_LINES[operation]?.(result) ?? [];
  return [head, ...lines, ...problemLines(resultProblems(result))].join('\n');
}

/** One line for the progress of a rollout (a sync's monitor, a promote's or rollback's). */
export function rolloutProgressText(service: string, p: RolloutProgress): string {
  const where = rolloutPosition(p.view);
  return `${service}: rollout ${where}, ready ${String(p.readyStable)} stable / ${String(p.readyCanary)} new`;
}

/** One line for a progress notification. */
export function eventText(event: SyncEvent): string {
  switch (event.type) {
    case 'plan':
      return `${event.service}: plan ${counts(event.plan.counts)}`;
    case 'strategy':
      return `${event.service}: strategy ${event.choice.name} (${event.choice.reason})`;
    case 'lock-wait':
      return `${event.service}: waiting for the lock held by ${event.holder} (expires in ${String(event.expiresInSeconds)}s)`;
    case 'stage':
      return `${event.service}: ${event.stage}`;
    case 'object':
      return `${event.service}: ${event.result.id} ${event.result.action}`;
    case 'health':
      return `${event.service}: ${String(event.snapshot.ready)}/${String(event.snapshot.total)} ready`;
    case 'rollout':
      return rolloutProgressText(event.service, event.progress);
  }
}
