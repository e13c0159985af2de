/**
 * Secret values never leave memory: plans show them masked the way kubectl diff does, and the state
 * branch stores only salted HMACs (enough to tell "git changed this value"). The salt is random per
 * object, so equal values in two Secrets or two repositories do not match and no precomputed table
 * applies. Setting NOPEA_SECRET_HASH_KEY (a CI secret) adds a key the branch never sees, so even a
 * weak value cannot be guessed from the branch.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { isPlainObject, type KubeObject, groupOf } from './object.js';

export const MASK = '***';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const VALUE_FIELDS = ['data', 'stringData'] as const;
const HASH_PREFIX = 'nopea-hmac:';

/**
 * Whether an object is a core/v1 Secret. Spellings the API server refuses (`kind: secret`,
 * `apiVersion: core/v1`) count too: an offline plan shows them before any server could refuse them.
 */
export function isSecret(obj: { apiVersion: string; kind: string } | undefined): boolean {
  if (obj === undefined || typeof obj.kind !== 'string' || obj.kind.toLowerCase() !== 'secret') return false;
  const group = typeof obj.apiVersion === 'string' ? groupOf(obj.apiVersion) : '';
  return group === '' || group === 'core';
}

/** Whether a `data`/`stringData` field holds a value (null and absent hold nothing to hide). */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** The mask of `values[key]`: `***` when `other` holds an equal value under the key, else `*** (side)`. */
function maskOf(values: Record<string, unknown>, key: string, other: unknown, side: string): string {
  const same =
    isPlainObject(other) && Object.hasOwn(other, key) && isDeepStrictEqual(values[key], other[key]);
  return same ? MASK : `${MASK} (${side})`;
}

/**
 * Masks Secret values in a before/after pair: equal values become `***`, differing ones
 * `*** (before)` / `*** (after)`. A `data`/`stringData` that is not a mapping (a string, a list: the
 * API server refuses it, a plan still shows it) is masked as one value. kubectl's client-side
 * last-applied annotation holds the values in clear text, so it is masked too. Non-Secrets are
 * returned unchanged.
 */
export function maskSecretPair(
  before: KubeObject | undefined,
  after: KubeObject | undefined,
): { before: KubeObject | undefined; after: KubeObject | undefined } {
  if (!isSecret(before ?? after)) return { before, after };
  const b = before && structuredClone(before);
  const a = after && structuredClone(after);
  const mappingOrNothing = (v: unknown): boolean => !present(v) || isPlainObject(v);
  for (const field of VALUE_FIELDS) {
    const bv = before?.[field];
    const av = after?.[field];
    if (mappingOrNothing(bv) && mappingOrNothing(av)) {
      if (b && isPlainObject(bv)) {
        const masked = b[field] as Record<string, unknown>;
        for (const key of Object.keys(bv)) masked[key] = maskOf(bv, key, av, 'before');
      }
      if (a && isPlainObject(av)) {
        const masked = a[field] as Record<string, unknown>;
        for (const key of Object.keys(av)) masked[key] = maskOf(av, key, bv, 'after');
      }
    } else {
      if (b && present(bv)) b[field] = maskOf(before!, field, after, 'before');
      if (a && present(av)) a[field] = maskOf(after!, field, before, 'after');
    }
  }
  for (const o of [b, a]) {
    const ann = o?.metadata.annotations;
    if (ann && Object.hasOwn(ann, LAST_APPLIED)) ann[LAST_APPLIED] = MASK;
  }
  return { before: b, after: a };
}

function hashValue(value: string, salt: Buffer, key: string): string {
  const digest = createHmac('sha256', Buffer.concat([salt, Buffer.from(key)]))
    .update(value)
    .digest();
  return `${HASH_PREFIX}${salt.toString('base64url')}:${digest.toString('base64url')}`;
}

/** The salt stored in a redacted Secret, so a new intent can be hashed comparably. */
function saltOf(redacted: KubeObject | undefined): Buffer | undefined {
  for (const field of VALUE_FIELDS) {
    const v = redacted?.[field];
    for (const value of isPlainObject(v) ? Object.values(v) : [v]) {
      if (typeof value === 'string' && value.startsWith(HASH_PREFIX)) {
        return Buffer.from(value.slice(HASH_PREFIX.length).split(':')[0] ?? '', 'base64url');
      }
    }
  }
  return undefined;
}

/** What is hashed of a value: a string as it is, anything else as JSON (so two lists differ). */
function hashInput(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A Secret with every value replaced by a salted HMAC, for the state branch; a `data`/`stringData`
 * that is not a mapping is hashed as one value. Reuses the salt of `previous` (an earlier
 * redaction) when given, so unchanged values hash identically.
 */
export function redactSecret(
  obj: KubeObject,
  previous?: KubeObject,
  key: string = process.env.NOPEA_SECRET_HASH_KEY ?? '',
): KubeObject {
  if (!isSecret(obj)) return obj;
  const salt = saltOf(previous) ?? randomBytes(16);
  const out = structuredClone(obj);
  for (const field of VALUE_FIELDS) {
    const v = out[field];
    if (isPlainObject(v)) {
      for (const k of Object.keys(v)) v[k] = hashValue(hashInput(v[k]), salt, key);
    } else if (present(v)) {
      out[field] = hashValue(hashInput(v), salt, key);
    }
  }
  const ann = out.metadata.annotations;
  if (ann && Object.hasOwn(ann, LAST_APPLIED)) ann[LAST_APPLIED] = MASK;
  return out;
}
