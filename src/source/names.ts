/**
 * Name rules the API server enforces, kept as data so the source stage can reject names that can never
 * be applied without asking the cluster. Only rules that hold for every cluster are here: a kind that
 * is not in `NAME_RULES` gets the lenient path-segment check, because RBAC kinds accept `:` and custom
 * kinds are validated by their own server.
 */
import { quoted } from '../resources/excerpt.js';

/** How the API server validates `metadata.name` for a kind. */
export interface NameRule {
  /** Human description used in messages. */
  describe: string;
  pattern: RegExp;
  maxLength: number;
}

const DNS_SUBDOMAIN: NameRule = {
  describe:
    'lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (DNS subdomain, at most 253 characters)',
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  maxLength: 253,
};

const DNS_LABEL: NameRule = {
  describe:
    'lowercase letters, digits and "-", starting and ending with a letter or digit (DNS label, at most 63 characters)',
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 63,
};

// Services become DNS names of the form <name>.<namespace>.svc, so the first character must be a letter.
const DNS_1035_LABEL: NameRule = {
  describe:
    'lowercase letters, digits and "-", starting with a letter and ending with a letter or digit (at most 63 characters)',
  pattern: /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 63,
};

// CronJob names get an 11-character suffix for their Jobs, and Job names end up in a 63-character label.
const CRONJOB_NAME: NameRule = { ...DNS_SUBDOMAIN, maxLength: 52 };

/** Built-in kinds (`group/Kind`, core group empty) whose name rule is stricter than a path segment. */
export const NAME_RULES: ReadonlyMap<string, NameRule> = new Map([
  ['/Namespace', DNS_LABEL],
  ['/Service', DNS_1035_LABEL],
  ['/ConfigMap', DNS_SUBDOMAIN],
  ['/Secret', DNS_SUBDOMAIN],
  ['/ServiceAccount', DNS_SUBDOMAIN],
  ['/Pod', DNS_SUBDOMAIN],
  ['/PersistentVolume', DNS_SUBDOMAIN],
  ['/PersistentVolumeClaim', DNS_SUBDOMAIN],
  ['/ReplicationController', DNS_SUBDOMAIN],
  ['/LimitRange', DNS_SUBDOMAIN],
  ['/ResourceQuota', DNS_SUBDOMAIN],
  ['apps/Deployment', DNS_SUBDOMAIN],
  ['apps/StatefulSet', DNS_SUBDOMAIN],
  ['apps/DaemonSet', DNS_SUBDOMAIN],
  ['apps/ReplicaSet', DNS_SUBDOMAIN],
  ['batch/Job', DNS_SUBDOMAIN],
  ['batch/CronJob', CRONJOB_NAME],
  ['networking.k8s.io/Ingress', DNS_SUBDOMAIN],
  ['networking.k8s.io/IngressClass', DNS_SUBDOMAIN],
  ['networking.k8s.io/NetworkPolicy', DNS_SUBDOMAIN],
  ['policy/PodDisruptionBudget', DNS_SUBDOMAIN],
  ['autoscaling/HorizontalPodAutoscaler', DNS_SUBDOMAIN],
  ['storage.k8s.io/StorageClass', DNS_SUBDOMAIN],
  ['scheduling.k8s.io/PriorityClass', DNS_SUBDOMAIN],
  ['apiextensions.k8s.io/CustomResourceDefinition', DNS_SUBDOMAIN],
]);

/**
 * Why a name can never be stored for the given kind, or undefined when it may be valid. Every kind is a
 * path segment in the API URL, so `/`, `%`, `.` and `..` are impossible everywhere; whitespace and
 * control characters are impossible in every name the API server accepts.
 */
export function invalidName(group: string, kind: string, name: string): string | undefined {
  const rule = NAME_RULES.get(`${group}/${kind}`);
  if (rule) {
    if (name.length > rule.maxLength)
      return `is ${name.length} characters long; a ${kind} name allows at most ${rule.maxLength}`;
    if (!rule.pattern.test(name)) return `is not a valid ${kind} name: use ${rule.describe}`;
    return undefined;
  }
  if (name.length > 253) return `is ${name.length} characters long; Kubernetes names allow at most 253`;
  if (name === '.' || name === '..') return 'cannot be "." or ".." (names are URL path segments)';
  const bad = /[/%\s\p{Cc}]/u.exec(name);
  if (bad) return `contains ${JSON.stringify(bad[0])}, which no Kubernetes name may contain`;
  return undefined;
}

/** Why a value is not a DNS label, `what` naming what it was meant to be (e.g. "namespace name"). */
export function invalidDnsLabel(value: string, what: string): string | undefined {
  if (value.length > DNS_LABEL.maxLength || !DNS_LABEL.pattern.test(value)) {
    return `is not a valid ${what}: use ${DNS_LABEL.describe}`;
  }
  return undefined;
}

/** Namespaces are DNS labels on every cluster. */
export function invalidNamespace(namespace: string): string | undefined {
  return invalidDnsLabel(namespace, 'namespace name');
}

// The API server requires a custom kind to be a DNS-1035 label once lowercased, and every built-in kind
// is letters and digits; so no kind holds "/", ".", whitespace or anything else a URL or file path would
// read as structure.
const KIND = /^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$/;

/** Why a kind can never be served by an API server (empty kinds are reported as missing before this). */
export function invalidKind(kind: string): string | undefined {
  if (kind.length > 63 || !KIND.test(kind)) {
    return 'is not a valid kind: use a letter followed by letters, digits and "-" (at most 63 characters), e.g. Deployment';
  }
  return undefined;
}

// API versions: built-in and custom ones are DNS-1035 labels (v1, v1beta1, v2alpha1).
const VERSION: NameRule = {
  ...DNS_1035_LABEL,
  describe: 'a lowercase letter, then lowercase letters, digits and "-", such as v1 or v1beta1',
};

/** Why an apiVersion's group (a DNS subdomain, empty for the core group) or version cannot exist. */
export function invalidGroupVersion(group: string, version: string): string | undefined {
  if (group !== '' && (group.length > DNS_SUBDOMAIN.maxLength || !DNS_SUBDOMAIN.pattern.test(group))) {
    return `has the API group ${quoted(group)}, which is not valid: use ${DNS_SUBDOMAIN.describe}`;
  }
  if (version.length > VERSION.maxLength || !VERSION.pattern.test(version)) {
    return `has the version ${quoted(version)}, which is not valid: use ${VERSION.describe}`;
  }
  return undefined;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Why a label or annotation key is invalid (`[prefix/]name`, the API server's qualified-name rule). */
export function invalidQualifiedKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'has an empty prefix before "/"';
    if (prefix.length > DNS_SUBDOMAIN.maxLength || !DNS_SUBDOMAIN.pattern.test(prefix)) {
      return `has prefix "${prefix}", which must be a DNS subdomain (${DNS_SUBDOMAIN.describe})`;
    }
  }
  if (name.length === 0) return 'has an empty name part';
  if (name.length > 63) return `has a name part of ${name.length} characters; at most 63 are allowed`;
  if (!QUALIFIED_NAME.test(name)) {
    return 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit, with an optional "prefix/"';
  }
  return undefined;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why a label value is invalid (at most 63 characters, alphanumerics with `-`, `_`, `.` inside). */
export function invalidLabelValue(value: string): string | undefined {
  if (value.length > 63) return `is ${value.length} characters long; label values allow at most 63`;
  if (!LABEL_VALUE.test(value)) {
    return 'must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Total size of all annotation keys and values the API server accepts on one object. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
