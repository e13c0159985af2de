/**
 * File/line annotations from a run: problems of an error become `error`s on the manifest they are
 * about (from the origin, or from the plan entry of the object named), drifted objects `warning`s on
 * their origin. Each list is capped (ANNOTATIONS_PER_LEVEL), the rest counted in a last annotation.
 * Pure: the entry point hands them to `@actions/core`.
 */
import type { ErrorKind, NopeaError, Origin, Problem } from '../errors.js';
import type { Plan, PlanEntry } from '../plan/types.js';

export interface Annotation {
  level: 'error' | 'warning';
  message: string;
  title: string;
  file?: string;
  line?: number;
}

/**
 * Most annotations of one level (error, warning) a list holds, the count of the rest included.
 * GitHub shows about 10 of each level per step and drops the others, so more only flood the log
 * (100,000 invalid documents would be 100,000 workflow commands).
 */
export const ANNOTATIONS_PER_LEVEL = 10;

/**
 * The annotations of each level up to ANNOTATIONS_PER_LEVEL, in order; over the cap the last place
 * goes to one that counts the rest ("and 99,991 more errors"), so the count is among those shown.
 */
export function capAnnotations(list: Annotation[], perLevel = ANNOTATIONS_PER_LEVEL): Annotation[] {
  const total = { error: 0, warning: 0 };
  for (const a of list) total[a.level]++;
  const room = (level: Annotation['level']): number =>
    total[level] > perLevel ? Math.max(0, perLevel - 1) : perLevel;
  const kept = { error: 0, warning: 0 };
  const out: Annotation[] = [];
  for (const a of list) {
    if (kept[a.level] >= room(a.level)) continue;
    out.push(a);
    kept[a.level]++;
  }
  for (const level of ['error', 'warning'] as const) {
    const rest = total[level] - kept[level];
    if (rest === 0) continue;
    const noun = level === 'error' ? 'errors' : 'warnings';
    out.push({
      level,
      title: list.find((a) => a.level === level)!.title,
      message: `and ${rest.toLocaleString('en-US')} more ${noun}, not annotated`,
    });
  }
  return out;
}

const TITLE: Record<ErrorKind, string> = {
  input: 'nopea: invalid input',
  guard: 'nopea: refused',
  cancelled: 'nopea: cancelled',
  cluster: 'nopea: cluster error',
  deploy: 'nopea: deploy failed',
  state: 'nopea: state branch error',
  internal: 'nopea: internal error',
};

function originsById(plans: Plan[]): Map<string, Origin> {
  const out = new Map<string, Origin>();
  for (const p of plans) for (const e of p.entries) if (e.origin) out.set(e.id, e.origin);
  return out;
}

function located(a: Annotation, origin: Origin | undefined): Annotation {
  if (origin) {
    a.file = origin.file;
    a.line = origin.line;
  }
  return a;
}

/** The problem's text without its location (the annotation carries that). */
function problemText(p: Problem): string {
  const what = p.object && !p.message.includes(p.object) ? ` [${p.object}]` : '';
  return `${p.message}${what}${p.hint ? `\nhint: ${p.hint}` : ''}`;
}

/** An `error` annotation per problem, on its manifest when it has one (cap the step's list once). */
export function errorAnnotations(err: NopeaError, plans: Plan[] = []): Annotation[] {
  const origins = originsById(plans);
  return err.problems.map((p) =>
    located(
      { level: 'error', title: TITLE[err.kind], message: problemText(p) },
      p.origin ?? (p.object ? origins.get(p.object) : undefined),
    ),
  );
}

function driftMessage(e: PlanEntry): string {
  const fields = (e.drift ?? []).map(
    (d) => `${d.path} (${d.managers.length ? `now owned by ${d.managers.join(', ')}` : 'removed'})`,
  );
  const list = fields.length ? `: ${fields.join('; ')}` : '';
  return e.action === 'conflict'
    ? `${e.id} was changed in the cluster and in git since nopea last applied it${list}`
    : `${e.id} was changed in the cluster outside nopea${list}; a sync sets it back to what git says`;
}

/** A `warning` on the origin of every object that drifted (or is in conflict) in the plans. */
export function driftAnnotations(plans: Plan[]): Annotation[] {
  const out: Annotation[] = [];
  for (const p of plans) {
    for (const e of p.entries) {
      if (e.action !== 'drift' && e.action !== 'conflict') continue;
      out.push(located({ level: 'warning', title: 'nopea: drift', message: driftMessage(e) }, e.origin));
    }
  }
  return out;
}
