/**
 * API keys. A request names its key as `Authorization: Bearer <key>` or `x-api-key: <key>`; the keys
 * come from `NOPEA_API_KEYS` (comma-separated: several at once, to rotate one without downtime) and,
 * optionally, `NOPEA_API_WRITE_KEYS`: when that is set, only its keys may change anything (a deploy
 * that is not a dry run, promote, rollback) and the keys of `NOPEA_API_KEYS` may only read. A key is
 * compared in constant time: the SHA-256 of the key sent with the SHA-256 of every configured key,
 * all of them, whichever matches.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** What a request may do: nothing (no or a wrong key), read, or read and write. */
export type Access = 'none' | 'read' | 'write';

export interface ApiKeys {
  /** SHA-256 of every key that may read. */
  read: Buffer[];
  /** SHA-256 of every key that may also write; empty: every read key may write. */
  write: Buffer[];
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The keys of a comma-separated list; blanks around and between them ignored. */
function keysOf(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
}

/** The configured keys, from the environment. */
export function apiKeysFrom(env: NodeJS.ProcessEnv): ApiKeys {
  const write = keysOf(env.NOPEA_API_WRITE_KEYS).map(digest);
  return { read: [...keysOf(env.NOPEA_API_KEYS).map(digest), ...write], write };
}

/** Whether any key is configured; without one the API runs open (loopback only). */
export function hasKeys(keys: ApiKeys): boolean {
  return keys.read.length > 0;
}

/** Whether `hash` equals one of `known`, comparing with every one of them in constant time. */
function matches(hash: Buffer, known: readonly Buffer[]): boolean {
  let found = false;
  for (const k of known) found = timingSafeEqual(hash, k) || found;
  return found;
}

/** The key a request sent, if any: the bearer token, else the `x-api-key` header. */
export function presentedKey(
  authorization: string | undefined,
  apiKey: string | undefined,
): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  if (bearer) return bearer[1];
  const key = apiKey?.trim();
  return key ? key : undefined;
}

/** What a request with this key (or none) may do. Without configured keys every request may write. */
export function accessOf(keys: ApiKeys, key: string | undefined): Access {
  if (!hasKeys(keys)) return 'write';
  if (key === undefined) return 'none';
  const hash = digest(key);
  if (!matches(hash, keys.read)) return 'none';
  return keys.write.length === 0 || matches(hash, keys.write) ? 'write' : 'read';
}

/** Whether a `--host` only listens on this machine (loopback addresses and `localhost`). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}
