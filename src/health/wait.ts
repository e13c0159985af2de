/**
 * Stage 8 for the direct strategy: poll the applied objects until every one is ready, one has
 * clearly failed, or the timeout passes; then explain every failure with the pod, container, reason
 * and recent events. Each poll reads only objects not yet ready (LIST or GET per kind and namespace,
 * whichever is fewer requests) plus, for workloads still rolling out, one LIST of their pods (and of
 * a Deployment's ReplicaSets), and, for a Job that is gone, one LIST of its events (a Job deleted
 * after it completed is ready). The loop is `poll()`, bounded by the timeout and by a poll count
 * derived from it; the diagnosis at the end is bounded by a number of objects.
 */
import type { KubeClient } from '../cluster/client.js';
import { ApiError } from '../cluster/errors.js';
import { describeApiError } from '../cluster/explain.js';
import { getObject, listObjects, resourcePath } from '../cluster/objects.js';
import { readLive } from '../cluster/observe.js';
import type { ResourceCatalog, ResourceType } from '../resources/catalog.js';
import {
  isPlainObject,
  parseId,
  type KubeObject,
  type ResourceId,
  type ResourceRef,
} from '../resources/object.js';
import { backoffDelay, poll, systemClock, type Backoff, type Clock } from '../poll.js';
import { notFound, type Assessment, type Related } from './assessment.js';
import {
  DEFAULT_CRASH_LOOP_RESTARTS,
  initialState,
  nextState,
  type ObjectHealth,
  type Observation,
  type WaitState,
} from './decide.js';
import {
  EVENTS_PER_DIAGNOSIS,
  planDiagnosis,
  summarizeEvents,
  type Diagnosis,
  type DiagnosisContext,
  type EventSource,
} from './diagnose.js';
import { assessVanishedJob } from './kinds/job.js';
import { controllerUid, newestReplicaSet } from './owners.js';
import { podProblems } from './pods.js';
import { assess, WORKLOAD_KINDS } from './rules.js';

// Callers of the wait need the report's parts without knowing how the folder is split.
export { formatDiagnosis, type Diagnosis, type EventSummary } from './diagnose.js';
export type { ObjectHealth } from './decide.js';

/** An applied object to wait for. */
export interface HealthTarget {
  id: ResourceId;
  type: ResourceType;
  /** The uid the apply answered with: tells this object's events from those of an earlier one of its name. */
  uid?: string;
}

/** What the wait looks like after one poll, for live progress output. */
export interface HealthSnapshot {
  /** 1-based number of the poll. */
  poll: number;
  elapsedMs: number;
  ready: number;
  total: number;
  objects: ObjectHealth[];
}

/** Bounds and tuning of one wait; every field has a default. */
export interface WaitOptions {
  /** Give up after this long (default 5 minutes). */
  timeoutMs?: number;
  /** First interval between polls (default 1 s); it grows by half each poll up to maxPollMs. */
  pollMs?: number;
  /** Longest interval between polls (default 3 s). */
  maxPollMs?: number;
  /** How long a pod problem must persist before it fails the wait (default 15 s). */
  failGraceMs?: number;
  /** A crash loop with at least this many restarts fails without the grace period (default 3). */
  crashLoopRestarts?: number;
  /** Wait for LoadBalancer Services to get an address (default: ready when applied). */
  waitForLoadBalancer?: boolean;
  /** Most objects diagnosed with events at the end (default 20); the rest are listed without events. */
  maxDiagnosed?: number;
  signal?: AbortSignal;
  /**
   * How the targets looked when they were read moments ago (an in-sync run's plan read them all): the
   * first poll judges these instead of reading the same objects again. Later polls read anew.
   */
  seen?: ReadonlyMap<ResourceId, KubeObject>;
  /** Called after every poll. */
  onProgress?: (snapshot: HealthSnapshot) => void;
  /** Time and sleep of the loop (default: the process clock); injectable for tests. */
  clock?: Clock;
}

/** The outcome of a wait. */
export interface HealthReport {
  /** Every target became ready. */
  ok: boolean;
  timedOut: boolean;
  /** The signal stopped the wait before it ended. */
  aborted: boolean;
  durationMs: number;
  /** Polls made. */
  polls: number;
  /** API requests made (GET, LIST, events). */
  requests: number;
  objects: ObjectHealth[];
  /** Failed objects; on timeout, every object that was not ready. */
  failures: Diagnosis[];
}

const DEFAULTS = {
  timeoutMs: 5 * 60_000,
  pollMs: 1_000,
  maxPollMs: 3_000,
  failGraceMs: 15_000,
  maxDiagnosed: 20,
};

/** What the loop keeps of the last poll of each object, for the diagnosis at the end. */
interface Seen {
  object?: KubeObject;
  pods: KubeObject[];
  replicaSet?: KubeObject;
}

/** Types of the objects the loop reads besides the targets; missing ones only lose detail. */
interface SideTypes {
  pod?: ResourceType;
  replicaSet?: ResourceType;
  event?: ResourceType;
  storageClass?: ResourceType;
}

function sideTypes(catalog: ResourceCatalog): SideTypes {
  return {
    pod: catalog.lookup('v1', 'Pod').found,
    replicaSet: catalog.lookup('apps/v1', 'ReplicaSet').found,
    event: catalog.lookup('v1', 'Event').found ?? catalog.lookup('events.k8s.io/v1', 'Event').found,
    storageClass: catalog.lookup('storage.k8s.io/v1', 'StorageClass').found,
  };
}

/**
 * A label selector (`app=api,tier in (web,api),!legacy`) from a LabelSelector object; undefined
 * when there is none or it uses an operator this code does not know.
 */
export function selectorString(selector: unknown): string | undefined {
  if (!isPlainObject(selector)) return undefined;
  const parts: string[] = [];
  if (isPlainObject(selector.matchLabels)) {
    for (const [k, v] of Object.entries(selector.matchLabels)) parts.push(`${k}=${String(v)}`);
  }
  if (Array.isArray(selector.matchExpressions)) {
    for (const e of selector.matchExpressions) {
      if (!isPlainObject(e) || typeof e.key !== 'string') return undefined;
      const values = Array.isArray(e.values) ? e.values.map(String).join(',') : '';
      switch (e.operator) {
        case 'In':
          parts.push(`${e.key} in (${values})`);
          break;
        case 'NotIn':
          parts.push(`${e.key} notin (${values})`);
          break;
        case 'Exists':
          parts.push(e.key);
          break;
        case 'DoesNotExist':
          parts.push(`!${e.key}`);
          break;
        default:
          return undefined;
      }
    }
  }
  // An empty selector would match every pod of the namespace; no workload has one.
  return parts.length > 0 ? parts.join(',') : undefined;
}

/** The pods of a workload that count for its health, chosen from those its selector matches. */
export function countedPods(
  workload: KubeObject,
  pods: KubeObject[],
  replicaSets: KubeObject[] = [],
): KubeObject[] {
  const uid = workload.metadata.uid;
  const status = isPlainObject(workload.status) ? workload.status : {};
  const generation = workload.metadata.generation;
  const observed = status.observedGeneration;
  // A controller that has not seen the current spec still shows the previous rollout's pods.
  if (typeof generation === 'number' && typeof observed === 'number' && observed < generation) return [];
  switch (workload.kind) {
    case 'Deployment': {
      // Old ReplicaSets' pods are being replaced; only the current revision's problems count.
      const rs = newestReplicaSet(workload, replicaSets);
      return rs ? pods.filter((p) => controllerUid(p) === rs.metadata.uid) : [];
    }
    case 'StatefulSet': {
      const revision = typeof status.updateRevision === 'string' ? status.updateRevision : undefined;
      return pods.filter(
        (p) =>
          controllerUid(p) === uid &&
          (!revision || p.metadata.labels?.['controller-revision-hash'] === revision),
      );
    }
    case 'DaemonSet': {
      return pods.filter((p) => {
        const podGeneration = p.metadata.labels?.['pod-template-generation'];
        return (
          controllerUid(p) === uid && (podGeneration === undefined || podGeneration === String(generation))
        );
      });
    }
    default:
      return pods.filter((p) => controllerUid(p) === uid);
  }
}

/** Whether a failed side request only costs detail (RBAC without list on pods or events). */
function costsOnlyDetail(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 403 || err.status === 404);
}

/** Waits until every target is ready, one fails, the timeout passes or the signal aborts. */
export async function waitForHealth(
  client: KubeClient,
  catalog: ResourceCatalog,
  targets: HealthTarget[],
  opts: WaitOptions = {},
): Promise<HealthReport> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
  const pollMs = Math.max(1, opts.pollMs ?? DEFAULTS.pollMs);
  // Polling keeps a steady rhythm (no jitter): the interval grows by half each poll up to maxPollMs.
  const backoff: Backoff = {
    initialMs: pollMs,
    maxMs: Math.max(pollMs, opts.maxPollMs ?? DEFAULTS.maxPollMs),
    factor: 1.5,
    jitter: 0,
  };
  const decide = {
    failGraceMs: opts.failGraceMs ?? DEFAULTS.failGraceMs,
    crashLoopRestarts: opts.crashLoopRestarts ?? DEFAULT_CRASH_LOOP_RESTARTS,
  };
  const side = sideTypes(catalog);
  const requestsBefore = client.stats.total;
  const seen = new Map<ResourceId, Seen>();
  // A Job that disappears is judged by how it last looked, which `seen` forgets once it is gone.
  const lastFound = new Map<ResourceId, KubeObject>();
  const storageClasses = new Map<string, KubeObject | undefined>();
  const unique = [...new Map(targets.map((t) => [t.id, t])).values()];

  const start = clock.now();
  let state: WaitState = initialState(
    unique.map((t) => t.id),
    start,
  );
  let polls = 0;

  let seenFirst = opts.seen;
  const observeAll = async (pending: HealthTarget[]): Promise<Observation[]> => {
    let live: ReadonlyMap<ResourceId, KubeObject | undefined>;
    const given = seenFirst;
    seenFirst = undefined;
    if (given && pending.every((t) => given.has(t.id))) live = given;
    else {
      try {
        live = await readLive(client, pending);
      } catch (err) {
        throw describeApiError(err, 'reading objects to check their health');
      }
    }
    return Promise.all(
      pending.map(async (t) => {
        const obj = live.get(t.id);
        if (obj) lastFound.set(t.id, obj);
        const s = await observeOne(t, obj);
        seen.set(t.id, s.seen);
        return s.observation;
      }),
    );
  };

  const storageClassOf = async (pvc: KubeObject): Promise<KubeObject | undefined> => {
    const spec = isPlainObject(pvc.spec) ? pvc.spec : {};
    const name = typeof spec.storageClassName === 'string' ? spec.storageClassName : '';
    if (!name || !side.storageClass) return undefined;
    if (!storageClasses.has(name)) {
      try {
        storageClasses.set(name, await getObject(client, side.storageClass, '', name));
      } catch (err) {
        if (!costsOnlyDetail(err)) throw describeApiError(err, `reading StorageClass ${name}`);
        storageClasses.set(name, undefined);
      }
    }
    return storageClasses.get(name);
  };

  const vanishedJob = async (t: HealthTarget, ref: ResourceRef): Promise<Assessment> => {
    const lastSeen = lastFound.get(t.id);
    const seenUid = lastSeen?.metadata.uid;
    const uid = t.uid ?? (typeof seenUid === 'string' ? seenUid : undefined);
    const source: EventSource = { kind: 'Job', namespace: ref.namespace, name: ref.name };
    const events = side.event ? await listEvents(client, side.event, source) : [];
    return assessVanishedJob({ namespace: ref.namespace, name: ref.name, uid, lastSeen, events });
  };

  const observeOne = async (
    t: HealthTarget,
    obj: KubeObject | undefined,
  ): Promise<{ observation: Observation; seen: Seen }> => {
    const ref = parseId(t.id);
    const key = `${ref.group}/${ref.kind}`;
    if (!obj) {
      const a = key === 'batch/Job' ? await vanishedJob(t, ref) : notFound();
      return { observation: { id: t.id, assessment: a, problems: [] }, seen: { pods: [] } };
    }
    const ruleOpts = { waitForLoadBalancer: opts.waitForLoadBalancer };
    let a = assess(obj, {}, ruleOpts);
    if (a.state !== 'progressing') {
      return { observation: { id: t.id, assessment: a, problems: [] }, seen: { object: obj, pods: [] } };
    }
    if (key === '/Pod') {
      return {
        observation: { id: t.id, assessment: a, problems: podProblems([obj]) },
        seen: { object: obj, pods: [obj] },
      };
    }
    if (key === '/PersistentVolumeClaim') {
      const storageClass = await storageClassOf(obj);
      if (storageClass) a = assess(obj, { storageClass }, ruleOpts);
      return { observation: { id: t.id, assessment: a, problems: [] }, seen: { object: obj, pods: [] } };
    }
    if (!WORKLOAD_KINDS.has(key)) {
      return { observation: { id: t.id, assessment: a, problems: [] }, seen: { object: obj, pods: [] } };
    }
    const spec = isPlainObject(obj.spec) ? obj.spec : {};
    const selector = selectorString(spec.selector);
    const related: Related = {};
    // Until the controller has seen the new spec its pods are the previous rollout's: not ours to judge.
    if (selector && side.pod && a.reason !== 'ObservedGeneration') {
      try {
        const [pods, replicaSets] = await Promise.all([
          listObjects(client, side.pod, ref.namespace, { labelSelector: selector }),
          key === 'apps/Deployment' && side.replicaSet
            ? listObjects(client, side.replicaSet, ref.namespace, { labelSelector: selector })
            : Promise.resolve([]),
        ]);
        related.replicaSets = replicaSets;
        related.pods = countedPods(obj, pods, replicaSets);
      } catch (err) {
        // Without list rights on pods the wait still works; it only cannot fail fast or name pods.
        if (!costsOnlyDetail(err)) throw describeApiError(err, `listing pods of ${t.id}`);
      }
    }
    a = assess(obj, related, ruleOpts);
    const pods = related.pods ?? [];
    const s: Seen = { object: obj, pods };
    const rs = key === 'apps/Deployment' ? newestReplicaSet(obj, related.replicaSets ?? []) : undefined;
    if (rs) s.replicaSet = rs;
    return { observation: { id: t.id, assessment: a, problems: podProblems(pods) }, seen: s };
  };

  const snapshot = (): HealthSnapshot => {
    const objects = [...state.objects.values()];
    return {
      poll: polls,
      elapsedMs: clock.now() - start,
      ready: objects.filter((o) => o.state === 'ready').length,
      total: objects.length,
      objects,
    };
  };

  let failed: ResourceId[] = [];
  const result = await poll<true>(
    async (n) => {
      polls = n;
      const pending = unique.filter((t) => state.objects.get(t.id)?.state !== 'ready');
      const observations = await observeAll(pending);
      const t = clock.now();
      const decision = nextState(state, observations, t, decide);
      state = decision.state;
      failed = decision.failed;
      opts.onProgress?.(snapshot());
      if (decision.done) return { done: true, value: true };
      if (decision.graceEndsAt === undefined) return { done: false };
      // A pending pod problem is re-checked as its grace period ends, not up to a poll interval later.
      const retryInMs = Math.max(0, Math.min(backoffDelay(n, backoff), decision.graceEndsAt - t));
      return { done: false, retryInMs };
    },
    {
      timeoutMs,
      // Extra polls at grace-period ends are few; twice the plain count leaves room for them.
      maxAttempts: 2 * Math.ceil(timeoutMs / pollMs) + 10,
      backoff,
      clock,
      signal: opts.signal,
    },
  );
  const aborted = !result.ok && result.why === 'aborted';
  const timedOut = !result.ok && !aborted;

  const objects = [...state.objects.values()];
  const toDiagnose =
    failed.length > 0
      ? objects.filter((o) => o.state === 'failed')
      : objects.filter((o) => o.state !== 'ready');
  const failures =
    failed.length > 0 || timedOut
      ? await diagnoseAll(client, side, toDiagnose, seen, opts.maxDiagnosed ?? DEFAULTS.maxDiagnosed)
      : [];
  return {
    ok: !aborted && !timedOut && failed.length === 0,
    timedOut,
    aborted,
    durationMs: clock.now() - start,
    polls,
    requests: client.stats.total - requestsBefore,
    objects,
    failures,
  };
}

async function diagnoseAll(
  client: KubeClient,
  side: SideTypes,
  objects: ObjectHealth[],
  seen: Map<ResourceId, Seen>,
  maxDiagnosed: number,
): Promise<Diagnosis[]> {
  return Promise.all(
    objects.map(async (health, i) => {
      const ref: ResourceRef = parseId(health.id);
      const s = seen.get(health.id) ?? { pods: [] };
      const ctx: DiagnosisContext = { ref, pods: s.pods };
      if (s.object) ctx.object = s.object;
      if (s.replicaSet) ctx.replicaSet = s.replicaSet;
      const { diagnosis, sources } = planDiagnosis(health, ctx);
      // Bounded: a timeout with hundreds of stuck objects must not turn into hundreds of event LISTs.
      if (i >= maxDiagnosed || !side.event) return diagnosis;
      for (const source of sources) {
        const events = summarizeEvents(
          await listEvents(client, side.event, source),
          source.uid,
          EVENTS_PER_DIAGNOSIS,
        );
        if (events.length > 0) {
          diagnosis.events = events;
          diagnosis.eventsFor = `${source.kind} ${source.name}`;
          break;
        }
      }
      return diagnosis;
    }),
  );
}

/** Events about one object as the server returns them; empty when they cannot be read. */
async function listEvents(
  client: KubeClient,
  eventType: ResourceType,
  source: EventSource,
): Promise<unknown[]> {
  const prefix = eventType.group === '' ? 'involvedObject' : 'regarding';
  const selector = [`${prefix}.kind=${source.kind}`, `${prefix}.name=${source.name}`];
  // Events about cluster-scoped objects are stored in `default` with an empty involved namespace.
  if (source.namespace) selector.push(`${prefix}.namespace=${source.namespace}`);
  try {
    const res = await client.request<{ items?: unknown[] }>({
      method: 'GET',
      path: resourcePath(eventType, source.namespace || 'default'),
      query: { fieldSelector: selector.join(','), limit: 500 },
      verb: 'list',
    });
    return res.body.items ?? [];
  } catch (err) {
    // Events only add detail; a diagnosis without them is still a diagnosis, and a vanished Job
    // without them is not found, as it would be without this evidence.
    if (costsOnlyDetail(err)) return [];
    throw describeApiError(err, `listing events of ${source.kind} ${source.namespace}/${source.name}`);
  }
}
