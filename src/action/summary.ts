/**
 * The job summary: per service the outcome, deploy id and health, then the plan as a table with each
 * object's diff folded under `<details>` (`renderMarkdown`). GitHub refuses a step summary over 1 MiB,
 * so the whole text is kept under a byte budget: plans share what the rest leaves, drop diffs with an
 * explicit note, and anything still too long is cut with a "truncated" note. Secret values are masked
 * in plans already. Pure.
 */
import { formatDuration } from '../duration.js';
import { formatProblem, type NopeaError } from '../errors.js';
import { fenced, renderMarkdown, summaryLine } from '../plan/render.js';
import type { Plan } from '../plan/types.js';
import type { ServiceSyncResult } from '../surface/sync-types.js';
import type { ChosenBy } from '../strategy/names.js';
import type { RolloutState } from '../strategy/types.js';
import type { RolloutResult } from '../surface/rollout.js';
import type { ActionCommand } from './inputs.js';
import { serviceStatus, type Status } from '../surface/outcome.js';
import { deployed, serviceCounts } from './outputs.js';
import { rolloutPosition } from '../progressive/rollout.js';

/** GitHub's limit for one step's summary. */
export const SUMMARY_LIMIT = 1024 * 1024;
/** What nopea writes at most: the limit less a margin for anything the runner or a later write adds. */
export const SUMMARY_BUDGET = SUMMARY_LIMIT - 24 * 1024;

export interface SummaryInput {
  command: ActionCommand;
  status: Status;
  /** Plans of a diff. */
  plans?: Plan[];
  /** Results of a sync. */
  services?: ServiceSyncResult[];
  /** A failure of the run as a whole (no service results). */
  error?: NopeaError;
  /** Whether the sync waited for health (`wait` input). */
  wait?: boolean;
  /** The result of a promote or rollback. */
  move?: RolloutResult;
  /** The workflow file a `gh workflow run` line names (from GITHUB_WORKFLOW_REF). */
  workflow?: string;
  maxBytes?: number;
}

/**
 * How to go on with a rollout that waits at a gate, for a person reading the summary: the
 * `workflow_dispatch` inputs, and the same as a `gh workflow run` line.
 */
function nextStepsMarkdown(
  service: string,
  deployId: string,
  rollout: RolloutState | undefined,
  workflow = '<workflow file>',
): string {
  const at = rollout
    ? `\`${rollout.namespace}/${rollout.name}\` waits (${rolloutPosition(rollout)} on the new version)`
    : 'The rollout waits';
  return [
    `**Rollout:** ${at} for a promote.`,
    '',
    `Promote (one gate) or roll back from the **Run workflow** button with \`command: promote\` (or \`rollback\`) and \`deploy-id: ${deployId}\`, or:`,
    '',
    fenced(
      [
        `gh workflow run ${workflow} -f command=promote -f service=${service} -f deploy-id=${deployId}`,
        `gh workflow run ${workflow} -f command=rollback -f service=${service} -f deploy-id=${deployId}`,
      ].join('\n'),
      'sh',
    ),
    '',
  ].join('\n');
}

const bytes = (s: string): number => Buffer.byteLength(s);

/**
 * The fence left open at the end of Markdown, if any. A fence closes only with a line of at least as
 * many backticks and nothing else, so a shorter run inside a `fenced` block does not count.
 */
function openFence(text: string): string | undefined {
  let open: string | undefined;
  for (const m of text.matchAll(/^(`{3,})(.*)$/gm)) {
    const [, run = '', rest = ''] = m;
    if (open === undefined) open = run;
    else if (run.length >= open.length && rest.trim() === '') open = undefined;
  }
  return open;
}

function truncationNote(max: number): string {
  return `\n\n> **Truncated:** this summary was cut to stay within the ${Math.floor(max / 1024)} KiB step summary limit; run \`nopea diff\` for the whole plan.\n`;
}

/**
 * Cuts Markdown to at most `max` bytes at a line end, closes a code fence or `<details>` left open, and
 * says so. Text within the budget is returned as it is.
 */
export function clampMarkdown(text: string, max: number): string {
  if (bytes(text) <= max) return text;
  const note = truncationNote(max);
  const room = Math.max(0, max - bytes(note) - 64);
  // Cut on a byte boundary, drop a split character, then back up to the last full line.
  let cut = Buffer.from(text)
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  const nl = cut.lastIndexOf('\n');
  if (nl > 0) cut = cut.slice(0, nl);
  let closing = '';
  const fence = openFence(cut);
  if (fence) closing += `\n${fence}`;
  const opened = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  for (let i = 0; i < opened; i++) closing += '\n</details>';
  return `${cut}${closing}${note}`;
}

const HEADLINE: Record<Status, string> = {
  succeeded: 'succeeded',
  'dry-run': 'dry run (nothing written)',
  planned: 'planned',
  invalid: 'invalid input (nothing changed)',
  refused: 'refused (nothing changed)',
  failed: 'failed',
  'rolled-back': 'rolled back',
  cancelled: 'cancelled',
  paused: 'waiting at a gate for a promote',
};

const STRATEGY_CHOSEN_BY: Record<ChosenBy, string> = {
  flag: 'the `strategy` input',
  config: '`nopea.yaml`',
  memory: 'memory',
  default: 'default',
};

function healthText(s: ServiceSyncResult, wait: boolean): string {
  const h = s.health;
  if (!h) {
    if (s.outcome === 'dry-run') return 'not checked (dry run)';
    if (s.outcome === 'succeeded' && !wait) return 'not checked (`wait: false`)';
    return 'not checked (the sync stopped before the wait)';
  }
  const ready = h.objects.filter((o) => o.state === 'ready').length;
  const counts = `${ready}/${h.objects.length} ready after ${formatDuration(h.durationMs)}`;
  if (h.ok) return `healthy: ${counts}`;
  if (h.aborted) return `not finished (cancelled): ${counts}`;
  if (h.timedOut) return `not healthy within the timeout: ${counts}`;
  return `unhealthy: ${counts}`;
}

function serviceHead(s: ServiceSyncResult, wait: boolean, workflow: string | undefined): string {
  const status = serviceStatus(s);
  const lines = [`### \`${s.service}\`: ${HEADLINE[status]}`, ''];
  const recorded = s.stateCommit ? `, recorded on the state branch in \`${s.stateCommit.slice(0, 12)}\`` : '';
  if (deployed(s)) lines.push(`- **Deploy id:** \`${s.deployId}\`${recorded}`);
  else if (s.outcome !== 'dry-run') lines.push('- **Deploy:** none (stopped before the first write)');
  if (s.namespace) lines.push(`- **Namespace:** \`${s.namespace}\``);
  if (s.strategy) {
    const who = STRATEGY_CHOSEN_BY[s.strategy.by];
    lines.push(`- **Strategy:** \`${s.strategy.name}\`, chosen by ${who}: ${s.strategy.reason}`);
  }
  for (const w of s.warnings ?? []) lines.push(`- **Warning:** ${w}`);
  lines.push(`- **Health:** ${healthText(s, wait)}`);
  const c = serviceCounts(s);
  const verb = s.outcome === 'dry-run' ? 'Would change' : 'Changed';
  lines.push(`- **${verb}:** ${c.created} created, ${c.updated} updated, ${c.pruned} pruned`);
  if (s.kept.length > 0) {
    lines.push(`- **Kept from prune:** ${s.kept.map((k) => `\`${k.id}\` (${k.reason})`).join(', ')}`);
  }
  lines.push(`- **Duration:** ${formatDuration(s.durationMs)}`, '');
  if (s.outcome === 'paused') lines.push(nextStepsMarkdown(s.service, s.deployId, s.rollout, workflow));
  if (s.error) lines.push('**Problems:**', '', fenced(s.error.problems.map(formatProblem).join('\n')));
  return `${lines.join('\n')}\n`;
}

/** Plans share the bytes left after the fixed parts, in order; a short plan leaves more for the next. */
function withPlans(parts: { head: string; plan?: Plan }[], budget: number): string {
  const fixed = parts.reduce((n, p) => n + bytes(p.head), 0);
  let left = budget - fixed;
  let out = '';
  parts.forEach((part, i) => {
    out += part.head;
    if (!part.plan) return;
    const plansLeft = parts.slice(i).filter((p) => p.plan).length;
    const share = Math.max(0, Math.floor(left / plansLeft));
    const md = clampMarkdown(renderMarkdown(part.plan, { maxBytes: share }), share);
    left -= bytes(md);
    out += `${md}\n`;
  });
  return out;
}

/** The whole summary, within `maxBytes` (default: SUMMARY_BUDGET). */
export function renderSummary(input: SummaryInput): string {
  const max = input.maxBytes ?? SUMMARY_BUDGET;
  const title = `## nopea ${input.command}: ${HEADLINE[input.status]}\n\n`;
  if (input.error) {
    const body = `${title}${fenced(input.error.problems.map(formatProblem).join('\n'))}`;
    return clampMarkdown(body, max);
  }
  const parts: { head: string; plan?: Plan }[] = [{ head: title }];
  if (input.move) {
    const m = input.move;
    const lines = [`- **Service:** \`${m.service}\`, deploy \`${m.deployId}\``];
    if (m.monitoredBy === 'the deploy run')
      lines.push('- The run that deployed it still monitors the rollout and records its outcome.');
    if (m.stateCommit) lines.push(`- **Recorded** in \`${m.stateCommit.slice(0, 12)}\``);
    let head = `${lines.join('\n')}\n\n`;
    if (m.outcome === 'paused') head += nextStepsMarkdown(m.service, m.deployId, m.rollout, input.workflow);
    if (m.error) head += `**Problems:**\n\n${fenced(m.error.problems.map(formatProblem).join('\n'))}\n`;
    parts.push({ head });
    return clampMarkdown(withPlans(parts, max), max);
  }
  if (input.services) {
    if (input.services.length === 0) parts.push({ head: 'No service was synced.\n' });
    for (const s of input.services) {
      const part: { head: string; plan?: Plan } = {
        head: serviceHead(s, input.wait ?? true, input.workflow),
      };
      if (s.plan) part.plan = s.plan;
      parts.push(part);
    }
  } else {
    const plans = input.plans ?? [];
    if (plans.length > 1) {
      parts.push({ head: `${plans.map((p) => `- \`${p.service}\`: ${summaryLine(p)}`).join('\n')}\n\n` });
    }
    for (const p of plans) parts.push({ head: '', plan: p });
  }
  // The fixed parts themselves can exceed the budget (thousands of problems): the clamp still holds.
  return clampMarkdown(withPlans(parts, max), max);
}
