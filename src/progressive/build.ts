/**
 * The Rollout builder, pure: for canary and blue-green the service's Deployment becomes a Kulta
 * `Rollout` (same replicas, selector and pod template, in the same namespace), and two Services
 * derived from the service's own Service select each side of it by Kulta's `rollouts.kulta.io/type`
 * label. The service's own Service is applied as it is: it keeps selecting the app labels, so it
 * serves both sides, and after Kulta's `Completed` (which leaves the stable side without pods) it is
 * never empty. What the builder returns is what the strategy applies instead of the service's
 * desired objects, and the Deployment it replaces, for the handover.
 */
import { inputError, type Problem } from '../errors.js';
import type { ResourceCatalog, ResourceType } from '../resources/catalog.js';
import type { DesiredObject } from '../resources/identify.js';
import { formatId, isPlainObject, type KubeObject } from '../resources/object.js';
import {
  checkCanarySteps,
  kultaDuration,
  stepSubject,
  type CanaryAnalysis,
  type CanaryStep,
} from '../strategy/steps.js';
import {
  locateTarget,
  ROLLOUT_API_VERSION,
  ROLLOUT_KIND,
  SIDES,
  sideName,
  type Side,
  type Target,
} from './target.js';

/** The pod label Kulta puts on each side's pods, which the derived Services select. */
export const SIDE_LABEL = 'rollouts.kulta.io/type';

/** Marks the objects nopea makes up (the Rollout, the derived Services) rather than reads from git. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** How the Rollout runs: canary with its steps (and optional analysis), or blue-green; either optionally on an HTTPRoute. */
export type ProgressiveStrategy =
  | {
      readonly name: 'canary';
      readonly steps: readonly CanaryStep[];
      readonly analysis?: CanaryAnalysis;
      readonly httpRoute?: string;
    }
  | { readonly name: 'blue-green'; readonly httpRoute?: string };

export interface RolloutInput {
  /** The service's name, for messages. */
  service: string;
  /** The service's desired objects, identified. */
  desired: readonly DesiredObject[];
  strategy: ProgressiveStrategy;
  catalog: ResourceCatalog;
}

/** One derived Service, and the side of the Rollout it selects. */
export interface SideService {
  side: Side;
  object: DesiredObject;
}

export interface BuiltRollout {
  /**
   * What the strategy applies: every desired object but the Deployment, the Rollout in its place,
   * and the two derived Services after the Service they come from.
   */
  objects: DesiredObject[];
  rollout: DesiredObject;
  /** Stable then canary, or active then preview. */
  sides: readonly [SideService, SideService];
  /** The service's own Service the sides were derived from, unchanged. */
  service: DesiredObject;
  /** The Deployment the Rollout replaces. */
  replaced: DesiredObject;
}

/** A canary step as Kulta's spec holds it: `pause: {}` is a manual gate (contract §2, §4). */
interface KultaStep {
  setWeight: number;
  pause?: { duration?: string };
}

// The Service fields that still mean something for a ClusterIP Service selecting one side; addresses,
// node ports and load balancer settings belong to the service's own Service alone.
const KEPT_SERVICE_FIELDS = [
  'sessionAffinity',
  'sessionAffinityConfig',
  'publishNotReadyAddresses',
  'internalTrafficPolicy',
  'ipFamilies',
  'ipFamilyPolicy',
  'trafficDistribution',
] as const;

/** Steps and analysis that Kulta could not be given, as problems (the flag and nopea.yaml check them first). */
function settingProblems(strategy: ProgressiveStrategy, subject: string): Problem[] {
  if (strategy.name !== 'canary') return [];
  const problems: Problem[] = checkCanarySteps(strategy.steps).map((r) => {
    const where = stepSubject(r);
    const message = `${subject}: canary ${where || 'steps'} ${r.message}`;
    return r.hint ? { message, hint: r.hint } : { message };
  });
  const warmup = strategy.analysis?.warmupSeconds;
  if (warmup !== undefined && kultaDuration(warmup) === undefined) {
    problems.push({
      message: `${subject}: canary analysis warmup of ${warmup} seconds cannot be given to Kulta`,
      hint: 'use whole seconds from 1 up to 168 hours',
    });
  }
  return problems;
}

function kultaSteps(steps: readonly CanaryStep[]): KultaStep[] {
  return steps.map(({ weight, pause }) => {
    if (pause === undefined) return { setWeight: weight };
    if (pause === 'gate') return { setWeight: weight, pause: {} };
    // settingProblems refused every pause Kulta cannot be given before this runs.
    return { setWeight: weight, pause: { duration: kultaDuration(pause.seconds)! } };
  });
}

function kultaAnalysis(analysis: CanaryAnalysis): Record<string, unknown> {
  const metrics = analysis.metrics.map(({ name, threshold }) => ({ name, threshold }));
  const warmup = analysis.warmupSeconds === undefined ? undefined : kultaDuration(analysis.warmupSeconds);
  return warmup ? { warmupDuration: warmup, metrics } : { metrics };
}

function specOf(object: KubeObject): Record<string, unknown> {
  return isPlainObject(object.spec) ? object.spec : {};
}

/** `strategy.canary` or `strategy.blueGreen` of the Rollout. */
function kultaStrategy(strategy: ProgressiveStrategy, target: Target): Record<string, unknown> {
  const service = target.service.ref.name;
  // Kulta routes to one port (HTTPRoute backendRefs): the first the Service declares.
  const ports = specOf(target.service.object).ports;
  const [first]: unknown[] = Array.isArray(ports) ? ports : [];
  const port = isPlainObject(first) && typeof first.port === 'number' ? { port: first.port } : {};
  const routing = strategy.httpRoute
    ? { trafficRouting: { gatewayAPI: { httpRoute: strategy.httpRoute } } }
    : {};
  if (strategy.name === 'blue-green') {
    return {
      blueGreen: {
        activeService: sideName(service, 'active'),
        previewService: sideName(service, 'preview'),
        ...port,
        ...routing,
      },
    };
  }
  return {
    canary: {
      stableService: sideName(service, 'stable'),
      canaryService: sideName(service, 'canary'),
      ...port,
      steps: kultaSteps(strategy.steps),
      ...(strategy.analysis ? { analysis: kultaAnalysis(strategy.analysis) } : {}),
      ...routing,
    },
  };
}

/**
 * The Rollout: replicas (the Deployment's, else 1), selector and template copied as they are, the
 * Deployment's labels plus nopea's (its annotations stay behind: they speak to tools that watch
 * Deployments). Deliberately without `progressDeadlineSeconds`, `maxSurge`,
 * `maxUnavailable` and `autoPromotion*`: the controller never sees the first three (conversion drops
 * them) and never reads the others, and a deadline would fail a long manual gate (contract §1, §4, §9).
 */
function rolloutObject(strategy: ProgressiveStrategy, target: Target): KubeObject {
  const deployment = target.deployment.object;
  const spec = specOf(deployment);
  const { name, namespace } = target.deployment.ref;
  return {
    apiVersion: ROLLOUT_API_VERSION,
    kind: ROLLOUT_KIND,
    metadata: { name, namespace, labels: { ...deployment.metadata.labels, [MANAGED_BY_LABEL]: 'nopea' } },
    spec: {
      replicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
      ...(spec.selector === undefined ? {} : { selector: structuredClone(spec.selector) }),
      ...(spec.template === undefined ? {} : { template: structuredClone(spec.template) }),
      strategy: kultaStrategy(strategy, target),
    },
  };
}

/**
 * One side's Service: the ports of the service's own Service (without node ports), type ClusterIP,
 * its selector plus the side label, and only nopea's label (its own labels could put it in front of
 * something that selects Services by label, such as a monitoring scrape).
 */
function sideService(target: Target, side: Side): DesiredObject {
  const source = target.service;
  const spec = specOf(source.object);
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).map((p: unknown) => {
    if (!isPlainObject(p)) return p;
    const { nodePort: _nodePort, ...rest } = p;
    return structuredClone(rest);
  });
  const kept = Object.fromEntries(
    KEPT_SERVICE_FIELDS.filter((k) => spec[k] !== undefined).map((k) => [k, structuredClone(spec[k])]),
  );
  const selector = isPlainObject(spec.selector) ? spec.selector : {};
  const ref = {
    group: '',
    kind: 'Service',
    namespace: source.ref.namespace,
    name: sideName(source.ref.name, side),
  };
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: ref.name, namespace: ref.namespace, labels: { [MANAGED_BY_LABEL]: 'nopea' } },
    spec: { type: 'ClusterIP', selector: { ...selector, [SIDE_LABEL]: side }, ports, ...kept },
  };
  return desiredObject(object, ref, target.serviceType, source);
}

function desiredObject(
  object: KubeObject,
  ref: DesiredObject['ref'],
  type: ResourceType,
  from: DesiredObject,
): DesiredObject {
  // The origin is the object's source in git, so problems with it point at what the user wrote.
  return { id: formatId(ref), ref, type, object, origin: from.origin, crdPending: false };
}

/**
 * Builds the Rollout and its two Services for the service's desired objects. Throws one input error
 * with every problem: no Deployment or several, no Service selecting its pods, Kulta not served,
 * derived names taken or too long, steps Kulta would refuse.
 */
export function buildRollout(input: RolloutInput): BuiltRollout {
  const { strategy } = input;
  const subject = `service ${input.service}`;
  const located = locateTarget(input.desired, input.catalog, strategy.name, subject);
  const problems = [...settingProblems(strategy, subject), ...(located.ok ? [] : located.problems)];
  if (problems.length > 0 || !located.ok) throw inputError(problems);
  const { target } = located;
  const { deployment, service } = target;
  const rollout = desiredObject(
    rolloutObject(strategy, target),
    {
      group: target.rolloutType.group,
      kind: ROLLOUT_KIND,
      namespace: deployment.ref.namespace,
      name: deployment.ref.name,
    },
    target.rolloutType,
    deployment,
  );
  const [first, second] = SIDES[strategy.name];
  const sides = [
    { side: first, object: sideService(target, first) },
    { side: second, object: sideService(target, second) },
  ] as const;
  const objects = input.desired.flatMap((d) => {
    if (d === deployment) return [rollout];
    if (d === service) return [d, sides[0].object, sides[1].object];
    return [d];
  });
  return { objects, rollout, sides, service, replaced: deployment };
}
