/**
 * Readiness per kind, as data: a table of rules keyed by `group/Kind`, each a pure function from the
 * live object (and, for workloads, its pods and ReplicaSets) to ready / progressing / failed. No I/O
 * happens here; the wait loop (wait.ts) fetches, this file judges.
 *
 * Decisions, where Kubernetes leaves a choice:
 * - A paused Deployment is ready once its spec is observed: nothing rolls out until someone resumes
 *   it, so waiting would only burn the timeout; the message says it is paused.
 * - A suspended Job is ready (reason `Suspended`): it runs only when something (a person, Kueue)
 *   resumes it, which this deploy cannot wait for.
 * - A Pending PVC is progressing, unless its StorageClass binds on first consumer
 *   (`volumeBindingMode: WaitForFirstConsumer`, passed in as `related.storageClass`): then it is ready,
 *   because it binds only once a pod uses it and those pods are waited for themselves.
 * - A LoadBalancer Service is ready when applied unless `waitForLoadBalancer` is set; clusters without
 *   a cloud controller never assign an address.
 * - Unknown kinds follow the kstatus conventions: `Ready`/`Available` conditions, `Stalled` True fails,
 *   `Reconciling` True is progressing, and a stale `observedGeneration` is progressing.
 */
import { groupOf, isPlainObject, type KubeObject } from '../resources/object.js';

/** Ready: done; progressing: keep waiting; failed: stop the wait now. */
export type HealthState = 'ready' | 'progressing' | 'failed';

/** A judgement of one object: its state, a machine reason when there is one, and a short human status. */
export interface Assessment {
  state: HealthState;
  reason?: string;
  message: string;
}

/** Objects a rule may look at besides the object itself. */
export interface Related {
  /** Pods of the workload (for a Deployment, those of its newest ReplicaSet). */
  pods?: KubeObject[];
  /** ReplicaSets a Deployment owns. */
  replicaSets?: KubeObject[];
  /** StorageClass of a PersistentVolumeClaim, when known. */
  storageClass?: KubeObject;
}

/** Switches that change what "ready" means. */
export interface RuleOptions {
  /** Wait for a LoadBalancer Service to get an ingress address (off by default). */
  waitForLoadBalancer?: boolean;
}

/** One readiness rule of the table. */
export interface ReadinessRule {
  /** API group, empty for core. */
  group: string;
  kind: string;
  /** What ready means for the kind, in one line (docs and `nopea explain`). */
  ready: string;
  /** What fails the wait at once, when anything does. */
  fails?: string;
  assess(obj: KubeObject, related: Related, opts: RuleOptions): Assessment;
}

/** One entry of `status.conditions`. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

// ---------------------------------------------------------------------------------------------
// Reading status fields defensively: live objects are untyped JSON.

function field(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `status.<name>` as a number, 0 when absent (controllers omit zero counts). */
function count(obj: KubeObject, name: string): number {
  return num(field(obj, 'status', name)) ?? 0;
}

/** The conditions of an object's status. */
export function conditionsOf(obj: KubeObject): Condition[] {
  const list = field(obj, 'status', 'conditions');
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is Condition => isPlainObject(c) && typeof c.type === 'string' && typeof c.status === 'string',
  );
}

/** The condition of a type, if the object has it. */
export function conditionOf(obj: KubeObject, type: string): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

function conditionText(c: Condition): string {
  return c.message ? `${c.reason ?? c.type}: ${c.message}` : (c.reason ?? `${c.type}=${c.status}`);
}

/** `status.observedGeneration` lags `metadata.generation`: the controller has not seen the spec yet. */
function staleGeneration(obj: KubeObject): Assessment | undefined {
  const generation = num(obj.metadata.generation);
  const observed = num(field(obj, 'status', 'observedGeneration'));
  if (generation === undefined) return undefined;
  if (observed === undefined || observed < generation) {
    return {
      state: 'progressing',
      reason: 'ObservedGeneration',
      message:
        observed === undefined
          ? `waiting for observedGeneration ${generation} (not reported yet)`
          : `waiting for observedGeneration ${generation} (saw ${observed})`,
    };
  }
  return undefined;
}

function ready(message: string, reason?: string): Assessment {
  return reason ? { state: 'ready', reason, message } : { state: 'ready', message };
}

function progressing(message: string, reason?: string): Assessment {
  return reason ? { state: 'progressing', reason, message } : { state: 'progressing', message };
}

function failed(reason: string, message: string): Assessment {
  return { state: 'failed', reason, message };
}

function desiredReplicas(obj: KubeObject): number {
  return num(field(obj, 'spec', 'replicas')) ?? 1;
}

/** `; ReplicaFailure: exceeded quota` when a controller reports it cannot create pods (slow, not fatal). */
function replicaFailureNote(obj: KubeObject): string {
  const c = conditionOf(obj, 'ReplicaFailure');
  return c?.status === 'True' ? `; ${conditionText(c)}` : '';
}

// ---------------------------------------------------------------------------------------------
// Rules per kind

/** Deployment: what `kubectl rollout status` checks, plus ProgressDeadlineExceeded as a failure. */
function deployment(obj: KubeObject, related: Related): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const progressingCond = conditionOf(obj, 'Progressing');
  if (progressingCond?.reason === 'ProgressDeadlineExceeded') {
    return failed('ProgressDeadlineExceeded', progressingCond.message ?? 'progress deadline exceeded');
  }
  if (field(obj, 'spec', 'paused') === true) return ready('paused; rollout not waited for', 'Paused');
  const want = desiredReplicas(obj);
  const updated = count(obj, 'updatedReplicas');
  const total = count(obj, 'replicas');
  const available = count(obj, 'availableReplicas');
  const note = replicaFailureNote(obj);
  if (updated < want)
    return progressing(`${updated}/${want} replicas updated${newReplicaSetNote(obj, related)}${note}`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination${note}`);
  if (available < want) return progressing(`${available}/${want} replicas available${note}`);
  return ready(`${available}/${want} replicas available`);
}

/** `, new ReplicaSet api-7d9c: 1/2 ready` when the newest ReplicaSet is known. */
function newReplicaSetNote(dep: KubeObject, related: Related): string {
  const rs = newestReplicaSet(dep, related.replicaSets ?? []);
  if (!rs) return '';
  return ` (ReplicaSet ${rs.metadata.name}: ${count(rs, 'readyReplicas')}/${desiredReplicas(rs)} ready)`;
}

/**
 * The ReplicaSet of a Deployment's current revision: owned by it and carrying the same
 * `deployment.kubernetes.io/revision` annotation (the controller stamps both).
 */
export function newestReplicaSet(dep: KubeObject, replicaSets: KubeObject[]): KubeObject | undefined {
  const revision = dep.metadata.annotations?.['deployment.kubernetes.io/revision'];
  if (!revision) return undefined;
  const uid = str(dep.metadata.uid);
  return replicaSets.find(
    (rs) =>
      rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision &&
      (!uid || controllerUid(rs) === uid),
  );
}

/** uid of the controlling owner (`ownerReferences[].controller: true`). */
export function controllerUid(obj: KubeObject): string | undefined {
  const refs = obj.metadata.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  for (const r of refs)
    if (isPlainObject(r) && r.controller === true && typeof r.uid === 'string') return r.uid;
  return undefined;
}

/** StatefulSet: `kubectl rollout status` semantics, including partitions; OnDelete is ready when observed. */
function statefulSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const strategy = str(field(obj, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy === 'OnDelete')
    return ready('OnDelete update strategy: pods update when deleted; not waited for', 'OnDelete');
  const want = desiredReplicas(obj);
  const readyCount = count(obj, 'readyReplicas');
  const updated = count(obj, 'updatedReplicas');
  if (readyCount < want) return progressing(`${readyCount}/${want} replicas ready`);
  const partition = num(field(obj, 'spec', 'updateStrategy', 'rollingUpdate', 'partition')) ?? 0;
  if (partition > 0) {
    const target = Math.max(0, want - partition);
    if (updated < target) return progressing(`partitioned rollout: ${updated}/${target} replicas updated`);
    return ready(`partitioned rollout done: ${updated}/${target} replicas updated`);
  }
  const current = str(field(obj, 'status', 'currentRevision'));
  const update = str(field(obj, 'status', 'updateRevision'));
  if (update && current !== update) {
    return progressing(`rolling update to ${update}: ${updated}/${want} replicas updated`);
  }
  return ready(`${readyCount}/${want} replicas ready`);
}

/** DaemonSet: every scheduled node runs an updated, available pod; OnDelete is ready when observed. */
function daemonSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const strategy = str(field(obj, 'spec', 'updateStrategy', 'type')) ?? 'RollingUpdate';
  if (strategy === 'OnDelete')
    return ready('OnDelete update strategy: pods update when deleted; not waited for', 'OnDelete');
  const desired = count(obj, 'desiredNumberScheduled');
  const updated = count(obj, 'updatedNumberScheduled');
  const available = count(obj, 'numberAvailable');
  if (updated < desired) return progressing(`${updated}/${desired} nodes updated`);
  if (available < desired) return progressing(`${available}/${desired} pods available`);
  return ready(`${available}/${desired} pods available`);
}

/** ReplicaSet: ready and available replicas reach spec.replicas. */
function replicaSet(obj: KubeObject): Assessment {
  const stale = staleGeneration(obj);
  if (stale) return stale;
  const want = desiredReplicas(obj);
  const readyCount = count(obj, 'readyReplicas');
  const available = count(obj, 'availableReplicas');
  const note = replicaFailureNote(obj);
  if (readyCount < want) return progressing(`${readyCount}/${want} replicas ready${note}`);
  if (available < want) return progressing(`${available}/${want} replicas available${note}`);
  return ready(`${available}/${want} replicas available`);
}

/** Job: Complete is ready; Failed (or the FailureTarget that precedes it) fails at once; suspended is ready. */
function job(obj: KubeObject): Assessment {
  for (const type of ['Failed', 'FailureTarget']) {
    const c = conditionOf(obj, type);
    if (c?.status === 'True') return failed(c.reason ?? 'JobFailed', c.message ?? `job ${type}`);
  }
  const succeeded = count(obj, 'succeeded');
  if (conditionOf(obj, 'Complete')?.status === 'True') return ready(`completed (${succeeded} succeeded)`);
  // SuccessCriteriaMet comes first, while the Job's pods still finish and its counts catch up.
  if (conditionOf(obj, 'SuccessCriteriaMet')?.status === 'True') {
    return progressing('success criteria met; waiting for the Job to complete');
  }
  if (field(obj, 'spec', 'suspend') === true) return ready('suspended; not waited for', 'Suspended');
  const completions = num(field(obj, 'spec', 'completions'));
  const parts = [
    `${count(obj, 'active')} active`,
    `${succeeded}${completions !== undefined ? `/${completions}` : ''} succeeded`,
  ];
  const failedPods = count(obj, 'failed');
  if (failedPods > 0) parts.push(`${failedPods} failed`);
  return progressing(parts.join(', '));
}

/** Pod: Ready condition; Succeeded is ready, Failed (e.g. Evicted) fails. */
function pod(obj: KubeObject): Assessment {
  const phase = str(field(obj, 'status', 'phase')) ?? 'Pending';
  if (phase === 'Succeeded') return ready('succeeded');
  if (phase === 'Failed') {
    return failed(
      str(field(obj, 'status', 'reason')) ?? 'PodFailed',
      str(field(obj, 'status', 'message')) ?? 'pod failed',
    );
  }
  const readyCond = conditionOf(obj, 'Ready');
  if (readyCond?.status === 'True') return ready('ready');
  const waiting = firstWaiting(obj);
  if (waiting)
    return progressing(`${phase}: container ${waiting.container} ${waiting.reason}`, waiting.reason);
  return progressing(readyCond?.message ? `${phase}: ${readyCond.message}` : phase);
}

function firstWaiting(p: KubeObject): { container: string; reason: string } | undefined {
  for (const s of containerStatuses(p)) {
    const reason = str(field(s.status, 'state', 'waiting', 'reason'));
    if (reason && reason !== 'ContainerCreating' && reason !== 'PodInitializing')
      return { container: s.name, reason };
  }
  return undefined;
}

/** PersistentVolumeClaim: Bound is ready, Lost fails, Pending waits (see the file comment for WaitForFirstConsumer). */
function persistentVolumeClaim(obj: KubeObject, related: Related): Assessment {
  const phase = str(field(obj, 'status', 'phase')) ?? 'Pending';
  if (phase === 'Bound') return ready('Bound');
  if (phase === 'Lost') return failed('ClaimLost', 'the bound PersistentVolume no longer exists');
  const mode = str(field(related.storageClass, 'volumeBindingMode'));
  if (mode === 'WaitForFirstConsumer') {
    return ready(
      `Pending until a pod uses it (StorageClass ${related.storageClass?.metadata.name} binds on first consumer)`,
      'WaitForFirstConsumer',
    );
  }
  return progressing(`${phase}: waiting for a volume to be bound`);
}

/** CustomResourceDefinition: Established; NamesAccepted False fails (the names clash with another CRD). */
function customResourceDefinition(obj: KubeObject): Assessment {
  const names = conditionOf(obj, 'NamesAccepted');
  if (names?.status === 'False')
    return failed(names.reason ?? 'NamesNotAccepted', names.message ?? 'names not accepted');
  const established = conditionOf(obj, 'Established');
  if (established?.status === 'True') return ready('Established');
  return progressing(established ? `not Established: ${conditionText(established)}` : 'not Established yet');
}

/** Service: ready when applied; a LoadBalancer waits for an ingress address only when asked to. */
function service(obj: KubeObject, _related: Related, opts: RuleOptions): Assessment {
  if (field(obj, 'spec', 'type') !== 'LoadBalancer') return ready('applied');
  const ingress = field(obj, 'status', 'loadBalancer', 'ingress');
  const addresses = Array.isArray(ingress)
    ? ingress
        .map((i) => str(field(i, 'ip')) ?? str(field(i, 'hostname')))
        .filter((a): a is string => Boolean(a))
    : [];
  if (addresses.length > 0) return ready(`load balancer at ${addresses.join(', ')}`);
  if (!opts.waitForLoadBalancer)
    return ready('applied; load balancer address not waited for', 'LoadBalancerNotWaited');
  return progressing('waiting for a load balancer address');
}

/** APIService: Available (local services always are; remote ones once their backend answers discovery). */
function apiService(obj: KubeObject): Assessment {
  const available = conditionOf(obj, 'Available');
  if (available?.status === 'True') return ready('Available');
  return progressing(
    available ? `not Available: ${conditionText(available)}` : 'not Available yet',
    available?.reason,
  );
}

/** Any other kind: kstatus-style conditions when present, else ready once applied. */
export function genericAssess(obj: KubeObject): Assessment {
  const conditions = conditionsOf(obj);
  const generation = num(obj.metadata.generation);
  const stalled = conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled) return failed(stalled.reason ?? 'Stalled', stalled.message ?? 'stalled');
  if (field(obj, 'status', 'observedGeneration') !== undefined) {
    const stale = staleGeneration(obj);
    if (stale) return stale;
  }
  const reconciling = conditions.find((c) => c.type === 'Reconciling' && c.status === 'True');
  if (reconciling) return progressing(`reconciling: ${conditionText(reconciling)}`, reconciling.reason);
  const c = conditions.find((x) => x.type === 'Ready') ?? conditions.find((x) => x.type === 'Available');
  if (!c) return ready('applied');
  // A condition written for an older generation says nothing about the spec just applied.
  if (generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation) {
    return progressing(
      `${c.type} condition is for generation ${c.observedGeneration}, waiting for ${generation}`,
    );
  }
  if (c.status === 'True') return ready(c.type);
  return progressing(
    `${c.type}=${c.status}${c.reason || c.message ? `: ${conditionText(c)}` : ''}`,
    c.reason,
  );
}

/** The readiness table; tests and docs read it, `assess` dispatches on it. */
export const READINESS_RULES: readonly ReadinessRule[] = [
  {
    group: 'apps',
    kind: 'Deployment',
    ready:
      'spec observed; updated, total and available replicas equal spec.replicas (default 1); paused counts as ready',
    fails: 'Progressing condition with reason ProgressDeadlineExceeded',
    assess: deployment,
  },
  {
    group: 'apps',
    kind: 'StatefulSet',
    ready:
      'spec observed; ready replicas reach spec.replicas and currentRevision equals updateRevision (partitions honoured); OnDelete is ready when observed',
    assess: statefulSet,
  },
  {
    group: 'apps',
    kind: 'DaemonSet',
    ready:
      'spec observed; updatedNumberScheduled and numberAvailable reach desiredNumberScheduled; OnDelete is ready when observed',
    assess: daemonSet,
  },
  {
    group: 'apps',
    kind: 'ReplicaSet',
    ready: 'spec observed; ready and available replicas reach spec.replicas',
    assess: replicaSet,
  },
  {
    group: 'batch',
    kind: 'Job',
    ready: 'Complete (or SuccessCriteriaMet) condition True; a suspended Job counts as ready',
    fails: 'Failed or FailureTarget condition True (e.g. BackoffLimitExceeded, DeadlineExceeded)',
    assess: job,
  },
  {
    group: '',
    kind: 'Pod',
    ready: 'Ready condition True, or phase Succeeded',
    fails: 'phase Failed (e.g. Evicted)',
    assess: pod,
  },
  {
    group: '',
    kind: 'PersistentVolumeClaim',
    ready: 'phase Bound, or Pending with a WaitForFirstConsumer StorageClass',
    fails: 'phase Lost',
    assess: persistentVolumeClaim,
  },
  {
    group: 'apiextensions.k8s.io',
    kind: 'CustomResourceDefinition',
    ready: 'Established condition True',
    fails: 'NamesAccepted condition False',
    assess: customResourceDefinition,
  },
  {
    group: '',
    kind: 'Service',
    ready: 'applied; type LoadBalancer waits for an ingress address only with waitForLoadBalancer',
    assess: service,
  },
  {
    group: 'apiregistration.k8s.io',
    kind: 'APIService',
    ready: 'Available condition True',
    assess: apiService,
  },
];

const RULE_INDEX = new Map(READINESS_RULES.map((r) => [`${r.group}/${r.kind}`, r]));

/** The rule for a group and kind, or undefined when the generic rule applies. */
export function ruleFor(group: string, kind: string): ReadinessRule | undefined {
  return RULE_INDEX.get(`${group}/${kind}`);
}

/** Judges one live object; kinds without a rule get the generic condition rule. */
export function assess(obj: KubeObject, related: Related = {}, opts: RuleOptions = {}): Assessment {
  const rule = ruleFor(groupOf(obj.apiVersion ?? ''), obj.kind);
  return rule ? rule.assess(obj, related, opts) : genericAssess(obj);
}

/** Kinds whose pods the wait loop lists, to fail fast and to diagnose. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ReplicaSet',
  'batch/Job',
]);

// ---------------------------------------------------------------------------------------------
// Pod failures

/**
 * What is wrong with a pod:
 * - `container`: a container cannot start or keeps crashing (fails the wait after the grace period),
 * - `pod`: the pod as a whole failed (phase Failed, e.g. Evicted; controllers replace such pods),
 * - `scheduling`: no node fits (Unschedulable); slow to resolve, reported as a warning only.
 */
export type PodFailureScope = 'container' | 'pod' | 'scheduling';

/** One problem of one pod (and container, for container problems). */
export interface PodFailure {
  pod: string;
  namespace: string;
  /** Pod uid: a replacement pod with the same name (StatefulSet) is a different pod. */
  uid: string;
  container?: string;
  initContainer?: boolean;
  reason: string;
  message: string;
  restartCount: number;
  /** How the container last exited, e.g. `Error, exit code 1`, for crash loops. */
  lastExit?: string;
  scope: PodFailureScope;
}

/** Waiting reasons that mean a container cannot start or run. */
export const CONTAINER_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

interface NamedStatus {
  name: string;
  init: boolean;
  status: Record<string, unknown>;
}

function containerStatuses(p: KubeObject): NamedStatus[] {
  const out: NamedStatus[] = [];
  for (const [key, init] of [
    ['initContainerStatuses', true],
    ['containerStatuses', false],
  ] as const) {
    const list = field(p, 'status', key);
    if (!Array.isArray(list)) continue;
    for (const s of list)
      if (isPlainObject(s) && typeof s.name === 'string') out.push({ name: s.name, init, status: s });
  }
  return out;
}

function lastExitOf(status: Record<string, unknown>): string | undefined {
  const t = field(status, 'lastState', 'terminated');
  if (!isPlainObject(t)) return undefined;
  const reason = str(t.reason) ?? 'terminated';
  const code = num(t.exitCode);
  return code === undefined ? reason : `${reason}, exit code ${code}`;
}

/** Every container, pod and scheduling problem of the given pods, init containers included. */
export function podProblems(pods: KubeObject[]): PodFailure[] {
  const out: PodFailure[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue; // a terminating pod's troubles no longer matter
    const base = {
      pod: p.metadata.name ?? '',
      namespace: p.metadata.namespace ?? '',
      uid: str(p.metadata.uid) ?? p.metadata.name ?? '',
    };
    const phase = str(field(p, 'status', 'phase'));
    if (phase === 'Failed') {
      out.push({
        ...base,
        reason: str(field(p, 'status', 'reason')) ?? 'PodFailed',
        message: str(field(p, 'status', 'message')) ?? 'pod failed',
        restartCount: 0,
        scope: 'pod',
      });
      continue;
    }
    if (phase === 'Succeeded') continue;
    for (const s of containerStatuses(p)) {
      const waiting = field(s.status, 'state', 'waiting');
      const reason = str(field(waiting, 'reason'));
      if (!reason || !CONTAINER_FAILURE_REASONS.has(reason)) continue;
      const failure: PodFailure = {
        ...base,
        container: s.name,
        reason,
        message: str(field(waiting, 'message')) ?? '',
        restartCount: num(s.status.restartCount) ?? 0,
        scope: 'container',
      };
      if (s.init) failure.initContainer = true;
      const lastExit = lastExitOf(s.status);
      if (lastExit) failure.lastExit = lastExit;
      out.push(failure);
    }
    const scheduled = conditionOf(p, 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      out.push({
        ...base,
        reason: 'Unschedulable',
        message: scheduled.message ?? 'no node fits the pod',
        restartCount: 0,
        scope: 'scheduling',
      });
    }
  }
  return out;
}

/** Problems that can fail a wait: containers that cannot start or keep crashing, and failed pods. */
export function podFailures(pods: KubeObject[]): PodFailure[] {
  return podProblems(pods).filter((f) => f.scope !== 'scheduling');
}

/** Problems reported as warnings only: pods no node can take (Unschedulable). */
export function podWarnings(pods: KubeObject[]): PodFailure[] {
  return podProblems(pods).filter((f) => f.scope === 'scheduling');
}

/** The first not-ready container of a pod and why, for timeout diagnostics. */
export function notReadyContainer(
  p: KubeObject,
): { container: string; initContainer: boolean; reason: string; message: string } | undefined {
  for (const s of containerStatuses(p)) {
    if (s.status.ready === true) continue;
    // Init containers that ran to completion are not ready by design.
    if (s.init && num(field(s.status, 'state', 'terminated', 'exitCode')) === 0) continue;
    const waiting = field(s.status, 'state', 'waiting');
    const terminated = field(s.status, 'state', 'terminated');
    const reason =
      str(field(waiting, 'reason')) ??
      str(field(terminated, 'reason')) ??
      (field(s.status, 'state', 'running') ? 'NotReady' : 'Waiting');
    const readyCond = conditionOf(p, 'Ready');
    const message =
      str(field(waiting, 'message')) ??
      str(field(terminated, 'message')) ??
      (reason === 'NotReady'
        ? 'running but not ready (readiness probe not passing)'
        : (readyCond?.message ?? ''));
    return { container: s.name, initContainer: s.init, reason, message };
  }
  return undefined;
}
