/**
 * Readiness per kind, as data: a table of rules keyed by `group/Kind`, each a pure function from the
 * live object (and, for workloads, its pods and ReplicaSets) to ready / progressing / failed. No I/O
 * happens here; the wait loop (wait.ts) fetches, the rules judge.
 *
 * The table says in words what each rule checks, for docs and `nopea explain`; the rule itself, and
 * the choices it makes where Kubernetes leaves one (a paused Deployment, a suspended Job, a PVC that
 * binds on first consumer, a LoadBalancer without a cloud controller), live in `kinds/`, one file a
 * kind. Kinds without a rule follow the kstatus conventions (kinds/generic.ts).
 */
import { groupOf, type KubeObject } from '../resources/object.js';
import type { Assessment, Related, RuleOptions } from './assessment.js';
import { assessAPIService } from './kinds/apiservice.js';
import { assessCustomResourceDefinition } from './kinds/customresourcedefinition.js';
import { assessDaemonSet } from './kinds/daemonset.js';
import { assessDeployment } from './kinds/deployment.js';
import { genericAssess } from './kinds/generic.js';
import { assessJob } from './kinds/job.js';
import { assessPersistentVolumeClaim } from './kinds/persistentvolumeclaim.js';
import { assessPod } from './kinds/pod.js';
import { assessReplicaSet } from './kinds/replicaset.js';
import { assessService } from './kinds/service.js';
import { assessStatefulSet } from './kinds/statefulset.js';

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

/** The readiness table; tests and docs read it, `assess` dispatches on it. */
export const READINESS_RULES: readonly ReadinessRule[] = [
  {
    group: 'apps',
    kind: 'Deployment',
    ready:
      'spec observed; updated, total and available replicas equal spec.replicas (default 1); paused counts as ready',
    fails: 'Progressing condition with reason ProgressDeadlineExceeded',
    assess: assessDeployment,
  },
  {
    group: 'apps',
    kind: 'StatefulSet',
    ready:
      'spec observed; ready replicas reach spec.replicas and currentRevision equals updateRevision (partitions honoured); OnDelete is ready when observed',
    assess: assessStatefulSet,
  },
  {
    group: 'apps',
    kind: 'DaemonSet',
    ready:
      'spec observed; updatedNumberScheduled and numberAvailable reach desiredNumberScheduled; OnDelete is ready when observed',
    assess: assessDaemonSet,
  },
  {
    group: 'apps',
    kind: 'ReplicaSet',
    ready: 'spec observed; ready and available replicas reach spec.replicas',
    assess: assessReplicaSet,
  },
  {
    group: 'batch',
    kind: 'Job',
    ready:
      'Complete condition True (SuccessCriteriaMet still waits for it); a suspended Job, and one deleted after it completed (ttlSecondsAfterFinished), count as ready',
    fails: 'Failed or FailureTarget condition True (e.g. BackoffLimitExceeded, DeadlineExceeded)',
    assess: assessJob,
  },
  {
    group: '',
    kind: 'Pod',
    ready: 'Ready condition True, or phase Succeeded',
    fails: 'phase Failed (e.g. Evicted)',
    assess: assessPod,
  },
  {
    group: '',
    kind: 'PersistentVolumeClaim',
    ready: 'phase Bound, or Pending with a WaitForFirstConsumer StorageClass',
    fails: 'phase Lost',
    assess: assessPersistentVolumeClaim,
  },
  {
    group: 'apiextensions.k8s.io',
    kind: 'CustomResourceDefinition',
    ready: 'Established condition True',
    fails: 'NamesAccepted condition False',
    assess: assessCustomResourceDefinition,
  },
  {
    group: '',
    kind: 'Service',
    ready: 'applied; type LoadBalancer waits for an ingress address only with waitForLoadBalancer',
    assess: assessService,
  },
  {
    group: 'apiregistration.k8s.io',
    kind: 'APIService',
    ready: 'Available condition True',
    assess: assessAPIService,
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
