/**
 * What a progressive deploy of a service works on, found among its desired objects: its one
 * Deployment, the Service that selects the Deployment's pods (the stable/canary or active/preview
 * Services are derived from it), and the resource types of Kulta's Rollout and of Service. Every reason
 * one cannot be found is a problem naming the file and line to fix, plus a short `why` that
 * `--strategy auto` gives when it deploys directly instead.
 */
import type { Origin, Problem } from '../errors.js';
import type { ResourceCatalog, ResourceType } from '../resources/catalog.js';
import type { DesiredObject } from '../resources/identify.js';
import { formatId, groupOf, isPlainObject, versionOf, type ResourceRef } from '../resources/object.js';
import type { StrategyName } from '../strategy/names.js';

/** The strategies that run through Kulta. */
export type ProgressiveName = Exclude<StrategyName, 'direct'>;

/**
 * The two sides of each strategy, old version first: Kulta names its ReplicaSets `<rollout>-<side>`
 * and labels their pods `rollouts.kulta.io/type: <side>` (contract §5).
 */
export const SIDES = {
  canary: ['stable', 'canary'],
  'blue-green': ['active', 'preview'],
} as const satisfies Record<ProgressiveName, readonly [string, string]>;

export type Side = (typeof SIDES)[ProgressiveName][number];

/** The version Kulta's controller watches (contract §1); v1beta1 is only the storage version. */
export const ROLLOUT_API_VERSION = 'kulta.io/v1alpha1';
export const ROLLOUT_KIND = 'Rollout';

const SERVICE_NAME_MAX = 63;

/** The service's own Service's derived name for one side: `web-stable`, `web-preview`. */
export function sideName(service: string, side: Side): string {
  return `${service}-${side}`;
}

/** Everything a Rollout is built from. */
export interface Target {
  deployment: DesiredObject;
  /** The service's own Service, selecting the Deployment's pods. */
  service: DesiredObject;
  rolloutType: ResourceType;
  serviceType: ResourceType;
}

/** The target, or every problem in the way and the first one's reason in a few words. */
export type Located = { ok: true; target: Target } | { ok: false; why: string; problems: Problem[] };

interface Finding {
  why: string;
  problems: Problem[];
}

function problem(message: string, hint: string, where?: { origin: Origin; object: string }): Problem {
  return where ? { message, hint, origin: where.origin, object: where.object } : { message, hint };
}

function at(d: DesiredObject): { origin: Origin; object: string } {
  return { origin: d.origin, object: d.id };
}

function named(d: DesiredObject): string {
  return `${d.ref.namespace}/${d.ref.name}`;
}

/**
 * A type from the catalog; offline (a built-in catalog) nothing is known about custom kinds, so the
 * type is assumed as Kulta's CRD defines it, the way identify assumes unknown kinds namespaced.
 */
function resolveType(
  catalog: ResourceCatalog,
  apiVersion: string,
  kind: string,
  plural: string,
): ResourceType | { otherVersions: string[] } {
  const found = catalog.lookup(apiVersion, kind);
  if (found.found) return found.found;
  if (!catalog.authoritative) {
    const group = groupOf(apiVersion);
    return { group, version: versionOf(apiVersion), kind, plural, namespaced: true, verbs: [] };
  }
  return { otherVersions: found.otherVersions };
}

function kultaType(catalog: ResourceCatalog, strategy: ProgressiveName): ResourceType | Finding {
  const type = resolveType(catalog, ROLLOUT_API_VERSION, ROLLOUT_KIND, 'rollouts');
  if (!('otherVersions' in type)) return type;
  const hint = 'install Kulta (its CRD and controller) in the cluster, or deploy with --strategy direct';
  if (type.otherVersions.length === 0) {
    return {
      why: 'Kulta is not installed (the cluster does not serve rollouts.kulta.io)',
      problems: [
        problem(
          `${strategy} runs through Kulta, which is not installed: the cluster does not serve rollouts.kulta.io`,
          hint,
        ),
      ],
    };
  }
  const served = type.otherVersions.map((v) => `kulta.io/${v}`).join(', ');
  return {
    why: `the cluster serves rollouts.kulta.io only as ${served}, not as ${ROLLOUT_API_VERSION}`,
    problems: [
      problem(
        `${strategy} writes Rollouts as ${ROLLOUT_API_VERSION}, the version Kulta's controller watches, but the cluster serves rollouts.kulta.io only as ${served}`,
        "install Kulta's CRD with v1alpha1 served, or deploy with --strategy direct",
      ),
    ],
  };
}

function serviceType(catalog: ResourceCatalog): ResourceType | Finding {
  const type = resolveType(catalog, 'v1', 'Service', 'services');
  if (!('otherVersions' in type)) return type;
  const message = 'the cluster does not serve v1 Service';
  return { why: message, problems: [problem(message, 'check the cluster the kubeconfig points at')] };
}

function isFinding(value: object): value is Finding {
  return 'why' in value && 'problems' in value;
}

function oneDeployment(
  desired: readonly DesiredObject[],
  subject: string,
  strategy: ProgressiveName,
): DesiredObject | Finding {
  const deployments = desired.filter((d) => d.ref.group === 'apps' && d.ref.kind === 'Deployment');
  const [only] = deployments;
  if (only && deployments.length === 1) return only;
  if (!only) {
    return {
      why: 'the service has no Deployment',
      problems: [
        problem(
          `${subject} has no Deployment: ${strategy} turns the service's Deployment into a Kulta Rollout`,
          "add the service's Deployment to its manifests, or deploy with --strategy direct",
        ),
      ],
    };
  }
  const names = deployments.map(named).join(', ');
  const count = deployments.length;
  return {
    why: `the service has ${count} Deployments (${names})`,
    problems: [
      problem(
        `${subject} has ${count} Deployments (${names}): ${strategy} needs exactly one, to turn into a Kulta Rollout`,
        'give each Deployment its own service in nopea.yaml, or deploy with --strategy direct',
      ),
      ...deployments.map((d) =>
        problem(
          `Deployment ${named(d)} is one of the ${count}`,
          'a progressive service has one Deployment',
          at(d),
        ),
      ),
    ],
  };
}

/** A mapping of string values at `path` inside an object, or undefined. */
function stringMap(value: unknown, ...path: string[]): Record<string, string> | undefined {
  let node = value;
  for (const key of path) node = isPlainObject(node) ? node[key] : undefined;
  if (!isPlainObject(node)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(node)) if (typeof v === 'string') out[k] = v;
  return out;
}

function ports(d: DesiredObject): unknown[] {
  const spec = d.object.spec;
  return isPlainObject(spec) && Array.isArray(spec.ports) ? spec.ports : [];
}

/** Whether a Service's selector is a non-empty subset of the pod labels (it reaches the pods). */
function selects(service: DesiredObject, labels: Record<string, string>): boolean {
  const spec = service.object.spec;
  if (isPlainObject(spec) && spec.type === 'ExternalName') return false;
  const selector = Object.entries(stringMap(service.object, 'spec', 'selector') ?? {});
  return selector.length > 0 && selector.every(([k, v]) => labels[k] === v);
}

/**
 * The Service the sides derive from, among those selecting the pods: one with ports before one
 * without (a derived ClusterIP Service needs them), then the one named like the Deployment, then the
 * first in the manifests.
 */
function selectingService(
  desired: readonly DesiredObject[],
  deployment: DesiredObject,
  strategy: ProgressiveName,
): DesiredObject | Finding {
  const labels = stringMap(deployment.object, 'spec', 'template', 'metadata', 'labels') ?? {};
  const [first, second] = SIDES[strategy];
  const rank = (d: DesiredObject): number =>
    (ports(d).length > 0 ? 0 : 2) + (d.ref.name === deployment.ref.name ? 0 : 1);
  const candidates = desired
    .filter((d) => d.ref.group === '' && d.ref.kind === 'Service')
    .filter((d) => d.ref.namespace === deployment.ref.namespace && selects(d, labels))
    .map((d, index) => ({ d, index }))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.index - b.index);
  const chosen = candidates[0]?.d;
  if (!chosen) {
    const shown = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const example = Object.entries(labels)
      .slice(0, 1)
      .map(([k, v]) => `${k}: ${v}`);
    return {
      why: `no Service selects the pods of Deployment ${named(deployment)}`,
      problems: [
        problem(
          `no Service selects the pods of Deployment ${named(deployment)}${shown.length ? ` (pod labels ${shown.join(', ')})` : ''}: ${strategy} derives its ${first} and ${second} Services from the one that does`,
          example.length
            ? `add a Service in namespace ${deployment.ref.namespace} whose selector is some of the pod labels, e.g. selector: {${example[0]}}`
            : 'give the pod template labels, and add a Service whose selector matches them',
          at(deployment),
        ),
      ],
    };
  }
  if (ports(chosen).length === 0) {
    return {
      why: `Service ${named(chosen)} has no ports`,
      problems: [
        problem(
          `Service ${named(chosen)} selects the pods of Deployment ${named(deployment)} but has no ports: the ${first} and ${second} Services derived from it need them`,
          'add the ports the pods serve to the Service',
          at(chosen),
        ),
      ],
    };
  }
  return chosen;
}

/** Derived names that are too long for a Service, or objects the manifests already hold under them. */
function sideFindings(
  desired: readonly DesiredObject[],
  deployment: DesiredObject,
  service: DesiredObject,
  rolloutType: ResourceType,
  strategy: ProgressiveName,
): Finding | undefined {
  const problems: Problem[] = [];
  const whys: string[] = [];
  const longest = SIDES[strategy].reduce((a, b) => (b.length > a.length ? b : a));
  const longName = sideName(service.ref.name, longest);
  if (longName.length > SERVICE_NAME_MAX) {
    whys.push(`the Service name ${service.ref.name} is too long to derive ${longName} from`);
    problems.push(
      problem(
        `Service ${named(service)}: ${longName}, the ${longest} Service derived from it, would be ${longName.length} characters long; a Service name allows at most ${SERVICE_NAME_MAX}`,
        `shorten the Service's name to at most ${SERVICE_NAME_MAX - longest.length - 1} characters`,
        at(service),
      ),
    );
  }
  const namespace = deployment.ref.namespace;
  const derived = new Map<string, string>([
    [
      formatId({ group: rolloutType.group, kind: ROLLOUT_KIND, namespace, name: deployment.ref.name }),
      `builds it from Deployment ${named(deployment)}`,
    ],
    ...SIDES[strategy].map((side): [string, string] => {
      const ref: ResourceRef = {
        group: '',
        kind: 'Service',
        namespace,
        name: sideName(service.ref.name, side),
      };
      return [formatId(ref), `derives it from Service ${named(service)}`];
    }),
  ]);
  for (const d of desired) {
    const how = derived.get(d.id);
    if (!how) continue;
    whys.push(`${d.id} is already in the manifests`);
    problems.push(
      problem(
        `${d.id} is in the manifests, but ${strategy} ${how}`,
        "remove it from the manifests: nopea writes it and keeps it in the service's inventory",
        at(d),
      ),
    );
  }
  const [why] = whys;
  return why ? { why, problems } : undefined;
}

/**
 * Finds the Deployment, the Service and the types for `strategy`; `subject` names the service in
 * messages (`service web`). Problems that do not depend on each other are reported together.
 */
export function locateTarget(
  desired: readonly DesiredObject[],
  catalog: ResourceCatalog,
  strategy: ProgressiveName,
  subject: string,
): Located {
  const findings: Finding[] = [];
  const found = <T extends object>(value: T | Finding): T | undefined => {
    if (!isFinding(value)) return value;
    findings.push(value);
    return undefined;
  };
  const rolloutType = found(kultaType(catalog, strategy));
  const svcType = found(serviceType(catalog));
  const deployment = found(oneDeployment(desired, subject, strategy));
  const service = deployment && found(selectingService(desired, deployment, strategy));
  if (deployment && service && rolloutType) {
    const sides = sideFindings(desired, deployment, service, rolloutType, strategy);
    if (sides) findings.push(sides);
  }
  if (findings.length === 0 && deployment && service && rolloutType && svcType) {
    return { ok: true, target: { deployment, service, rolloutType, serviceType: svcType } };
  }
  // Every part left undefined pushed its finding, so there is a first one.
  return { ok: false, why: findings[0]!.why, problems: findings.flatMap((f) => f.problems) };
}
