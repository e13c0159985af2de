/**
 * Secret values never leave memory: plans show them masked the way kubectl diff does, and the state
 * branch stores only salted HMACs (enough to tell "git changed this value"). The salt is random per
 * object, so equal values in two Secrets or two repositories do not match and no precomputed table
 * applies. Setting NOPEA_SECRET_HASH_KEY (a CI secret) adds a key the branch never sees, so even a
 * weak value cannot be guessed from the branch.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isPlainObject, type KubeObject, groupOf } from './object.js';

export const MASK = '***';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const VALUE_FIELDS = ['data', 'stringData'] as const;
const HASH_PREFIX = 'nopea-hmac:';

/** Whether an object is a core/v1 Secret. */
export function isSecret(obj: { apiVersion: string; kind: string } | undefined): boolean {
  return obj !== undefined && obj.kind === 'Secret' && groupOf(obj.apiVersion) === '';
}

function valuesOf(obj: KubeObject | undefined, field: string): Record<string, unknown> {
  const v = obj?.[field];
  return isPlainObject(v) ? v : {};
}

/**
 * Masks Secret values in a before/after pair: equal values become `***`, differing ones
 * `*** (before)` / `*** (after)`. kubectl's client-side last-applied annotation holds the values in
 * clear text, so it is masked too. Non-Secrets are returned unchanged.
 */
export function maskSecretPair(
  before: KubeObject | undefined,
  after: KubeObject | undefined,
): { before: KubeObject | undefined; after: KubeObject | undefined } {
  if (!isSecret(before ?? after)) return { before, after };
  const b = before && structuredClone(before);
  const a = after && structuredClone(after);
  for (const field of VALUE_FIELDS) {
    const bv = valuesOf(before, field);
    const av = valuesOf(after, field);
    for (const key of new Set([...Object.keys(bv), ...Object.keys(av)])) {
      const same = Object.hasOwn(bv, key) && Object.hasOwn(av, key) && bv[key] === av[key];
      if (b && Object.hasOwn(bv, key))
        (b[field] as Record<string, unknown>)[key] = same ? MASK : `${MASK} (before)`;
      if (a && Object.hasOwn(av, key))
        (a[field] as Record<string, unknown>)[key] = same ? MASK : `${MASK} (after)`;
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
    for (const v of Object.values(valuesOf(redacted, field))) {
      if (typeof v === 'string' && v.startsWith(HASH_PREFIX)) {
        return Buffer.from(v.slice(HASH_PREFIX.length).split(':')[0] ?? '', 'base64url');
      }
    }
  }
  return undefined;
}

/**
 * A Secret with every value replaced by a salted HMAC, for the state branch. Reuses the salt of
 * `previous` (an earlier redaction) when given, so unchanged values hash identically.
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
    const values = valuesOf(out, field);
    for (const k of Object.keys(values)) values[k] = hashValue(String(values[k]), salt, key);
  }
  const ann = out.metadata.annotations;
  if (ann && Object.hasOwn(ann, LAST_APPLIED)) ann[LAST_APPLIED] = MASK;
  return out;
}
