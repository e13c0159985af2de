// Proves the test control plane is a real Kubernetes API with working controllers, and that the
// kwok stages simulate the kubelet failures nopea's health checks must recognise.
import { describe, expect, it } from 'vitest';
import {
  RESTRICTED_NAMESPACE,
  apiRequest,
  kubectl,
  testCluster,
  useNamespace,
  waitFor,
} from '../helpers/cluster.js';

const APPLY = 'application/apply-patch+yaml';

interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  managedFields?: { manager: string; operation: string }[];
}

interface ConfigMap {
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

interface Status {
  kind: 'Status';
  code: number;
  reason: string;
  details?: { causes?: { reason: string; message: string; field: string }[] };
}

interface Condition {
  type: string;
  status: string;
}

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state: {
    waiting?: { reason: string; message?: string };
    running?: { startedAt: string };
    terminated?: { reason: string; exitCode: number };
  };
  lastState?: { terminated?: { reason: string; exitCode: number } };
}

interface Pod {
  metadata: ObjectMeta;
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

interface Workload {
  metadata: ObjectMeta;
  status?: {
    availableReplicas?: number;
    readyReplicas?: number;
    succeeded?: number;
    conditions?: Condition[];
  };
}

interface List<T> {
  items: T[];
}

function configMap(name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

function deployment(name: string, image: string, replicas = 2) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

async function apply<T>(
  apiPath: string,
  body: unknown,
  manager = 'nopea',
  query: Record<string, string> = {},
) {
  return apiRequest<T>('PATCH', apiPath, body, {
    contentType: APPLY,
    query: { fieldManager: manager, ...query },
  });
}

/** Applies a Deployment and returns its pods once there are `count` of them and `check` holds for all. */
async function podsOf(namespace: string, name: string, image: string, check: (pod: Pod) => boolean) {
  const applied = await apply(
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
    deployment(name, image),
  );
  expect(applied.status).toBe(201);
  return waitFor(
    async () => {
      const pods = await apiRequest<List<Pod>>('GET', `/api/v1/namespaces/${namespace}/pods`, undefined, {
        query: { labelSelector: `app=${name}` },
      });
      return pods.body.items.length === 2 && pods.body.items.every(check) && pods.body.items;
    },
    { what: `pods of ${name} (${image})`, timeoutMs: 60_000 },
  );
}

function readyCondition(pod: Pod): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

describe('test control plane', () => {
  const ns = useNamespace('cluster');

  it('serves a Ready, schedulable kwok node to the built kubectl', async () => {
    const result = await kubectl(['get', 'nodes', '-o', 'json'], { check: true });
    const nodes = JSON.parse(result.stdout) as List<{
      metadata: { name: string; labels: Record<string, string> };
      spec: { taints?: unknown[] };
      status: { conditions: Condition[] };
    }>;
    expect(nodes.items).toHaveLength(1);
    const [node] = nodes.items;
    expect(node.metadata.labels.type).toBe('kwok');
    expect(node.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(node.spec.taints ?? []).toEqual([]);
    const version = await kubectl(['version', '-o', 'json'], { check: true });
    expect(JSON.parse(version.stdout)).toMatchObject({ serverVersion: { gitVersion: 'v1.36.3' } });
    expect(testCluster().kubectl).toMatch(/\/kubectl$/);
  });

  it('records server-side apply as manager nopea with operation Apply', async () => {
    const response = await apply<ConfigMap>(
      `/api/v1/namespaces/${ns.name}/configmaps/ssa`,
      configMap('ssa', { key: 'a' }),
    );
    expect(response.status).toBe(201);
    expect(response.body.data).toEqual({ key: 'a' });
    expect(response.body.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'nopea', operation: 'Apply' }),
    );
  });

  it('rejects a conflicting apply from a second manager with 409 and the conflicting field', async () => {
    const cmPath = `/api/v1/namespaces/${ns.name}/configmaps/conflict`;
    expect((await apply(cmPath, configMap('conflict', { key: 'a' }))).status).toBe(201);
    const conflict = await apply<Status>(cmPath, configMap('conflict', { key: 'b' }), 'someone-else');
    expect(conflict.status).toBe(409);
    expect(conflict.body.reason).toBe('Conflict');
    expect(conflict.body.details?.causes).toContainEqual(
      expect.objectContaining({ reason: 'FieldManagerConflict', field: '.data.key' }),
    );
    const forced = await apply<ConfigMap>(cmPath, configMap('conflict', { key: 'b' }), 'someone-else', {
      force: 'true',
    });
    expect(forced.status).toBe(200);
    expect(forced.body.data).toEqual({ key: 'b' });
  });

  it('returns the object for a dryRun=All apply without persisting it', async () => {
    const cmPath = `/api/v1/namespaces/${ns.name}/configmaps/dry`;
    const dry = await apply<ConfigMap>(cmPath, configMap('dry', { key: 'a' }), 'nopea', { dryRun: 'All' });
    expect(dry.status).toBe(201);
    expect(dry.body.metadata.name).toBe('dry');
    expect(dry.body.data).toEqual({ key: 'a' });
    expect((await apiRequest('GET', cmPath)).status).toBe(404);
  });

  it('brings a 2-replica Deployment to availableReplicas 2 through the real controllers', async () => {
    const deployPath = `/apis/apps/v1/namespaces/${ns.name}/deployments/web`;
    expect((await apply(deployPath, deployment('web', 'registry.local/app:v1'))).status).toBe(201);
    const available = await waitFor(
      async () => (await apiRequest<Workload>('GET', deployPath)).body.status?.availableReplicas === 2,
      { what: 'Deployment web availableReplicas=2', timeoutMs: 60_000 },
    );
    expect(available).toBe(true);
  });

  it('completes a Job whose image has no failure tag', async () => {
    const jobPath = `/apis/batch/v1/namespaces/${ns.name}/jobs/once`;
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'once', image: 'registry.local/job:v1' }] },
        },
      },
    };
    expect((await apply(jobPath, job)).status).toBe(201);
    const done = await waitFor(
      async () => {
        const status = (await apiRequest<Workload>('GET', jobPath)).body.status;
        return (
          status?.succeeded === 1 &&
          status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')
        );
      },
      { what: 'Job once to complete', timeoutMs: 60_000 },
    );
    expect(done).toBe(true);
  });

  it('keeps pods of an image tagged fail-pull Pending in ImagePullBackOff', async () => {
    const pods = await podsOf(
      ns.name,
      'pull',
      'registry.local/app:fail-pull',
      (pod) => pod.status?.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff',
    );
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Pending');
      expect(readyCondition(pod)).toBe('False');
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({
        ready: false,
        state: { waiting: { message: 'Back-off pulling image "registry.local/app:fail-pull"' } },
      });
    }
    const deploy = await apiRequest<Workload>('GET', `/apis/apps/v1/namespaces/${ns.name}/deployments/pull`);
    expect(deploy.body.status?.availableReplicas ?? 0).toBe(0);
  });

  it('crash-loops pods of an image tagged crashloop with a growing restartCount', async () => {
    const pods = await podsOf(
      ns.name,
      'crash',
      'registry.local/app:crashloop',
      (pod) => pod.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff',
    );
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(readyCondition(pod)).toBe('False');
      const container = pod.status?.containerStatuses?.[0];
      expect(container?.ready).toBe(false);
      expect(container?.restartCount).toBeGreaterThan(0);
      expect(container?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    }
    // The restart stage repeats every five to six seconds.
    const podPath = `/api/v1/namespaces/${ns.name}/pods/${pods[0].metadata.name}`;
    const first = pods[0].status?.containerStatuses?.[0]?.restartCount ?? 0;
    await waitFor(
      async () =>
        ((await apiRequest<Pod>('GET', podPath)).body.status?.containerStatuses?.[0]?.restartCount ?? 0) >
        first,
      { what: 'restartCount to grow', timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it('runs pods of an image tagged never-ready without them ever becoming ready', async () => {
    const pods = await podsOf(
      ns.name,
      'unready',
      'registry.local/app:never-ready',
      (pod) => pod.status?.phase === 'Running',
    );
    for (const pod of pods) {
      expect(readyCondition(pod)).toBe('False');
      const container = pod.status?.containerStatuses?.[0];
      expect(container?.ready).toBe(false);
      expect(container?.state.running).toBeDefined();
      expect(container?.state.waiting).toBeUndefined();
    }
    const deploy = await apiRequest<Workload>(
      'GET',
      `/apis/apps/v1/namespaces/${ns.name}/deployments/unready`,
    );
    expect(deploy.body.status?.availableReplicas ?? 0).toBe(0);
  });

  it('establishes a CRD and keeps fields of its custom resources that clients do not know', async () => {
    const group = `${ns.name}.nopea.test`;
    const crdName = `widgets.${group}`;
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`;
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { size: { type: 'integer' } },
                    'x-kubernetes-preserve-unknown-fields': true,
                  },
                },
              },
            },
          },
        ],
      },
    };
    try {
      expect((await apply(crdPath, crd)).status).toBe(201);
      await waitFor(
        async () =>
          (
            await apiRequest<{ status?: { conditions?: Condition[] } }>('GET', crdPath)
          ).body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
        { what: `CRD ${crdName} Established`, timeoutMs: 30_000 },
      );
      const widgetPath = `/apis/${group}/v1/namespaces/${ns.name}/widgets/w1`;
      const spec = { size: 3, unknownToClients: { nested: ['a', 1, true], note: 'kept' } };
      const widget = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec };
      // Established can precede the handler being served for a moment; retry the first apply briefly.
      await waitFor(async () => (await apply(widgetPath, widget)).status === 201, {
        what: 'custom resource apply',
        timeoutMs: 15_000,
      });
      const readBack = await apiRequest<{ spec: unknown }>('GET', widgetPath);
      expect(readBack.status).toBe(200);
      expect(readBack.body.spec).toEqual(spec);
    } finally {
      await apiRequest('DELETE', crdPath);
    }
  });

  it('limits the restricted user to its namespace', async () => {
    const { restrictedKubeconfig } = testCluster();
    const elsewhere = await apiRequest<Status>('GET', `/api/v1/namespaces/${ns.name}/configmaps`, undefined, {
      kubeconfig: restrictedKubeconfig,
    });
    expect(elsewhere.status).toBe(403);
    const own = await apiRequest('GET', `/api/v1/namespaces/${RESTRICTED_NAMESPACE}/configmaps`, undefined, {
      kubeconfig: restrictedKubeconfig,
    });
    expect(own.status).toBe(200);
  });
});
