/**
 * Field ownership from `metadata.managedFields` (fieldsV1 sets): which fields of nopea's last intent
 * it still owns in the live object, and who owns the others. Server-side apply moves ownership to
 * whoever changes a field's value, so a field nopea applied but no longer owns has drifted.
 */
import { isPlainObject, type KubeObject } from '../resources/object.js';
import { getAt, type Path } from './paths.js';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

type FieldSet = Record<string, unknown>;

function entries(live: KubeObject): ManagedFieldsEntry[] {
  const mf = live.metadata.managedFields;
  return Array.isArray(mf) ? (mf as ManagedFieldsEntry[]) : [];
}

/**
 * Field sets by manager. nopea applies the main resource only, so its ownership is read from main
 * resource entries; whoever else owns a field may have written it through a subresource (`kubectl
 * scale` and autoscalers own `spec.replicas` through `scale`), so naming owners includes those.
 */
function fieldSetsByManager(live: KubeObject, subresources = false): Map<string, FieldSet[]> {
  const out = new Map<string, FieldSet[]>();
  for (const e of entries(live)) {
    if ((e.subresource && !subresources) || !e.manager || !isPlainObject(e.fieldsV1)) continue;
    const list = out.get(e.manager) ?? [];
    list.push(e.fieldsV1);
    out.set(e.manager, list);
  }
  return out;
}

/** Server-side defaults of associative-list key fields the intent may leave out. */
const KEY_DEFAULTS: Record<string, unknown> = { protocol: 'TCP' };

/** How an associative key matches an item: exactly, with defaulted key fields the item omits, or not. */
function keyMatch(keyJson: string, item: unknown): 'exact' | 'defaulted' | undefined {
  if (!isPlainObject(item)) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(keyJson);
  } catch {
    return undefined;
  }
  if (!isPlainObject(key)) return undefined;
  let defaulted = false;
  for (const [k, v] of Object.entries(key)) {
    if (item[k] === undefined) {
      // The intent left a key field to its default (e.g. a port's protocol): the server keyed it by that default.
      if (k in KEY_DEFAULTS && JSON.stringify(KEY_DEFAULTS[k]) !== JSON.stringify(v)) return undefined;
      defaulted = true;
    } else if (JSON.stringify(item[k]) !== JSON.stringify(v)) {
      return undefined;
    }
  }
  return defaulted ? 'defaulted' : 'exact';
}

/** The child set for a list item: by associative key (`k:`), by value (`v:`) or by index (`i:`). */
function listChild(set: FieldSet, item: unknown, index: number): FieldSet | undefined {
  let fallback: FieldSet | undefined;
  for (const [k, child] of Object.entries(set)) {
    if (!isPlainObject(child)) continue;
    if (k.startsWith('k:')) {
      const m = keyMatch(k.slice(2), item);
      if (m === 'exact') return child;
      if (m === 'defaulted') fallback ??= child;
    }
    if (k.startsWith('v:') && k.slice(2) === JSON.stringify(item)) return child;
    if (k === `i:${index}`) return child;
  }
  return fallback;
}

/**
 * Whether `set` covers `path`: the path itself is in the set, or an ancestor is a leaf (an atomic
 * map or list owned as a whole). List items are matched using the item in `value` at that path.
 */
function covers(set: FieldSet, value: unknown, path: Path): boolean {
  let node: FieldSet = set;
  for (let i = 0; i < path.length; i++) {
    if (Object.keys(node).length === 0 && i > 0) return true;
    const seg = path[i]!;
    const next =
      typeof seg === 'number' ? listChild(node, getAt(value, path.slice(0, i + 1)), seg) : node[`f:${seg}`];
    if (!isPlainObject(next)) return false;
    node = next;
  }
  return true;
}

/** Paths the apiserver never lists in managedFields. */
function untracked(path: Path): boolean {
  if (path.length === 1) return path[0] === 'apiVersion' || path[0] === 'kind';
  return path.length === 2 && path[0] === 'metadata' && (path[1] === 'name' || path[1] === 'namespace');
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    (Array.isArray(value) && value.length === 0) ||
    (isPlainObject(value) && Object.keys(value).length === 0)
  );
}

/**
 * Top-most paths of `intent` that `manager` does not own in `live`: fields someone else changed
 * (and so took over) or removed since nopea applied them. A map or list is reported whole when none
 * of its fields is owned.
 */
export function unownedPaths(intent: KubeObject, live: KubeObject, manager: string): Path[] {
  const sets = fieldSetsByManager(live).get(manager) ?? [];
  const owned = (path: Path): boolean => sets.some((s) => covers(s, intent, path));
  // Returns the unowned paths under `path` and whether every leaf there is unowned.
  const walk = (value: unknown, path: Path): { paths: Path[]; all: boolean; leaves: number } => {
    // Identity fields are never unowned, so a map holding them (metadata) is never unowned whole.
    if (path.length > 0 && untracked(path)) return { paths: [], all: false, leaves: 1 };
    const children = isPlainObject(value)
      ? Object.entries(value).map(([k, v]) => walk(v, [...path, k]))
      : Array.isArray(value)
        ? value.map((v, i) => walk(v, [...path, i]))
        : undefined;
    if (!children) {
      if (isEmpty(value)) return { paths: [], all: false, leaves: 0 };
      return owned(path) ? { paths: [], all: false, leaves: 1 } : { paths: [path], all: true, leaves: 1 };
    }
    const counted = children.filter((c) => c.leaves > 0);
    const leaves = counted.reduce((n, c) => n + c.leaves, 0);
    if (leaves > 0 && counted.every((c) => c.all) && path.length > 0 && !owned(path)) {
      return { paths: [path], all: true, leaves };
    }
    return { paths: children.flatMap((c) => c.paths), all: false, leaves };
  };
  return walk(intent, []).paths;
}

/** Managers other than `except` owning `path`, through any subresource (list items resolved against `value`). */
export function ownersOf(live: KubeObject, value: unknown, path: Path, except?: string): string[] {
  const owners: string[] = [];
  for (const [manager, sets] of fieldSetsByManager(live, true)) {
    if (manager === except) continue;
    if (sets.some((s) => covers(s, value, path))) owners.push(manager);
  }
  return owners.sort();
}
