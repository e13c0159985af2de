/**
 * Reading the memory graph at a moment: the deploy context of a service in a namespace, the strategy
 * `--strategy auto` is advised from it, and the strongest risks across services. Every confidence is
 * decayed to the `now` passed in (never a clock read), and every piece of advice says why in words a
 * person can act on.
 */
import { MEMORY } from './constants.js';
import { isKeptAt, nodeId, timeOf, weightAt } from './graph.js';
import type {
  DeployContext,
  FailurePattern,
  GraphEdge,
  MemoryErrorKind,
  MemoryGraph,
  Risk,
  StrategyAdvice,
} from './types.js';

/** What to look at when a kind of failure recurs. */
const WHAT_TO_CHECK: Record<MemoryErrorKind, string> = {
  ImagePullBackOff: 'check the image tag and registry credentials',
  CrashLoopBackOff: "check the container's logs and the configuration it starts with",
  ProgressDeadlineExceeded: 'check readiness probes, resource requests and whether the nodes have room',
  JobFailed: "check the Job's pod logs and its backoff limit",
  HealthTimeout: 'check readiness, or raise the health timeout if the rollout is just slow',
  ApplyConflict: 'check which field manager owns the conflicting fields',
  ImmutableField: 'the change touches an immutable field: the object has to be re-created',
  Forbidden: "check the deploy credentials' RBAC permissions",
  ApplyRejected: 'the cluster rejected the manifests: check them with `nopea diff`',
  RolloutFailed: "check the rollout's analysis and the new version's health",
  RolledBack: 'check why the last rollout was rolled back before promoting again',
  Other: 'read the last failed deploy with `nopea history`',
};

const ERROR_PREFIX = nodeId('error', '');
const SERVICE_PREFIX = nodeId('service', '');

/** Plain code-unit order: the same on every machine, unlike a locale's. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `just now`, `5 minutes ago`, `2 hours ago`, `3 days ago`: how long ago, from milliseconds. */
export function ageText(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${plural(minutes, 'minute')} ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${plural(hours, 'hour')} ago`;
  return `${plural(Math.floor(hours / 24), 'day')} ago`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function timesText(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

/** A confidence in two decimals, or more where two would make it look equal to the threshold it is compared with. */
function confidenceText(value: number, threshold: number): string {
  for (let digits = 2; digits < 6; digits++) {
    const text = value.toFixed(digits);
    if (value === threshold || text !== threshold.toFixed(digits)) return text;
  }
  return value.toFixed(6);
}

/** A `breaks` relation as a pattern at `nowMs`; none when it is not one or has decayed below the floor. */
function riskOf(edge: GraphEdge, nowMs: number): Risk | undefined {
  if (edge.relation !== 'breaks' || edge.scope === undefined || !isKeptAt(edge, nowMs)) return undefined;
  return {
    service: edge.to.slice(SERVICE_PREFIX.length),
    errorKind: edge.from.slice(ERROR_PREFIX.length) as MemoryErrorKind,
    namespace: edge.scope,
    confidence: weightAt(edge, nowMs),
    observations: edge.count,
    // Only failures are evidence of a `breaks`, newest first.
    lastSeen: edge.evidence[0]?.at ?? edge.updatedAt,
  };
}

/** Strongest first; equal confidences newest first, then by kind and namespace, so the order is stable. */
function byStrength(a: Risk | FailurePattern, b: Risk | FailurePattern): number {
  return (
    b.confidence - a.confidence ||
    timeOf(b.lastSeen) - timeOf(a.lastSeen) ||
    compareText(a.errorKind, b.errorKind) ||
    compareText(a.namespace, b.namespace)
  );
}

/** What a pattern counts for the namespace asked about: full weight there, reduced elsewhere. */
function countingConfidence(p: FailurePattern): number {
  return p.sameNamespace ? p.confidence : p.confidence * MEMORY.otherNamespaceWeight;
}

/** `ImagePullBackOff broke web in staging 3 times, last seen 2 hours ago`. */
function brokeText(p: FailurePattern, service: string, nowMs: number): string {
  const ago = ageText(nowMs - timeOf(p.lastSeen));
  return `${p.errorKind} broke ${service} in ${p.namespace} ${timesText(p.observations)}, last seen ${ago}`;
}

function recommendations(ctx: Omit<DeployContext, 'recommendations'>, threshold: number): string[] {
  const { service, namespace } = ctx;
  const nowMs = timeOf(ctx.asOf);
  if (!ctx.known) {
    return [
      `nopea remembers no deploy of ${service} in ${namespace} yet, so there is nothing to learn from: auto deploys it directly`,
    ];
  }
  const out: string[] = [];
  for (const p of ctx.failurePatterns) {
    const broke = brokeText(p, service, nowMs);
    const check = WHAT_TO_CHECK[p.errorKind];
    const confidence = confidenceText(p.confidence, threshold);
    if (!p.sameNamespace) {
      const counts = confidenceText(countingConfidence(p), threshold);
      out.push(
        `${broke} (confidence ${confidence} there, counting ${counts} in ${namespace}): the same cause may break ${namespace}; ${check}`,
      );
    } else if (p.confidence > threshold) {
      out.push(`${broke} (confidence ${confidence}): deploy with canary; ${check}`);
    } else {
      out.push(
        `${broke} (confidence ${confidence}, not above the canary threshold ${threshold.toFixed(2)}): a direct deploy is advised; if it recurs, ${check}`,
      );
    }
  }
  const outcomes = ctx.recentOutcomes;
  if (ctx.successRate !== undefined && outcomes.length >= 2 && ctx.successRate < MEMORY.lowSuccessRate) {
    const succeeded = outcomes.filter((o) => o === 'succeeded').length;
    out.push(
      `only ${succeeded} of the last ${outcomes.length} deploys of ${service} in ${namespace} succeeded: read \`nopea history ${service}\` before deploying again`,
    );
  }
  const partner = ctx.deployedWith[0];
  if (partner) {
    out.push(
      `${service} was deployed at the same time as ${partner.service} ${timesText(partner.count)} (weight ${partner.weight.toFixed(2)}): when ${service} fails, check whether ${partner.service}'s deploy changed something it depends on`,
    );
  }
  return out;
}

/**
 * What memory knows about a service in a namespace at `now`. Failure patterns of this namespace come
 * first, strongest first; those of the same service in other namespaces follow, marked
 * `sameNamespace: false` with their own confidence (they count at `MEMORY.otherNamespaceWeight`).
 * `threshold` is the canary threshold the recommendations speak of.
 */
export function deployContext(
  graph: MemoryGraph,
  service: string,
  namespace: string,
  now: string,
  threshold: number = MEMORY.canaryThreshold,
): DeployContext {
  const nowMs = timeOf(now);
  const serviceId = nodeId('service', service);
  const patterns: FailurePattern[] = [];
  const deployedWith: DeployContext['deployedWith'] = [];
  let deployedHere = false;
  for (const edge of graph.edges) {
    if (edge.relation === 'deployed_to') {
      deployedHere ||= edge.from === serviceId && edge.to === nodeId('namespace', namespace);
    } else if (edge.relation === 'deployed_together') {
      const other = edge.from === serviceId ? edge.to : edge.to === serviceId ? edge.from : undefined;
      if (other === undefined || !isKeptAt(edge, nowMs)) continue;
      deployedWith.push({
        service: other.slice(SERVICE_PREFIX.length),
        weight: weightAt(edge, nowMs),
        count: edge.count,
      });
    } else if (edge.to === serviceId) {
      const risk = riskOf(edge, nowMs);
      if (!risk) continue;
      const { service: _service, ...pattern } = risk;
      patterns.push({ ...pattern, sameNamespace: pattern.namespace === namespace });
    }
  }
  const failurePatterns = [
    ...patterns.filter((p) => p.sameNamespace).sort(byStrength),
    ...patterns.filter((p) => !p.sameNamespace).sort(byStrength),
  ];
  const recent = graph.recent
    .filter((r) => r.service === service && r.namespace === namespace)
    .slice(0, MEMORY.recentOutcomes);
  const context: Omit<DeployContext, 'recommendations'> = {
    service,
    namespace,
    asOf: now,
    known: deployedHere || recent.length > 0 || failurePatterns.some((p) => p.sameNamespace),
    failurePatterns,
    recentOutcomes: recent.map((r) => r.outcome),
    ...(recent.length > 0 && {
      successRate: recent.filter((r) => r.outcome === 'succeeded').length / recent.length,
      meanDurationMs: recent.reduce((sum, r) => sum + r.durationMs, 0) / recent.length,
    }),
    deployedWith: deployedWith.sort((a, b) => b.weight - a.weight || compareText(a.service, b.service)),
  };
  return { ...context, recommendations: recommendations(context, threshold) };
}

/** Why one pattern counts what it does against the threshold, with when it was last seen. */
function reasonOf(p: FailurePattern, ctx: DeployContext, threshold: number): string {
  const nowMs = timeOf(ctx.asOf);
  const counting = countingConfidence(p);
  const versus = `${counting > threshold ? 'above' : 'not above'} the canary threshold ${threshold.toFixed(2)}`;
  const confidence = confidenceText(p.confidence, threshold);
  const weighed = p.sameNamespace
    ? `confidence ${confidence} is ${versus}`
    : `confidence ${confidence} there counts ${confidenceText(counting, threshold)} in ${ctx.namespace} (other namespaces count at ${MEMORY.otherNamespaceWeight}), ${versus}`;
  return `${brokeText(p, ctx.service, nowMs)} (${p.lastSeen}): ${weighed}`;
}

/**
 * What `--strategy auto` should do: `canary` when the strongest pattern that counts for this
 * namespace (its own at full weight, other namespaces' at `MEMORY.otherNamespaceWeight`) is above
 * `threshold`, with a reason per pattern above it; `direct` otherwise, saying so and naming the
 * strongest pattern there is.
 */
export function adviseStrategy(
  context: DeployContext,
  threshold: number = MEMORY.canaryThreshold,
): StrategyAdvice {
  const counted = context.failurePatterns
    .map((p) => ({ p, counting: countingConfidence(p) }))
    .sort((a, b) => b.counting - a.counting || byStrength(a.p, b.p));
  const confidence = counted[0]?.counting ?? 0;
  const above = counted.filter((c) => c.counting > threshold);
  if (above.length > 0) {
    return {
      strategy: 'canary',
      confidence,
      reasons: above.map((c) => reasonOf(c.p, context, threshold)),
    };
  }
  const reasons = [
    `no failure pattern above ${threshold.toFixed(2)} for ${context.service} in ${context.namespace}`,
  ];
  if (counted[0]) reasons.push(`the strongest: ${reasonOf(counted[0].p, context, threshold)}`);
  return { strategy: 'direct', confidence, reasons };
}

/** The strongest failure patterns across every service and namespace at `now` (`nopea memory`). */
export function topRisks(graph: MemoryGraph, now: string, limit: number = MEMORY.topRisks): Risk[] {
  const nowMs = timeOf(now);
  const risks: Risk[] = [];
  for (const edge of graph.edges) {
    const risk = riskOf(edge, nowMs);
    if (risk) risks.push(risk);
  }
  return risks.sort((a, b) => byStrength(a, b) || compareText(a.service, b.service)).slice(0, limit);
}
