/**
 * JSON paths and structural diffs of plain JSON values: the field-level part of a plan.
 */
import { isDeepStrictEqual } from 'node:util';
import { isPlainObject } from '../resources/object.js';

/** Path of a field: map keys and list indexes. */
export type Path = (string | number)[];

/** One changed field; `before`/`after` are absent when the field is added/removed. */
export interface FieldChange {
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

/** `spec.template.spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Value at a path, undefined when any step is missing. */
export function getAt(value: unknown, path: Path): unknown {
  let cur = value;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[seg];
    } else {
      if (!isPlainObject(cur) || !Object.hasOwn(cur, seg)) return undefined;
      cur = cur[seg];
    }
  }
  return cur;
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

function isScalarList(v: unknown[]): boolean {
  return v.every((x) => x === null || typeof x !== 'object');
}

/** A changed field with its raw path (list indexes as numbers). */
export interface RawChange {
  path: Path;
  op: FieldChange['op'];
  before?: unknown;
  after?: unknown;
}

/**
 * Leaf-level differences from `before` to `after`. Lists of scalars (args, finalizers) are compared
 * whole, which reads better than index-by-index changes; lists of objects are compared by index.
 */
export function diffValues(
  before: unknown,
  after: unknown,
  path: Path = [],
  out: RawChange[] = [],
): RawChange[] {
  if (jsonEqual(before, after)) return out;
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of [...keys].sort()) diffValues(before[k], after[k], [...path, k], out);
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && !(isScalarList(before) && isScalarList(after))) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) diffValues(before[i], after[i], [...path, i], out);
    return out;
  }
  if (before === undefined) out.push({ path, op: 'add', after });
  else if (after === undefined) out.push({ path, op: 'remove', before });
  else out.push({ path, op: 'change', before, after });
  return out;
}

/** The printable form of a change. */
export function toFieldChange(c: RawChange): FieldChange {
  const out: FieldChange = { path: formatPath(c.path), op: c.op };
  if (c.before !== undefined) out.before = c.before;
  if (c.after !== undefined) out.after = c.after;
  return out;
}

/** Whether one path lies on the other (equal, ancestor or descendant). */
export function pathsOverlap(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
