/**
 * What to strip from objects before sending or comparing them. The rules are data so tests (and
 * readers) can see them in one place.
 */
import { isPlainObject, type KubeObject } from './object.js';

/** Metadata fields the server owns; never part of an intent, never a difference worth showing. */
export const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/** Top-level fields the server owns. */
export const SERVER_FIELDS = ['status'] as const;

/** Annotations written by controllers as a side effect; equal in dry-run and live, hidden from diffs. */
export const SERVER_ANNOTATIONS = ['deployment.kubernetes.io/revision'] as const;

function strip(obj: KubeObject, annotations: readonly string[]): KubeObject {
  // The fields to drop are left out before the deep copy: a live object's managedFields are often
  // the larger part of it, and copying them only to delete them was most of a no-op plan's time.
  const top: Record<string, unknown> = { ...obj };
  for (const f of SERVER_FIELDS) delete top[f];
  if (isPlainObject(obj.metadata)) {
    const meta: Record<string, unknown> = { ...obj.metadata };
    for (const f of SERVER_METADATA) delete meta[f];
    if (isPlainObject(meta.annotations)) {
      const kept = { ...meta.annotations };
      for (const a of annotations) delete kept[a];
      if (Object.keys(kept).length === 0) delete meta.annotations;
      else meta.annotations = kept;
    }
    if (isPlainObject(meta.labels) && Object.keys(meta.labels).length === 0) delete meta.labels;
    top.metadata = meta;
  }
  return structuredClone(top) as KubeObject;
}

/** The object as it should be sent with server-side apply: server-owned fields removed. */
export function intentOf(obj: KubeObject): KubeObject {
  return strip(obj, []);
}

/** The object as compared between dry-run and live: server-owned fields and side-effect annotations removed. */
export function normalizeForCompare(obj: KubeObject): KubeObject {
  return strip(obj, SERVER_ANNOTATIONS);
}
