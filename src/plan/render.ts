/**
 * Renderings of a plan: kubectl-style unified YAML diffs for terminals and logs, Markdown for job
 * summaries (and `fenced`, the one way Markdown here fences text that came from elsewhere). JSON is
 * the plan value itself.
 */
import { styleText } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { releasedFromInventory, type Action, type Plan, type PlanEntry } from './types.js';

const SYMBOL: Record<Action, string> = {
  create: '+',
  update: '~',
  drift: '!',
  conflict: '✗',
  unchanged: '=',
  prune: '-',
};

type Style = Parameters<typeof styleText>[0];
const STYLE: Record<Action, Style> = {
  create: 'green',
  update: 'yellow',
  drift: 'magenta',
  conflict: 'red',
  unchanged: 'gray',
  prune: 'red',
};

export interface TextOptions {
  color?: boolean;
  /** List unchanged objects one by one instead of counting them. */
  verbose?: boolean;
  /** Include unified diffs of each changed object. */
  diffs?: boolean;
}

/** Colours text; the caller has already decided colour is wanted (TTY, NO_COLOR), so no stream check. */
function paintWith(color: boolean, style: Style, text: string): string {
  return color ? styleText(style, text, { validateStream: false }) : text;
}

/**
 * A fenced block that no backtick run inside the text can close early: manifests and messages are
 * user text, and a fence they close would let them write Markdown into the summary.
 */
export function fenced(text: string, lang = 'text'): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}\n`;
}

function yamlOf(obj: unknown): string {
  return obj === undefined ? '' : stringify(obj, { sortMapEntries: true, lineWidth: 0 });
}

/** What the before side of a diff is: the live object, or offline what nopea last applied. */
const BEFORE_LABEL: Record<Plan['mode'], string> = { cluster: 'live', offline: 'last applied' };

/** Unified diff of one entry's before/after documents (empty for unchanged entries). */
export function unifiedDiff(entry: PlanEntry, mode: Plan['mode']): string {
  if (!entry.before && !entry.after) return '';
  const label = entry.id;
  const beforeName = entry.action === 'create' ? '/dev/null' : `${label} (${BEFORE_LABEL[mode]})`;
  const afterName = entry.action === 'prune' ? '/dev/null' : `${label} (after sync)`;
  const patch = createTwoFilesPatch(
    beforeName,
    afterName,
    yamlOf(entry.before),
    yamlOf(entry.after),
    undefined,
    undefined,
    {
      context: 3,
    },
  );
  // Drop the `Index:`/`===` preamble jsdiff adds; keep what `diff -u` prints.
  return patch.replace(/^(Index:.*\n)?=+\n/, '');
}

function colorDiff(text: string, color: boolean): string {
  if (!color) return text;
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return paintWith(true, 'bold', line);
      if (line.startsWith('+')) return paintWith(true, 'green', line);
      if (line.startsWith('-')) return paintWith(true, 'red', line);
      if (line.startsWith('@@')) return paintWith(true, 'cyan', line);
      return line;
    })
    .join('\n');
}

function where(entry: PlanEntry): string {
  return entry.origin ? `${entry.origin.file}:${entry.origin.line}` : '';
}

function driftNote(entry: PlanEntry): string {
  if (!entry.drift?.length) return '';
  const parts = entry.drift.map(
    (d) => `${d.path} (${d.managers.length ? d.managers.join(', ') : 'removed'})`,
  );
  return `changed outside nopea: ${parts.join('; ')}`;
}

/** One line per count, e.g. `2 to create, 1 to update, 0 drifted, 0 conflicts, 0 to prune, 28 unchanged`. */
export function summaryLine(plan: Plan): string {
  const c = plan.counts;
  // Prune entries a sync keeps (opted out, or pruning off) are listed but are not deletions.
  const kept = plan.entries.filter(
    (e) => releasedFromInventory(e) || (e.action === 'prune' && e.pruneOff),
  ).length;
  const prune = `${c.prune - kept} to prune${kept ? ` (${kept} kept)` : ''}`;
  return `${c.create} to create, ${c.update} to update, ${c.drift} drifted, ${c.conflict} in conflict, ${prune}, ${c.unchanged} unchanged`;
}

/** The plan for a terminal or CI log. */
export function renderText(plan: Plan, opts: TextOptions = {}): string {
  const color = opts.color ?? false;
  const paint = (style: Style, s: string): string => paintWith(color, style, s);
  const lines: string[] = [];
  const against = plan.mode === 'offline' ? 'state branch only (offline)' : 'live cluster';
  const state = plan.stateCommit ? `, state ${plan.stateCommit.slice(0, 12)}` : ', no earlier deploy';
  lines.push(paint('bold', `Plan for ${plan.service} against the ${against}${state}:`));
  const shown = plan.entries.filter((e) => opts.verbose || e.action !== 'unchanged');
  const width = Math.max(0, ...shown.map((e) => e.id.length));
  for (const e of shown) {
    const head = paint(STYLE[e.action], `  ${SYMBOL[e.action]} ${e.action.padEnd(9)}`);
    const extra = [where(e), e.note ?? '', driftNote(e)].filter(Boolean).join('  ');
    lines.push(`${head} ${e.id.padEnd(width)}  ${extra}`.trimEnd());
  }
  if (!opts.verbose && plan.counts.unchanged > 0) {
    lines.push(paint('gray', `  = ${plan.counts.unchanged} unchanged object(s) not listed`));
  }
  if (opts.diffs ?? true) {
    for (const e of plan.entries) {
      const d = unifiedDiff(e, plan.mode);
      if (d) lines.push('', colorDiff(d.trimEnd(), color));
    }
  }
  lines.push('', paint('bold', `Plan: ${summaryLine(plan)}.`));
  return `${lines.join('\n')}\n`;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export interface MarkdownOptions {
  /** Upper bound in bytes; diffs are dropped from the end with an explicit note when it is exceeded. */
  maxBytes?: number;
}

/** The plan as Markdown: a table of objects, each diff folded under `<details>`. */
export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const head: string[] = [];
  head.push(`### nopea plan: \`${plan.service}\``, '');
  head.push(
    `${summaryLine(plan)}${plan.mode === 'offline' ? ' (offline: compared with the state branch only)' : ''}.`,
    '',
  );
  const listed = plan.entries.filter((e) => e.action !== 'unchanged');
  if (listed.length > 0) {
    head.push('| Object | Change | Origin | Note |', '| --- | --- | --- | --- |');
    for (const e of listed) {
      const note = [e.note ?? '', driftNote(e)].filter(Boolean).join('; ');
      head.push(`| \`${e.id}\` | ${e.action} | ${escapeCell(where(e))} | ${escapeCell(note)} |`);
    }
    head.push('');
  }
  let out = head.join('\n');
  const truncatedNote = (n: number): string =>
    `\n> **Truncated:** ${n} diff(s) left out to stay within the ${Math.floor(max / 1024)} KiB summary limit; run \`nopea diff\` for all of them.\n`;
  const diffs = listed.map((e) => {
    const d = unifiedDiff(e, plan.mode);
    return d
      ? `<details><summary><code>${e.id}</code> (${e.action})</summary>\n\n${fenced(d.trimEnd(), 'diff')}\n</details>\n`
      : '';
  });
  for (let i = 0; i < diffs.length; i++) {
    const piece = diffs[i]!;
    if (!piece) continue;
    const reserve = Buffer.byteLength(truncatedNote(diffs.length));
    if (Buffer.byteLength(out) + Buffer.byteLength(piece) + reserve > max) {
      out += truncatedNote(diffs.slice(i).filter(Boolean).length);
      return out;
    }
    out += `\n${piece}`;
  }
  return out;
}
