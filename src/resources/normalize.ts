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
  const out: KubeObject = structuredClone(obj);
  for (const f of SERVER_FIELDS) delete out[f];
  const meta = out.metadata;
  if (isPlainObject(meta)) {
    for (const f of SERVER_METADATA) delete meta[f];
    if (isPlainObject(meta.annotations)) {
      for (const a of annotations) delete meta.annotations[a];
      if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
    }
    if (isPlainObject(meta.labels) && Object.keys(meta.labels).length === 0) delete meta.labels;
  }
  return out;
}

/** The object as it should be sent with server-side apply: server-owned fields removed. */
export function intentOf(obj: KubeObject): KubeObject {
  return strip(obj, []);
}

/** The object as compared between dry-run and live: server-owned fields and side-effect annotations removed. */
export function normalizeForCompare(obj: KubeObject): KubeObject {
  return strip(obj, SERVER_ANNOTATIONS);
}
