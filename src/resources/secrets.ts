/**
 * Secret values never leave memory: plans show them masked the way kubectl diff does, and the state
 * branch stores only salted, key-stretched hashes (enough to tell "git changed this value").
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { isPlainObject, type KubeObject, groupOf } from './object.js';

export const MASK = '***';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const VALUE_FIELDS = ['data', 'stringData'] as const;
const HASH_PREFIX = 'nopea-scrypt:';

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

/** Masks a single Secret (for logs and summaries where no comparison is shown). */
export function maskSecret(obj: KubeObject): KubeObject {
  return maskSecretPair(obj, obj).after ?? obj;
}

function hashValue(value: string, salt: Buffer): string {
  // scrypt, not a plain digest: a leaked state branch must not make weak secrets cheap to guess.
  const digest = scryptSync(value, salt, 24, { N: 1 << 12, r: 8, p: 1 });
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
 * A Secret with every value replaced by a salted scrypt hash, for the state branch. Reuses the salt
 * of `previous` (an earlier redaction) when given, so unchanged values hash identically.
 */
export function redactSecret(obj: KubeObject, previous?: KubeObject): KubeObject {
  if (!isSecret(obj)) return obj;
  const salt = saltOf(previous) ?? randomBytes(16);
  const out = structuredClone(obj);
  for (const field of VALUE_FIELDS) {
    const values = valuesOf(out, field);
    for (const key of Object.keys(values)) values[key] = hashValue(String(values[key]), salt);
  }
  const ann = out.metadata.annotations;
  if (ann && Object.hasOwn(ann, LAST_APPLIED)) ann[LAST_APPLIED] = MASK;
  return out;
}
