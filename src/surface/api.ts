/**
 * The facade's operations as one table, for the interfaces that take requests as data (MCP, HTTP):
 * per operation a zod schema of its request and of its result, what it does to the world (read-only,
 * destructive, idempotent, as MCP's tool annotations and HTTP's methods need them), and how it runs.
 * `runOperation` validates a request, calls the surface and answers `{status, result}` or
 * `{status, error}`; `outcome.ts`'s `meaningOf(status)` says what the status means on each interface.
 * The JSON shapes of results (`syncJson`, `diffJson`, `moveJson`, `errorJson`) are written here once,
 * and the CLI's `--output json` prints the same.
 *
 * Where the cluster, the repository and the state branch are (`OperationContext`) is the server's
 * configuration, never a request's: a request cannot point nopea at another kubeconfig or directory.
 */
import { z } from 'zod';
import { parsePruneLimit, PROTECTED_KINDS } from '../apply/guard.js';
import { PROPAGATION_POLICIES } from '../cluster/objects.js';
import { parseDuration } from '../duration.js';
import { ERROR_KINDS, errorJson, type Problem } from '../errors.js';
import { STRATEGY_REQUESTS } from '../strategy/names.js';
import { parseCanarySteps } from '../strategy/steps.js';
import type { CiProvenance } from '../state/repository.js';
import { clusterTarget, type ClusterTarget } from './cluster.js';
import { diff, type DiffResult } from './diff.js';
import { context, explain, memorySummary } from './explain.js';
import { history, services, status } from './history.js';
import { health, healthStatus, OBJECT_HEALTH_STATES } from './health.js';
import { errorStatus, moveStatus, syncStatus, type Status } from './outcome.js';
import { moveRollout, type RolloutRequest, type RolloutResult } from './rollout.js';
import { requestSummary, sync } from './sync.js';
import type { SyncEvent, SyncOptions, SyncResult } from './sync-types.js';
import type { RolloutProgress } from '../progressive/monitor.js';

/** Where and how an operation runs: the server's (or CLI's) settings, never taken from a request. */
export interface OperationContext extends ClusterTarget {
  cwd?: string;
  stateBranch?: string;
  stateRemote?: string;
  kubectl?: string;
  gitAuthHeader?: string;
  provenance?: CiProvenance;
  /** Where a real deploy's CDEvents and metrics go (the server's `NOPEA_EVENTS_URL`, ...). */
  eventsUrl?: string;
  pushgatewayUrl?: string;
  /** Stops new writes (SIGTERM, an MCP cancellation, a client gone); the outcome is still recorded. */
  signal?: AbortSignal;
  /** Cuts requests in flight short; the outcome is still recorded. */
  hurry?: AbortSignal;
  onEvent?: (event: SyncEvent) => void;
  onRolloutProgress?: (service: string, progress: RolloutProgress) => void;
}

// ---------------------------------------------------------------------------------------------
// Requests

const serviceName = z.string().min(1).max(63).describe("the service's name, as in nopea.yaml or -s");
const namespace = z.string().min(1).max(63).describe("the namespace (default: the service's)");
const duration = z.string().min(1).max(32).describe('a duration such as 90s, 5m or 1h30m');

/** What to plan: the services of nopea.yaml (or one), optionally other manifest paths. */
const planShape = {
  service: serviceName.optional().describe('one service (default: every service in nopea.yaml)'),
  namespace: namespace.optional(),
  paths: z
    .array(z.string().min(1).max(4096))
    .max(100)
    .optional()
    .describe("manifest files or directories, relative to the repository (default: the service's paths)"),
};

export const DiffRequest = z.strictObject({
  ...planShape,
  offline: z.boolean().optional().describe('compare with the state branch only, without the cluster'),
});

export const SyncRequest = z.strictObject({
  ...planShape,
  dryRun: z
    .boolean()
    .optional()
    .describe("plan and guard with the server's dry-run; write nothing to the cluster or the branch"),
  strategy: z
    .enum(STRATEGY_REQUESTS)
    .optional()
    .describe('auto (memory advises), direct, canary, blue-green'),
  canarySteps: z.string().min(1).max(200).optional().describe('canary steps, e.g. 10:30s,50:gate,100'),
  prune: z.boolean().optional().describe('delete objects nopea applied before that git no longer has'),
  wait: z.boolean().optional().describe('wait for health (or monitor the rollout) after applying'),
  timeout: duration.optional().describe('bound on the health wait or the rollout monitor (default 5m)'),
  forceConflicts: z.boolean().optional().describe('take over fields another field manager owns'),
  maxPrune: z
    .union([z.int().min(0), z.string().min(1).max(8)])
    .optional()
    .describe('most objects one sync may delete: a count or a percentage such as 25%'),
  allowPruneKinds: z
    .array(z.enum(PROTECTED_KINDS as [string, ...string[]]))
    .optional()
    .describe(`protected kinds prune may delete: ${PROTECTED_KINDS.join(', ')}`),
  prunePropagation: z
    .enum(Object.keys(PROPAGATION_POLICIES) as (keyof typeof PROPAGATION_POLICIES)[])
    .optional()
    .describe('deletion propagation of pruned objects (default background)'),
  recreateOnImmutable: z
    .boolean()
    .optional()
    .describe('delete (foreground) and re-create objects whose immutable fields change'),
});

export const ServiceRequest = z.strictObject({ service: serviceName, namespace: namespace.optional() });

/** A service's state is its own whatever the namespace: `status` takes no namespace. */
export const StatusRequest = ServiceRequest.pick({ service: true });

export const HistoryRequest = z.strictObject({
  service: serviceName,
  limit: z.int().min(1).max(10_000).optional().describe('at most this many deploys, newest first'),
});

export const EmptyRequest = z.strictObject({});

export const HealthRequest = z.strictObject({
  service: serviceName.optional().describe('one service (default: every service on the state branch)'),
});

const moveShape = {
  service: serviceName.optional().describe('the service whose rollout to move'),
  deployId: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("the deploy to move (default: the service's current one)"),
  wait: z.boolean().optional().describe('monitor to the next gate or the end (default true)'),
  timeout: duration.optional().describe('bound on monitoring after the move (default 5m)'),
};

export const PromoteRequest = z.strictObject({
  ...moveShape,
  full: z.boolean().optional().describe('go to 100% at once, past every remaining gate'),
});

export const RollbackRequest = z.strictObject(moveShape);

// ---------------------------------------------------------------------------------------------
// Results: their main fields; every result carries more (the schemas do not strip or refuse extra keys
// where they validate: MCP checks structuredContent against them, HTTP documents them).

const problemJson = z.object({
  message: z.string(),
  origin: z.object({ file: z.string(), line: z.number() }).optional(),
  object: z.string().optional(),
  hint: z.string().optional(),
  reason: z.string().optional(),
});

export const ErrorJson = z.object({ kind: z.enum(ERROR_KINDS), problems: z.array(problemJson) });

const STATUSES = [
  'succeeded',
  'dry-run',
  'planned',
  'invalid',
  'refused',
  'failed',
  'rolled-back',
  'cancelled',
  'paused',
] as const satisfies readonly Status[];
export const StatusSchema = z.enum(STATUSES);

const rolloutJson = z.object({
  phase: z.string().optional(),
  step: z.number().optional(),
  weight: z.number().optional(),
});

/** How long each stage of a run took, in order (`state`, `discovery`, `manifests`, `plan`, `apply`, ...). */
const stagesJson = z.array(z.object({ name: z.string(), ms: z.number() }));

export const SyncResultJson = z.object({
  services: z.array(
    z.object({
      service: z.string(),
      namespace: z.string().optional(),
      deployId: z.string(),
      outcome: z.string(),
      durationMs: z.number(),
      stateCommit: z.string().optional(),
      inSync: z.boolean().optional(),
      rollout: rolloutJson.optional(),
      warnings: z.array(z.string()).optional(),
      stages: stagesJson.optional(),
      error: ErrorJson.optional(),
    }),
  ),
  requests: z.record(z.string(), z.unknown()).optional(),
  stages: stagesJson.optional(),
});

export const DiffResultJson = z.object({
  plans: z.array(z.object({ service: z.string() })),
  requests: z.record(z.string(), z.unknown()).optional(),
  stages: stagesJson.optional(),
});

export const MoveResultJson = z.object({
  service: z.string(),
  deployId: z.string(),
  action: z.enum(['promote', 'rollback']),
  monitoredBy: z.string(),
  outcome: z.string(),
  rollout: rolloutJson.optional(),
  stateCommit: z.string().optional(),
  error: ErrorJson.optional(),
});

export const HealthResultJson = z.object({
  healthy: z.boolean(),
  stateCommit: z.string().optional(),
  services: z.array(
    z.object({
      service: z.string(),
      namespace: z.string(),
      healthy: z.boolean(),
      objects: z.array(
        z.object({
          id: z.string(),
          kind: z.string(),
          name: z.string(),
          namespace: z.string(),
          state: z.enum(OBJECT_HEALTH_STATES),
          reason: z.string().optional(),
          message: z.string().optional(),
          diagnostics: z.record(z.string(), z.unknown()).optional(),
        }),
      ),
    }),
  ),
});

const ServiceResultJson = z.object({ service: z.string() });
const ServicesResultJson = z.object({ services: z.array(z.object({ service: z.string() })) });
const MemoryResultJson = z.object({ nodes: z.number(), edges: z.number() });

// ---------------------------------------------------------------------------------------------
// JSON forms of results, shared by every interface

/**
 * `requests` of a sync's JSON: per verb, total and writes count the objects' requests (so a sync that
 * changed nothing shows `writes: 0`); the service lock's Lease requests are under `lock`.
 */
export function requestsJson(result: SyncResult): Record<string, unknown> | undefined {
  if (!result.requests) return undefined;
  const r = requestSummary(result.requests, result.lockRequests);
  return { ...r.byVerb, total: r.total, writes: r.writes, retries: r.retries, lock: r.lock };
}

export function syncJson(result: SyncResult): z.infer<typeof SyncResultJson> {
  return {
    services: result.services.map((s) => ({
      service: s.service,
      namespace: s.namespace,
      deployId: s.deployId,
      outcome: s.outcome,
      durationMs: s.durationMs,
      stateCommit: s.stateCommit,
      inSync: s.inSync,
      strategy: s.strategy,
      rollout: s.rollout,
      warnings: s.warnings,
      plan: s.plan,
      stages: s.stages,
      objects: s.objects.map((o) => ({ id: o.id, action: o.action, problem: o.problem })),
      kept: s.kept,
      health: s.health,
      error: s.error ? errorJson(s.error) : undefined,
    })),
    requests: requestsJson(result),
    stages: result.stages,
  };
}

export function diffJson(result: DiffResult): z.infer<typeof DiffResultJson> {
  return {
    plans: result.plans,
    requests: result.requests ? { ...result.requests.byVerb, total: result.requests.total } : undefined,
    stages: result.stages,
  };
}

export function moveJson(result: RolloutResult): z.infer<typeof MoveResultJson> {
  return { ...result, error: result.error ? errorJson(result.error) : undefined };
}

// ---------------------------------------------------------------------------------------------
// The operations

/** An answer: the status (what it means: `meaningOf`) and the result, or the failure. */
export type Answer<R = unknown> =
  | { status: Status; result: R; error?: undefined }
  | { status: Status; result?: undefined; error: z.infer<typeof ErrorJson> };

export interface Operation<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  request: Req;
  result: Res;
  /** Changes nothing anywhere (cluster, state branch). */
  readOnly: boolean;
  /** May delete or replace what is running (a sync prunes; a rollback replaces the new version). */
  destructive: boolean;
  /** Calling it twice with the same request has the effect of calling it once. */
  idempotent: boolean;
  /** Writes unless the request says otherwise (`dryRun`): what an interface refuses without write access. */
  writes: (req: z.infer<Req>) => boolean;
  run: (req: z.infer<Req>, ctx: OperationContext) => Promise<Answer<z.infer<Res>>>;
}

function stateOf(ctx: OperationContext) {
  const opts: { cwd?: string; stateBranch?: string; stateRemote?: string; gitAuthHeader?: string } = {};
  if (ctx.cwd !== undefined) opts.cwd = ctx.cwd;
  if (ctx.stateBranch !== undefined) opts.stateBranch = ctx.stateBranch;
  if (ctx.stateRemote !== undefined) opts.stateRemote = ctx.stateRemote;
  if (ctx.gitAuthHeader !== undefined) opts.gitAuthHeader = ctx.gitAuthHeader;
  return opts;
}

/** A request's fields without the ones it left out (exactOptionalPropertyTypes). */
function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

function runOptionsOf(req: z.infer<typeof DiffRequest> | z.infer<typeof SyncRequest>, ctx: OperationContext) {
  return {
    ...stateOf(ctx),
    ...clusterTarget(ctx),
    ...defined({
      service: req.service,
      namespace: req.namespace,
      paths: req.paths,
      kubectl: ctx.kubectl,
      provenance: ctx.provenance,
    }),
  };
}

export function syncOptionsOf(req: z.infer<typeof SyncRequest>, ctx: OperationContext): SyncOptions {
  const opts: SyncOptions = {
    ...runOptionsOf(req, ctx),
    ...defined({
      dryRun: req.dryRun,
      strategy: req.strategy,
      prune: req.prune,
      wait: req.wait,
      forceConflicts: req.forceConflicts,
      allowPruneKinds: req.allowPruneKinds,
      recreateOnImmutable: req.recreateOnImmutable,
      propagationPolicy: req.prunePropagation && PROPAGATION_POLICIES[req.prunePropagation],
      eventsUrl: ctx.eventsUrl,
      pushgatewayUrl: ctx.pushgatewayUrl,
      signal: ctx.signal,
      hurry: ctx.hurry,
      onEvent: ctx.onEvent,
    }),
  };
  if (req.timeout !== undefined) opts.timeoutMs = parseDuration(req.timeout, 'timeout');
  if (req.maxPrune !== undefined) opts.maxPrune = parsePruneLimit(req.maxPrune, 'maxPrune');
  if (req.canarySteps !== undefined) opts.canarySteps = parseCanarySteps(req.canarySteps);
  return opts;
}

function moveOptionsOf(req: z.infer<typeof PromoteRequest>, ctx: OperationContext): RolloutRequest {
  const opts: RolloutRequest = {
    ...stateOf(ctx),
    ...clusterTarget(ctx),
    ...defined({
      service: req.service,
      deployId: req.deployId,
      full: req.full,
      wait: req.wait,
      eventsUrl: ctx.eventsUrl,
      pushgatewayUrl: ctx.pushgatewayUrl,
      signal: ctx.signal,
      onProgress: ctx.onRolloutProgress,
    }),
  };
  if (req.timeout !== undefined) opts.timeoutMs = parseDuration(req.timeout, 'timeout');
  return opts;
}

/** A read of the state branch: its result as it is, status `succeeded`. */
function read<Req extends z.ZodType, Res extends z.ZodType>(
  request: Req,
  result: Res,
  run: (req: z.infer<Req>, ctx: OperationContext) => Promise<z.infer<Res>>,
): Operation<Req, Res> {
  return {
    request,
    result,
    readOnly: true,
    destructive: false,
    idempotent: true,
    writes: () => false,
    run: async (req, ctx) => ({ status: 'succeeded', result: await run(req, ctx) }),
  };
}

function move(
  action: 'promote' | 'rollback',
): Operation<z.ZodType<z.infer<typeof PromoteRequest>>, typeof MoveResultJson> {
  return {
    request: action === 'promote' ? PromoteRequest : RollbackRequest,
    result: MoveResultJson,
    readOnly: false,
    destructive: action === 'rollback',
    idempotent: false,
    writes: () => true,
    run: async (req: z.infer<typeof PromoteRequest>, ctx: OperationContext) => {
      const result = await moveRollout(action, moveOptionsOf(req, ctx));
      return { status: moveStatus(result), result: moveJson(result) };
    },
  };
}

export const OPERATIONS = {
  sync: {
    request: SyncRequest,
    result: SyncResultJson,
    readOnly: false,
    destructive: true,
    idempotent: true,
    writes: (req) => req.dryRun !== true,
    run: async (req, ctx) => {
      const result = await sync(syncOptionsOf(req, ctx));
      return { status: syncStatus(result), result: syncJson(result) };
    },
  } satisfies Operation<typeof SyncRequest, typeof SyncResultJson>,
  diff: {
    request: DiffRequest,
    result: DiffResultJson,
    readOnly: true,
    destructive: false,
    idempotent: true,
    writes: () => false,
    run: async (req, ctx) => ({
      status: 'planned',
      result: diffJson(await diff({ ...runOptionsOf(req, ctx), ...defined({ offline: req.offline }) })),
    }),
  } satisfies Operation<typeof DiffRequest, typeof DiffResultJson>,
  status: read(StatusRequest, ServiceResultJson, (req, ctx) =>
    status({ ...stateOf(ctx), service: req.service }),
  ),
  history: read(HistoryRequest, ServiceResultJson, (req, ctx) =>
    history({ ...stateOf(ctx), ...defined(req) }),
  ),
  services: read(EmptyRequest, ServicesResultJson, (_req, ctx) => services(stateOf(ctx))),
  context: read(ServiceRequest, ServiceResultJson, (req, ctx) =>
    context({ ...stateOf(ctx), ...defined(req) }),
  ),
  explain: read(ServiceRequest, ServiceResultJson, (req, ctx) =>
    explain({ ...stateOf(ctx), ...defined(req) }),
  ),
  memory: read(EmptyRequest, MemoryResultJson, (_req, ctx) => memorySummary(stateOf(ctx))),
  health: {
    request: HealthRequest,
    result: HealthResultJson,
    readOnly: true,
    destructive: false,
    idempotent: true,
    writes: () => false,
    run: async (req, ctx) => {
      const result = await health({
        ...stateOf(ctx),
        ...clusterTarget(ctx),
        ...defined({ service: req.service, signal: ctx.signal }),
      });
      return { status: healthStatus(result), result };
    },
  } satisfies Operation<typeof HealthRequest, typeof HealthResultJson>,
  promote: move('promote'),
  rollback: move('rollback'),
} as const;

export type OperationName = keyof typeof OPERATIONS;

/** Where a request does not match its schema: one problem per field, naming it. */
function requestProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({
    message: `${issue.path.length > 0 ? issue.path.join('.') : 'request'}: ${issue.message}`,
  }));
}

/**
 * Runs one operation on a request given as data: validated first (an invalid request is `invalid`,
 * naming the field), then the surface; every failure is an answer with the surface's error kind,
 * never a throw.
 */
export async function runOperation(
  name: OperationName,
  request: unknown,
  ctx: OperationContext = {},
): Promise<Answer> {
  const op = OPERATIONS[name] as unknown as Operation;
  const parsed = op.request.safeParse(request ?? {});
  if (!parsed.success) {
    return { status: 'invalid', error: { kind: 'input', problems: requestProblems(parsed.error) } };
  }
  try {
    return await op.run(parsed.data, ctx);
  } catch (err) {
    return { status: errorStatus(err), error: errorJson(err) };
  }
}
