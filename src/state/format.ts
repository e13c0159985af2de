/**
 * The state format: zod schemas for every file on the state branch (TypeScript types are inferred from
 * them), and the serialisation rules. Reading validates every file and names the branch, commit and path
 * of a corrupt one; writing validates too, so a bug never lands a malformed file on the branch.
 *
 * Secrets: the store does not know what a Secret is. Callers must pass objects whose Secret values are
 * already masked (or dropped); no Secret value, and no unsalted hash of one, may be written here.
 */
import { z } from 'zod';
import { ERROR_KINDS, NopeaError } from '../errors.js';
import type { KubeObject } from '../resources/object.js';
import { MemoryGraphSchema } from '../memory/schema.js';
import type { MemoryGraph } from '../memory/types.js';
import { STRATEGY_CHOOSERS, STRATEGY_NAMES } from '../strategy/names.js';
import { classifyStatePath, FORMAT_PATH, idFileName, ULID_PATTERN } from './layout.js';

/** The state format this nopea reads and writes; `.nopea/format` holds it. */
export const STATE_FORMAT = 1;

const isoTime = z.iso.datetime({ offset: true });
const ulid = z.string().regex(ULID_PATTERN, 'must be a ULID');
const resourceId = z
  .string()
  .refine((id) => id.split('/').length === 4, 'must be a resource id group/Kind/namespace/name');
const count = z.int().nonnegative();
const name = z.string().min(1);

/** Outcome of a finished deploy. */
/**
 * How a deploy ended: `paused` while its progressive rollout waits at a gate (the record is written
 * again, under the same id, when it ends), `superseded` when a newer deploy replaced its rollout.
 */
export const DEPLOY_OUTCOMES = [
  'succeeded',
  'failed',
  'cancelled',
  'rolled-back',
  'paused',
  'superseded',
] as const;
/** What happened to one object during a deploy (the change-set vocabulary). */
export const OBJECT_ACTIONS = ['created', 'configured', 'unchanged', 'pruned', 'failed', 'skipped'] as const;
/** Status of a service's latest deploy in current.json. */
export const SERVICE_STATUSES = [
  'progressing',
  'paused',
  'succeeded',
  'failed',
  'cancelled',
  'rolled-back',
] as const;

/** A failure as recorded on the branch: the NopeaError kind and its message. */
export const RecordedErrorSchema = z.object({
  kind: z.enum(ERROR_KINDS),
  message: z.string(),
  /** Machine reasons of what failed (`ImagePullBackOff`, `HealthTimeout`, ...): what memory learns from. */
  reasons: z.array(name).optional(),
});

// Loose: a last-applied object is stored whole, whatever fields its kind has.
const kubeObjectSchema = z.looseObject({
  apiVersion: name,
  kind: name,
  metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().optional() }),
});

/**
 * `inventory.json`: every object nopea applied for the service, sorted by id (the prune source). `uid`
 * is the object's `metadata.uid` when nopea applied it; inventories written before it was recorded
 * have none.
 */
export const InventorySchema = z.object({
  format: z.literal(STATE_FORMAT),
  service: name,
  namespace: z.string(),
  objects: z.array(z.object({ id: resourceId, apiVersion: name, uid: name.optional() })),
});

/** `last-applied/<file>.json`: one object as nopea last applied it (normalised intent, Secrets masked). */
export const LastAppliedSchema = z.object({
  format: z.literal(STATE_FORMAT),
  id: resourceId,
  apiVersion: name,
  /** Absent for objects nopea generated rather than read from a manifest. */
  origin: z.object({ file: z.string(), line: z.int().positive() }).optional(),
  deployId: ulid,
  appliedAt: isoTime,
  /**
   * For a Job: when a deploy saw this spec of it complete. A run-once Job that its
   * `ttlSecondsAfterFinished` removed since is then unchanged, not re-created, while git leaves it be.
   */
  completedAt: isoTime.optional(),
  object: kubeObjectSchema,
});

/** `current.json`: the service's latest deploy and, while one runs, the progressive rollout being monitored. */
export const CurrentSchema = z.object({
  format: z.literal(STATE_FORMAT),
  service: name,
  deployId: ulid,
  status: z.enum(SERVICE_STATUSES),
  updatedAt: isoTime,
  // Loose so progressive delivery can add fields without a format change.
  rollout: z
    .looseObject({
      strategy: z.enum(['canary', 'blue-green']),
      name,
      namespace: z.string(),
      phase: z.string().optional(),
      startedAt: isoTime.optional(),
    })
    .optional(),
});

/** `deploys/<deploy-id>.json`: one record per deploy. */
export const DeployRecordSchema = z.object({
  format: z.literal(STATE_FORMAT),
  id: ulid,
  service: name,
  namespace: z.string(),
  source: z.object({
    repo: z.string().optional(),
    commit: z.string().optional(),
    ref: z.string().optional(),
  }),
  startedAt: isoTime,
  finishedAt: isoTime,
  strategy: z.object({
    name: z.enum(STRATEGY_NAMES),
    reason: z.string(),
    /** Who chose it (absent in records written before it was recorded). */
    by: z.enum(STRATEGY_CHOOSERS).optional(),
  }),
  plan: z.object({
    create: count,
    update: count,
    drift: count,
    conflict: count,
    unchanged: count,
    prune: count,
  }),
  objects: z.array(z.object({ id: resourceId, action: z.enum(OBJECT_ACTIONS) })).optional(),
  stages: z.array(z.object({ name, ms: z.number().nonnegative() })),
  outcome: z.enum(DEPLOY_OUTCOMES),
  error: RecordedErrorSchema.optional(),
  actor: z.string().optional(),
  runUrl: z.string().optional(),
});

/** Kinds of occurrence: how a deploy run ended. */
export const OCCURRENCE_TYPES = [
  'deploy.run.completed',
  'deploy.run.failed',
  'deploy.run.cancelled',
  'deploy.run.rolledback',
  'deploy.run.superseded',
] as const;

const occurrenceStep = z.object({
  name,
  description: z.string(),
  status: z.enum(['ok', 'failed', 'skipped']),
  duration_ms: z.number().nonnegative().optional(),
  error: z.object({ code: name, message: z.string() }).optional(),
});

/**
 * `occurrences/<deploy-id>.json`: what happened in one deploy, in the shape of the original nopea's
 * occurrences (its FALSE protocol): what, where, the objects touched, the steps with their errors, and
 * for failures what failed, why it matters and what memory recognised. No Secret value ever appears.
 */
export const OccurrenceSchema = z.object({
  format: z.literal(STATE_FORMAT),
  protocol_version: z.literal('1.0'),
  id: ulid,
  timestamp: isoTime,
  source: z.literal('nopea'),
  type: z.enum(OCCURRENCE_TYPES),
  severity: z.enum(['info', 'warning', 'error']),
  outcome: z.enum(['success', 'failure']),
  context: z.object({
    service: name,
    namespace: z.string(),
    entities: z.array(
      z.object({
        type: name,
        id: name,
        name: z.string(),
        namespace: z.string(),
        version: z.string(),
        source_of_truth: z.literal('k8s-api'),
      }),
    ),
  }),
  data: z.object({
    deploy_id: ulid,
    service: name,
    namespace: z.string(),
    strategy: z.enum(STRATEGY_NAMES),
    strategy_reason: z.string(),
    chosen_by: z.enum(STRATEGY_CHOOSERS).optional(),
    counts: z.record(z.string(), count),
    source_commit: z.string().optional(),
  }),
  history: z.object({ steps: z.array(occurrenceStep) }),
  error: z
    .object({ code: name, message: z.string(), what_failed: z.string(), why_it_matters: z.string() })
    .optional(),
  reasoning: z
    .object({
      summary: z.string(),
      patterns_matched: z.array(
        z.object({ pattern_name: name, confidence: z.number().min(0).max(1), times_seen: count }),
      ),
      confidence: z.number().min(0).max(1),
    })
    .optional(),
});

/** `graph.json`: the memory graph, derived from deploy records; its schema is memory's own. */
export const GraphSchema = MemoryGraphSchema;

/** A failure as recorded on the branch. */
export type RecordedError = z.infer<typeof RecordedErrorSchema>;
/** Parsed `inventory.json`. */
export type Inventory = z.infer<typeof InventorySchema>;
/** Parsed last-applied file; `object` is typed as the KubeObject nopea handles everywhere. */
export type LastApplied = Omit<z.infer<typeof LastAppliedSchema>, 'object'> & { object: KubeObject };
/** Parsed `current.json`. */
export type Current = z.infer<typeof CurrentSchema>;
/** Parsed deploy record. */
export type DeployRecord = z.infer<typeof DeployRecordSchema>;
/** Outcome of a finished deploy. */
export type DeployOutcome = (typeof DEPLOY_OUTCOMES)[number];
/** Parsed occurrence. */
export type Occurrence = z.infer<typeof OccurrenceSchema>;
/** Parsed memory graph. */
export type Graph = MemoryGraph;

/** Where a file was read from, for error messages. */
export interface StateLocation {
  branch: string;
  /** Set when the branch is read from a remote. */
  remote?: string;
  commit: string;
  path: string;
}

/** `state branch nopea-state of remote origin at commit 1a2b3c4`. */
export function describeLocation(at: Omit<StateLocation, 'path'>): string {
  const remote = at.remote ? ` of remote ${at.remote}` : '';
  return `state branch ${at.branch}${remote} at commit ${at.commit.slice(0, 12)}`;
}

/** The error for a file on the branch that cannot be understood. */
export function corruptStateError(at: StateLocation, detail: string): NopeaError {
  return new NopeaError('state', {
    message: `${at.path} on ${describeLocation(at)} is corrupt: ${detail}`,
    hint: 'the file was changed outside nopea; repair or delete it in a new commit on that branch',
  });
}

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/**
 * Deepest nesting of arrays and objects a state file may have. nopea writes objects nested at most 256
 * levels (the manifest limit, `source/limits.ts`) inside files two levels deep; what reads a state
 * file (validation, then the plan's comparisons) recurses per level and overflows the stack far deeper.
 */
export const MAX_STATE_DEPTH = 512;

// One pass over the text, counting brackets outside strings, before anything recurses into it.
function nestedTooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_STATE_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Parses and validates one JSON file read from the branch; a corrupt file is a state error naming it. */
export function parseStateFile<S extends z.ZodType>(
  schema: S,
  bytes: Buffer | string,
  at: StateLocation,
): z.output<S> {
  const text = bytes.toString();
  if (nestedTooDeep(text)) {
    throw corruptStateError(at, `nested more than ${MAX_STATE_DEPTH} levels deep, deeper than nopea writes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corruptStateError(at, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw corruptStateError(at, describeIssues(result.error));
  return result.data;
}

/**
 * Parses `.nopea/format`. A newer version is refused rather than guessed at: an older nopea that
 * rewrote a newer layout would silently lose what it does not understand.
 */
export function parseFormatFile(bytes: Buffer | string, at: StateLocation): number {
  const text = bytes.toString().trim();
  if (!/^[0-9]{1,6}$/.test(text) || Number(text) < 1) {
    throw corruptStateError(
      at,
      `expected a format version number, found ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  const version = Number(text);
  if (version > STATE_FORMAT) {
    throw new NopeaError('state', {
      message: `state format ${version} is newer than this nopea understands (${STATE_FORMAT}); upgrade nopea`,
      hint: `${describeLocation(at)} was written by a newer nopea; this one will neither read nor write it`,
    });
  }
  return version;
}

/** The bytes of `.nopea/format` for this nopea. */
export function serializeFormatFile(): string {
  return `${STATE_FORMAT}\n`;
}

/** JSON as stored on the branch: two-space indented with a final newline, so git diffs stay readable. */
export function serializeStateFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function invalidWrite(path: string, detail: string): NopeaError {
  return new NopeaError('internal', `refusing to write ${path} on the state branch: ${detail}`);
}

function validated<S extends z.ZodType>(schema: S, path: string, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidWrite(path, describeIssues(result.error));
  return result.data;
}

function expectEqual(path: string, field: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw invalidWrite(
      path,
      `${field} is ${JSON.stringify(actual)} but the path says ${JSON.stringify(expected)}`,
    );
  }
}

/**
 * The file content for a write at a full path: files the layout knows are validated against their
 * schema (and must agree with their path: service, deploy id, object id); only the fields the schema
 * knows are stored. A string is stored as is, after the same validation when the path is a known JSON
 * file. Invalid content is an internal error: it is a bug in the caller, not something a user can fix.
 */
export function serializeStateWrite(path: string, value: unknown): string {
  const where = classifyStatePath(path);
  if (where.kind === 'format') throw invalidWrite(path, `${FORMAT_PATH} is written by the state store only`);
  if (where.kind === 'other') return typeof value === 'string' ? value : serializeStateFile(value);
  let json = value;
  if (typeof value === 'string') {
    try {
      json = JSON.parse(value);
    } catch (err) {
      throw invalidWrite(path, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  switch (where.kind) {
    case 'graph':
      return serializeStateFile(validated(GraphSchema, path, json));
    case 'occurrence': {
      const occurrence = validated(OccurrenceSchema, path, json);
      expectEqual(path, 'id', occurrence.id, where.deployId);
      return serializeStateFile(occurrence);
    }
    case 'inventory': {
      const inventory = validated(InventorySchema, path, json);
      expectEqual(path, 'service', inventory.service, where.service);
      // Sorted so the file diffs cleanly from deploy to deploy whatever order the plan produced.
      const objects = [...inventory.objects].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const duplicate = objects.find((o, i) => i > 0 && objects[i - 1]?.id === o.id);
      if (duplicate) throw invalidWrite(path, `object ${duplicate.id} is listed twice`);
      return serializeStateFile({ ...inventory, objects });
    }
    case 'current': {
      const current = validated(CurrentSchema, path, json);
      expectEqual(path, 'service', current.service, where.service);
      return serializeStateFile(current);
    }
    case 'last-applied': {
      const lastApplied = validated(LastAppliedSchema, path, json);
      const expected = idFileName(lastApplied.id);
      if (where.name !== expected) {
        throw invalidWrite(
          path,
          `id is ${JSON.stringify(lastApplied.id)}, whose file is last-applied/${expected}.json`,
        );
      }
      return serializeStateFile(lastApplied);
    }
    case 'deploy': {
      const record = validated(DeployRecordSchema, path, json);
      expectEqual(path, 'id', record.id, where.deployId);
      expectEqual(path, 'service', record.service, where.service);
      return serializeStateFile(record);
    }
  }
}
