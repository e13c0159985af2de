/**
 * File/line annotations from a run: every problem of an error becomes an `error` on the manifest it is
 * about (from its origin, or from the plan entry of the object it names), every drifted object a
 * `warning` on its origin. Pure: the entry point hands them to `@actions/core`.
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

/** One `error` annotation per problem, on its manifest when it has one. */
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
