/**
 * Where every file lives on the state branch, and the file names that store resource ids.
 *
 * Paths in a StateChange use one convention: a path starting with `/` is relative to `.nopea/`
 * (`/graph.json`, `/occurrences/<deploy-id>.json`); any other path is relative to the service's
 * directory `.nopea/services/<service>/` (`current.json`, `deploys/<deploy-id>.json`). `statePaths`
 * builds them so callers never spell a layout path by hand.
 *
 * Every path component stays within `MAX_NAME_BYTES`, what ext4, XFS, APFS and NTFS accept, so the
 * branch can be checked out anywhere (`git clone -b nopea-state`): service names are at most 253
 * bytes, deploy ids 26, and id file names are bounded as follows.
 *
 * Id file names: each of the id's `/`-separated parts is percent-encoded (every UTF-8 byte outside
 * `A-Z a-z 0-9 . _ -` becomes `%XX`, upper-case hex) and the parts are joined with `~`. Because `~`
 * and `%` are themselves escaped inside a part, distinct ids always give distinct names:
 * `apps/Deployment/web/api` → `apps~Deployment~web~api`, `/Namespace//web` → `~Namespace~~web`,
 * `rbac.authorization.k8s.io/ClusterRole//system:auth` → `rbac.authorization.k8s.io~ClusterRole~~system%3Aauth`.
 * When that encoding with `.json` would exceed `MAX_NAME_BYTES` (a 253-character name in a long CRD
 * group), the name is the encoding's first bytes, `=`, and the SHA-256 of the id in hex: still
 * readable, and never equal to an encoding, which has no `=`. The file's own `id` field is the truth;
 * a reader checks that the name is the one nopea writes for that id (`idFileName`) rather than
 * decoding it. Older nopea wrote the plain encoding whatever its length; such a name still reads
 * (`isIdFileName`), and the next commit for the service moves the file to its bounded name.
 * The names contain no `/`, `\`, `:` or control characters, so they are safe on every file system,
 * and the `~` separators mean a name is never `.` or `..`.
 */
import { createHash } from 'node:crypto';
import { NopeaError } from '../errors.js';
import type { ResourceId } from '../resources/object.js';

/** The branch nopea keeps its state on unless told otherwise. */
export const DEFAULT_STATE_BRANCH = 'nopea-state';
/** Directory holding everything nopea keeps on the branch. */
export const STATE_ROOT = '.nopea';
/** Text file with the state format version. */
export const FORMAT_PATH = `${STATE_ROOT}/format`;
/** The memory graph. */
export const GRAPH_PATH = `${STATE_ROOT}/graph.json`;
/** Parent of every service directory. */
export const SERVICES_DIR = `${STATE_ROOT}/services`;
/** Occurrences, one per deploy, named by deploy id. */
export const OCCURRENCES_DIR = `${STATE_ROOT}/occurrences`;

/** Crockford base32 ULID, as produced by the `ulid` package; lexical order is time order. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Whether a string is a ULID (deploy ids are). */
export function isUlid(value: string): boolean {
  return ULID_PATTERN.test(value);
}

// Service names become one path segment; keep them to characters every file system and CI log accepts.
const SERVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Throws an input error unless `service` can name a directory on the branch. */
export function assertServiceName(service: string): void {
  if (!SERVICE_PATTERN.test(service) || service.includes('..')) {
    throw new NopeaError('input', {
      message: `invalid service name ${JSON.stringify(service)}`,
      hint: 'use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 253 characters)',
    });
  }
}

/** Throws an input error unless `id` is a deploy id (a ULID). */
export function assertDeployId(id: string): void {
  if (!isUlid(id)) {
    throw new NopeaError('input', {
      message: `invalid deploy id ${JSON.stringify(id)}`,
      hint: 'deploy ids are 26-character ULIDs such as 01J9Z8Q4W3M6N2P5R7T9V1X3Y5',
    });
  }
}

/** `.nopea/services/<service>`. */
export function serviceDir(service: string): string {
  return `${SERVICES_DIR}/${service}`;
}

/** Longest path component (in bytes) that every common file system accepts. */
export const MAX_NAME_BYTES = 255;

const SAFE_BYTE = /^[A-Za-z0-9._-]$/;
const JSON_SUFFIX = '.json';
// What the readable prefix of a hashed name leaves room for: `=`, 64 hex digits and `.json`.
const HASHED_PREFIX_BYTES = MAX_NAME_BYTES - 1 - 64 - JSON_SUFFIX.length;

function escapePart(part: string): string {
  let out = '';
  for (const byte of Buffer.from(part, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += SAFE_BYTE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The reversible encoding of a resource id, whatever its length; see the module comment. */
export function encodeIdFileName(id: ResourceId): string {
  return id.split('/').map(escapePart).join('~');
}

/** Whether a file name fits in one path component on every common file system. */
export function fitsFileName(name: string): boolean {
  return Buffer.byteLength(name, 'utf8') <= MAX_NAME_BYTES;
}

/**
 * The file name (without `.json`) that stores a resource id: its encoding when that fits, else a
 * readable prefix of the encoding and the id's hash (see the module comment).
 */
export function idFileName(id: ResourceId): string {
  const encoded = encodeIdFileName(id);
  if (fitsFileName(`${encoded}${JSON_SUFFIX}`)) return encoded;
  // The encoding is ASCII, so characters are bytes; an escape is not cut in half, for readability.
  const prefix = encoded.slice(0, HASHED_PREFIX_BYTES).replace(/%[0-9A-F]?$/, '');
  return `${prefix}=${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

/**
 * Whether a file name (without `.json`) found on the branch stores `id`: the name nopea writes for
 * it, or the over-long plain encoding that nopea wrote before names were bounded.
 */
export function isIdFileName(name: string, id: ResourceId): boolean {
  return name === idFileName(id) || name === encodeIdFileName(id);
}

/** Builders for StateChange paths, so callers never spell the layout by hand. */
export const statePaths = {
  /** The prune source: every object nopea applied for the service. */
  inventory: 'inventory.json',
  /** Latest deploy id and status of the service. */
  current: 'current.json',
  /** Directory of last-applied objects; pass it in `replaceDirs` to rewrite the whole set. */
  lastAppliedDir: 'last-applied',
  /** Last-applied file of one object. */
  lastApplied: (id: ResourceId): string => `last-applied/${idFileName(id)}${JSON_SUFFIX}`,
  /** One deploy record. */
  deploy: (deployId: string): string => `deploys/${deployId}.json`,
  /** The occurrence of one deploy (shared directory, hence the leading `/`). */
  occurrence: (deployId: string): string => `/occurrences/${deployId}.json`,
  /** The memory graph (shared, hence the leading `/`). */
  graph: '/graph.json',
} as const;

/** What a full path on the branch holds, for choosing the schema that validates it. */
export type StateFileKind =
  | { kind: 'format' }
  | { kind: 'graph' }
  | { kind: 'occurrence'; deployId: string }
  | { kind: 'inventory'; service: string }
  | { kind: 'current'; service: string }
  /** `name` is the file name without `.json`; the id it stores is the file's `id` field. */
  | { kind: 'last-applied'; service: string; name: string }
  | { kind: 'deploy'; service: string; deployId: string }
  | { kind: 'other' };

/** Classifies a full path (`.nopea/...`) by the file it is in the layout. */
export function classifyStatePath(path: string): StateFileKind {
  if (path === FORMAT_PATH) return { kind: 'format' };
  if (path === GRAPH_PATH) return { kind: 'graph' };
  const parts = path.split('/');
  if (parts[0] !== STATE_ROOT) return { kind: 'other' };
  if (parts.length === 3 && parts[1] === 'occurrences' && parts[2].endsWith('.json')) {
    return { kind: 'occurrence', deployId: parts[2].slice(0, -5) };
  }
  if (parts[1] !== 'services' || parts.length < 4) return { kind: 'other' };
  const service = parts[2];
  const rest = parts.slice(3);
  if (rest.length === 1 && rest[0] === 'inventory.json') return { kind: 'inventory', service };
  if (rest.length === 1 && rest[0] === 'current.json') return { kind: 'current', service };
  if (rest.length === 2 && rest[1].endsWith('.json')) {
    const stem = rest[1].slice(0, -5);
    if (rest[0] === 'last-applied') return { kind: 'last-applied', service, name: stem };
    if (rest[0] === 'deploys') return { kind: 'deploy', service, deployId: stem };
  }
  return { kind: 'other' };
}

/**
 * Resolves a StateChange path to its full path on the branch (`.nopea/...`), refusing anything that
 * could escape `.nopea/`, confuse git (empty, `.` or `..` segments, backslashes, control characters) or
 * overwrite the format file, which the store alone writes.
 */
export function resolveStatePath(service: string, path: string): string {
  const full = path.startsWith('/') ? `${STATE_ROOT}${path}` : `${serviceDir(service)}/${path}`;
  const trimmed = full.endsWith('/') ? full.slice(0, -1) : full;
  const segments = trimmed.split('/');
  // eslint-disable-next-line no-control-regex
  const bad = segments.some((s) => s === '' || s === '.' || s === '..' || /[\\\u0000-\u001f\u007f]/.test(s));
  if (bad || path === '' || path === '/') {
    throw new NopeaError('internal', `state path ${JSON.stringify(path)} is not a valid path under .nopea/`);
  }
  if (trimmed === FORMAT_PATH) {
    throw new NopeaError('internal', `${FORMAT_PATH} is written by the state store only`);
  }
  return trimmed;
}
