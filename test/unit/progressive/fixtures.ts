/**
 * Inputs for the Rollout builder: podinfo's Deployment, Service and HPA from the shared corpus, read
 * by the source stage and identified as the sync does, and catalogs with and without Kulta.
 */
import { ResourceCatalog, builtinCatalog, type ResourceType } from '../../../src/resources/catalog.js';
import { identify, type DesiredObject } from '../../../src/resources/identify.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { loadManifests } from '../../../src/source/load.js';
import { CORPUS, corpus } from '../../helpers/corpus.js';

export const NAMESPACE = 'shop';

const builtin = builtinCatalog();

function builtinType(apiVersion: string, kind: string): ResourceType {
  const found = builtin.lookup(apiVersion, kind).found;
  if (!found) throw new Error(`no built-in ${apiVersion} ${kind}`);
  return found;
}

/** Kulta's Rollout as its CRD serves it (contract §1): v1alpha1 and v1beta1. */
export const ROLLOUT_TYPES: ResourceType[] = ['v1alpha1', 'v1beta1'].map((version) => ({
  group: 'kulta.io',
  version,
  kind: 'Rollout',
  plural: 'rollouts',
  namespaced: true,
  verbs: ['get', 'list', 'patch', 'delete'],
}));

const CORE: ResourceType[] = [
  builtinType('apps/v1', 'Deployment'),
  builtinType('v1', 'Service'),
  builtinType('v1', 'ConfigMap'),
  builtinType('autoscaling/v2', 'HorizontalPodAutoscaler'),
];

/** A live cluster's catalog: Kulta installed unless said otherwise. */
export function clusterCatalog(rollouts: ResourceType[] = ROLLOUT_TYPES): ResourceCatalog {
  return new ResourceCatalog([...CORE, ...rollouts], true);
}

/** podinfo's Deployment, Service and HPA (`../shared/corpus/podinfo/kustomize`), identified into `shop`. */
export async function podinfo(): Promise<DesiredObject[]> {
  corpus('podinfo/kustomize');
  const manifests = await loadManifests({
    repoRoot: CORPUS,
    paths: [
      'podinfo/kustomize/deployment.yaml',
      'podinfo/kustomize/service.yaml',
      'podinfo/kustomize/hpa.yaml',
    ],
  });
  return identify(manifests, clusterCatalog(), { namespace: NAMESPACE });
}

/** An object written in a test, identified as if it came from `file` at `line`. */
export function desired(object: KubeObject, file: string, line = 1): DesiredObject {
  return identify([{ object, origin: { file, line } }], clusterCatalog(), { namespace: NAMESPACE })[0]!;
}

/** The web Deployment of contract §8: 4 replicas, labels app: web. */
export function webDeployment(name = 'web', file = 'deploy/web.yaml'): DesiredObject {
  return desired(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: { app: 'web', team: 'shop' } },
      spec: {
        replicas: 4,
        progressDeadlineSeconds: 600,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'front' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
      },
    },
    file,
  );
}

/** A Service named `name` selecting `selector`, with `spec` fields added. */
export function service(
  name: string,
  selector: Record<string, string> | undefined,
  spec: Record<string, unknown> = {},
  file = 'deploy/service.yaml',
): DesiredObject {
  return desired(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: {
        ...(selector ? { selector } : {}),
        ports: [{ name: 'http', port: 80, targetPort: 80 }],
        ...spec,
      },
    },
    file,
  );
}
