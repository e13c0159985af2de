import type { DesiredObject } from '../../../src/resources/identify.js';
import type { KubeObject } from '../../../src/resources/object.js';

/** A Deployment intent as a user would write it. */
export function deploymentIntent(
  image = 'registry.local/api:v1',
  labels: Record<string, string> = { app: 'api' },
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'web', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

/** managedFields as the apiserver records nopea's apply of deploymentIntent(). */
export function nopeaFields(labels: string[] = ['app']): Record<string, unknown> {
  return {
    'f:metadata': { 'f:labels': Object.fromEntries(labels.map((l) => [`f:${l}`, {}])) },
    'f:spec': {
      'f:replicas': {},
      'f:selector': {},
      'f:template': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"api"}': {
              '.': {},
              'f:image': {},
              'f:name': {},
              'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
            },
          },
        },
      },
    },
  };
}

/** A live object: the intent plus server defaults, status and the given managedFields. */
export function live(
  intent: KubeObject,
  managed: { manager: string; operation: string; fieldsV1: unknown }[],
): KubeObject {
  const obj = structuredClone(intent);
  obj.metadata = {
    ...obj.metadata,
    uid: 'u-1',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-11-27T10:00:00Z',
    annotations: { 'deployment.kubernetes.io/revision': '3' },
    managedFields: managed.map((m) => ({ ...m, apiVersion: 'apps/v1', fieldsType: 'FieldsV1' })),
  };
  const spec = obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
  for (const c of spec.template.spec.containers) {
    c.terminationMessagePath = '/dev/termination-log';
    c.imagePullPolicy = 'IfNotPresent';
    for (const p of c.ports as Record<string, unknown>[]) p.protocol = 'TCP';
  }
  obj.status = { availableReplicas: 2 };
  return obj;
}

/** The server's dry-run of `intent` on top of `liveObj`: nopea's values win (force). */
export function dryRun(intent: KubeObject, liveObj: KubeObject): KubeObject {
  const obj = live(intent, []);
  obj.metadata = { ...liveObj.metadata, ...obj.metadata, managedFields: liveObj.metadata.managedFields };
  // Fields other managers set that nopea does not set survive an apply.
  const liveLabels = liveObj.metadata.labels ?? {};
  obj.metadata.labels = { ...liveLabels, ...intent.metadata.labels };
  return obj;
}

export function desiredOf(intent: KubeObject): DesiredObject {
  const group = intent.apiVersion.includes('/') ? intent.apiVersion.split('/')[0]! : '';
  const namespace = intent.metadata.namespace ?? '';
  return {
    id: `${group}/${intent.kind}/${namespace}/${intent.metadata.name}`,
    ref: { group, kind: intent.kind, namespace, name: intent.metadata.name! },
    type: {
      group,
      version: 'v1',
      kind: intent.kind,
      plural: `${intent.kind.toLowerCase()}s`,
      namespaced: namespace !== '',
      verbs: [],
    },
    object: intent,
    origin: { file: 'deploy/api.yaml', line: 1 },
    crdPending: false,
  };
}
