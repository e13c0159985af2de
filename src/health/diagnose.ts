/**
 * Failure diagnostics, the pure part: which pod and container explain a failed or stuck object,
 * whose events to show, how events are summarised, and the human text. The wait loop fetches the
 * events; everything here is data in, data out, so the wording is unit-tested.
 */
import { isPlainObject, type KubeObject, type ResourceId, type ResourceRef } from '../resources/object.js';
import type { ObjectHealth } from './decide.js';
import type { HealthState } from './assessment.js';
import { notReadyContainer, podProblems, type PodFailure } from './pods.js';
import { eventSubject } from './status.js';

/** One Kubernetes Event, reduced to what a person reads. */
export interface EventSummary {
  type: string;
  reason: string;
  message: string;
  count: number;
  /** When it last happened (ISO 8601), as the server reported it. */
  lastTimestamp?: string;
}

/** Why one object failed or did not become ready, with the pod and container to look at. */
export interface Diagnosis {
  id: ResourceId;
  state: HealthState;
  reason: string;
  message: string;
  pod?: string;
  container?: string;
  initContainer?: boolean;
  restartCount?: number;
  /** How a crashing container last exited, e.g. `Error, exit code 1`. */
  lastExit?: string;
  /** The last few events (at most 5), newest last. */
  events: EventSummary[];
  /** Whose events they are, e.g. `Pod api-7d9c-xk2` or `ReplicaSet api-7d9c`. */
  eventsFor?: string;
  /** Problems that did not fail the wait but may explain it (e.g. an Unschedulable pod). */
  warnings: string[];
}

/** An object whose events may explain a diagnosis; tried in order until one has events. */
export interface EventSource {
  kind: string;
  /** Empty for cluster-scoped objects (their events live in namespace `default`). */
  namespace: string;
  name: string;
  uid?: string;
}

/** Events shown per diagnosis. */
export const EVENTS_PER_DIAGNOSIS = 5;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function eventTime(e: Record<string, unknown>): string | undefined {
  const series = isPlainObject(e.series) ? e.series : {};
  const meta = isPlainObject(e.metadata) ? e.metadata : {};
  return (
    str(e.lastTimestamp) ??
    str(series.lastObservedTime) ??
    str(e.deprecatedLastTimestamp) ??
    str(e.eventTime) ??
    str(e.firstTimestamp) ??
    str(meta.creationTimestamp)
  );
}

/**
 * Events (core v1 or events.k8s.io/v1 shape) about the object with `uid`, oldest first, the last
 * `limit` of them. Events of an earlier object with the same name (a recreated pod) are left out.
 */
export function summarizeEvents(
  items: unknown[],
  uid?: string,
  limit = EVENTS_PER_DIAGNOSIS,
): EventSummary[] {
  const out: { summary: EventSummary; second: number; rv: number }[] = [];
  for (const e of items) {
    if (!isPlainObject(e)) continue;
    const about = eventSubject(e);
    if (uid && str(about.uid) && about.uid !== uid) continue;
    const series = isPlainObject(e.series) ? e.series : {};
    const meta = isPlainObject(e.metadata) ? e.metadata : {};
    const count =
      (typeof e.count === 'number' ? e.count : undefined) ??
      (typeof series.count === 'number' ? series.count : undefined) ??
      (typeof e.deprecatedCount === 'number' ? e.deprecatedCount : undefined) ??
      1;
    const when = eventTime(e);
    const summary: EventSummary = {
      type: str(e.type) ?? 'Normal',
      reason: str(e.reason) ?? '',
      message: (str(e.message) ?? str(e.note) ?? '').trim(),
      count,
    };
    if (when) summary.lastTimestamp = when;
    const ms = when ? Date.parse(when) : NaN;
    const rv = Number(str(meta.resourceVersion) ?? NaN);
    out.push({
      summary,
      second: Number.isFinite(ms) ? Math.floor(ms / 1000) : 0,
      rv: Number.isFinite(rv) ? rv : 0,
    });
  }
  // `lastTimestamp` has whole seconds while `eventTime` has microseconds, so times are compared to
  // the second; within one second the write order (resourceVersion) decides.
  out.sort((a, b) => a.second - b.second || a.rv - b.rv);
  return out.slice(-limit).map((x) => x.summary);
}

/** What the loop last knew about an object, for diagnosing it. */
export interface DiagnosisContext {
  ref: ResourceRef;
  /** The live object, when it exists. */
  object?: KubeObject;
  /** The pods that count for it (for a Deployment, those of the newest ReplicaSet). */
  pods: KubeObject[];
  /** A Deployment's newest ReplicaSet. */
  replicaSet?: KubeObject;
}

function sourceOf(obj: KubeObject, fallbackNamespace: string): EventSource {
  const s: EventSource = {
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? fallbackNamespace,
    name: obj.metadata.name ?? '',
  };
  if (typeof obj.metadata.uid === 'string') s.uid = obj.metadata.uid;
  return s;
}

function fromFailure(d: Diagnosis, f: PodFailure): void {
  d.reason = f.reason;
  d.message = f.message;
  d.pod = f.pod;
  if (f.container) d.container = f.container;
  if (f.initContainer) d.initContainer = true;
  if (f.restartCount > 0) d.restartCount = f.restartCount;
  if (f.lastExit) d.lastExit = f.lastExit;
}

/**
 * Picks the explanation of a failed or not-ready object: its pod problem, else a pod no node fits or
 * that failed, else a pod that is not ready, else the object's own status; and the objects whose
 * events to show, best first (the pod, then the ReplicaSet, then the object).
 */
export function planDiagnosis(
  health: ObjectHealth,
  ctx: DiagnosisContext,
): { diagnosis: Diagnosis; sources: EventSource[] } {
  const d: Diagnosis = {
    id: health.id,
    state: health.state,
    reason: health.reason ?? (health.state === 'failed' ? 'Failed' : 'NotReady'),
    message: health.message,
    events: [],
    warnings: health.warnings ?? [],
  };
  const ns = ctx.ref.namespace;
  let pod: KubeObject | undefined;
  let podNote: string | undefined;
  const problems = podProblems(ctx.pods);
  const other = problems.find((p) => p.scope === 'scheduling') ?? problems.find((p) => p.scope === 'pod');
  if (health.failure) {
    const f = health.failure;
    fromFailure(d, f);
    pod = ctx.pods.find((p) => p.metadata.uid === f.uid) ?? ctx.pods.find((p) => p.metadata.name === f.pod);
  } else {
    // No pod problem decided the outcome: find the pod that best explains it.
    const probe: Diagnosis = { ...d, warnings: [] };
    if (other) {
      fromFailure(probe, other);
      pod = ctx.pods.find((p) => p.metadata.uid === other.uid);
    } else {
      for (const p of ctx.pods) {
        const c = notReadyContainer(p);
        if (!c) continue;
        pod = p;
        probe.pod = p.metadata.name ?? '';
        probe.container = c.container;
        if (c.initContainer) probe.initContainer = true;
        probe.reason = c.reason;
        probe.message = c.message;
        break;
      }
    }
    if (probe.pod && health.state === 'failed') {
      // The object's own failure (ProgressDeadlineExceeded, BackoffLimitExceeded) stays the headline.
      const container = probe.container
        ? ` ${probe.initContainer ? 'init container' : 'container'} ${probe.container}`
        : '';
      podNote = `pod ${probe.pod}${container}: ${probe.reason}${probe.message ? `: ${probe.message}` : ''}`;
    } else if (probe.pod) {
      // The pod's reason is the headline; the object's status (`1/2 replicas available`) stays visible.
      Object.assign(d, probe, { warnings: [`${ctx.ref.kind} status: ${health.message}`, ...d.warnings] });
    }
  }
  if (podNote && !d.warnings.includes(podNote)) d.warnings = [podNote, ...d.warnings];

  const self: EventSource = ctx.object
    ? sourceOf(ctx.object, ns)
    : { kind: ctx.ref.kind, namespace: ns, name: ctx.ref.name };
  const podSources: EventSource[] = [];
  if (pod) podSources.push(sourceOf(pod, ns));
  else if (d.pod) podSources.push({ kind: 'Pod', namespace: ns, name: d.pod });
  if (ctx.replicaSet) podSources.push(sourceOf(ctx.replicaSet, ns));
  // An object that failed by its own status explains itself best (a Job's BackoffLimitExceeded event).
  const ordered =
    health.state === 'failed' && !health.failure ? [self, ...podSources] : [...podSources, self];
  const sources = ordered.filter(
    (s, i) => ordered.findIndex((o) => o.kind === s.kind && o.name === s.name) === i,
  );
  return { diagnosis: d, sources };
}

/** Multi-line human text of a diagnosis: the headline, details, warnings and indented events. */
export function formatDiagnosis(d: Diagnosis): string {
  const where = d.pod
    ? ` pod ${d.pod}${d.container ? ` ${d.initContainer ? 'init container' : 'container'} ${d.container}` : ''}:`
    : '';
  const lines = [`${d.id}:${where} ${d.reason}${d.message ? `: ${d.message}` : ''}`];
  const details: string[] = [];
  if (d.restartCount !== undefined) details.push(`restarts: ${d.restartCount}`);
  if (d.lastExit) details.push(`last exit: ${d.lastExit}`);
  if (details.length > 0) lines.push(`  ${details.join(', ')}`);
  for (const w of d.warnings) lines.push(`  ${w}`);
  if (d.events.length > 0) {
    lines.push(`  events${d.eventsFor ? ` of ${d.eventsFor}` : ''}:`);
    for (const e of d.events) {
      const when = e.lastTimestamp ? `${e.lastTimestamp} ` : '';
      const times = e.count > 1 ? ` (x${e.count})` : '';
      lines.push(`    ${when}${e.type} ${e.reason}: ${e.message}${times}`);
    }
  }
  return lines.join('\n');
}
