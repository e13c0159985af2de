// The real Kulta controller runs with the test cluster (test/cluster/harness.ts): its repaired CRD is
// installed, one controller watches every namespace, and its canary analysis queries the loopback
// Prometheus stand-in. These tests prove that against the real API server.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiRequest, testCluster, useNamespace, waitFor } from '../../helpers/cluster.js';
import { rolloutMetrics, setRolloutMetrics } from '../../helpers/prometheus.js';

const APPLY = 'application/apply-patch+yaml';

interface Rollout {
  metadata: { name: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    currentStepIndex?: number;
    currentWeight?: number;
    message?: string;
    pauseStartTime?: string;
    progressStartedAt?: string;
  };
}

interface ReplicaSet {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: unknown[] };
  spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } };
}

interface CustomResourceDefinition {
  spec: {
    conversion?: { strategy?: string };
    versions: { name: string; served: boolean; storage: boolean }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Server-side applies one object (field manager nopea-test) and returns it. */
async function apply(apiPath: string, object: unknown): Promise<void> {
  const reply = await apiRequest('PATCH', apiPath, object, {
    contentType: APPLY,
    query: { fieldManager: 'nopea-test', force: true },
  });
  if (reply.status !== 200 && reply.status !== 201) {
    throw new Error(`apply ${apiPath}: HTTP ${reply.status} ${reply.text.slice(0, 500)}`);
  }
}

function rolloutPath(namespace: string, name: string): string {
  return `/apis/kulta.io/v1alpha1/namespaces/${namespace}/rollouts/${name}`;
}

/** The stable and canary Services of contract §8: the app label plus Kulta's type label. */
async function applyServices(namespace: string, app: string, stable: string, canary: string): Promise<void> {
  for (const [name, type] of [
    [stable, 'stable'],
    [canary, 'canary'],
  ] as const) {
    await apply(`/api/v1/namespaces/${namespace}/services/${name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: {
        selector: { app, 'rollouts.kulta.io/type': type },
        ports: [{ port: 80, targetPort: 80 }],
      },
    });
  }
}

function template(app: string, image: string) {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: app, image, ports: [{ containerPort: 80 }] }] },
  };
}

async function getRollout(namespace: string, name: string): Promise<Rollout> {
  const reply = await apiRequest<Rollout>('GET', rolloutPath(namespace, name));
  if (reply.status !== 200) throw new Error(`GET rollout ${name}: HTTP ${reply.status}`);
  return reply.body;
}

async function getReplicaSet(namespace: string, name: string): Promise<ReplicaSet | undefined> {
  const reply = await apiRequest<ReplicaSet>(
    'GET',
    `/apis/apps/v1/namespaces/${namespace}/replicasets/${name}`,
  );
  return reply.status === 200 ? reply.body : undefined;
}

/** Runs fn; on failure appends the end of Kulta's log, which is where its reconcile errors go. */
async function withKultaLog<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const log = testCluster().kultaLog;
    let lines = '(no log)';
    try {
      lines = fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      // keep the placeholder
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- ${log} (last lines)\n${lines}`, { cause: error });
  }
}

describe('the real Kulta controller', () => {
  const namespace = useNamespace('kulta-controller');

  it('has its repaired CRD installed: v1alpha1 only, no conversion webhook, Established', async () => {
    const { body, status } = await apiRequest<CustomResourceDefinition>(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.kulta.io',
    );
    expect(status).toBe(200);
    expect(body.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1alpha1', true, true]]);
    expect(body.spec.conversion?.strategy ?? 'None').toBe('None');
    expect(body.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Established', status: 'True' }),
    );
    expect(fs.existsSync(testCluster().kulta)).toBe(true);
  });

  it('takes over the minimal canary of contract §8: stable and canary ReplicaSets, Progressing at step 0', async () => {
    const ns = namespace.name;
    await applyServices(ns, 'web', 'web-stable', 'web-canary');
    await apply(rolloutPath(ns, 'web'), {
      apiVersion: 'kulta.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'web' } },
        template: template('web', 'nginx:1.27'),
        strategy: {
          canary: {
            stableService: 'web-stable',
            canaryService: 'web-canary',
            port: 80,
            steps: [
              { setWeight: 25, pause: { duration: '30s' } },
              { setWeight: 50, pause: {} },
              { setWeight: 100 },
            ],
            // No Gateway API here: Kulta logs the HTTPRoute's 404 and carries on (contract §5).
            trafficRouting: { gatewayAPI: { httpRoute: 'web-route' } },
          },
        },
      },
    });

    const rollout = await withKultaLog(() =>
      waitFor(
        async () => {
          const r = await getRollout(ns, 'web');
          return r.status?.phase === 'Progressing' && r.status.currentStepIndex === 0 ? r : undefined;
        },
        { what: 'Kulta to write status Progressing at step 0', timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
    expect(rollout.status).toMatchObject({
      currentWeight: 25,
      message: 'Starting canary rollout at step 0 (25% traffic)',
    });
    expect(rollout.status?.progressStartedAt).toBeTruthy();

    const [stable, canary] = await withKultaLog(() =>
      waitFor(
        async () => {
          const sets = await Promise.all([getReplicaSet(ns, 'web-stable'), getReplicaSet(ns, 'web-canary')]);
          return sets[0] && sets[1] ? (sets as [ReplicaSet, ReplicaSet]) : undefined;
        },
        { what: 'ReplicaSets web-stable and web-canary', timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
    for (const [set, type] of [
      [stable, 'stable'],
      [canary, 'canary'],
    ] as const) {
      expect(set.metadata.labels).toMatchObject({
        app: 'web',
        'rollouts.kulta.io/type': type,
        'rollouts.kulta.io/managed': 'true',
      });
      expect(set.spec.template.spec.containers[0].image).toBe('nginx:1.27');
      // No owner references: deleting the Rollout leaves them behind (the namespace's deletion cleans up).
      expect(set.metadata.ownerReferences ?? []).toEqual([]);
    }
    // ceil(4 × 25%) = 1 canary replica, one reconcile after the status.
    await withKultaLog(() =>
      waitFor(
        async () => {
          const [s, c] = await Promise.all([
            getReplicaSet(ns, 'web-stable'),
            getReplicaSet(ns, 'web-canary'),
          ]);
          return s?.spec.replicas === 3 && c?.spec.replicas === 1;
        },
        { what: 'the 3/1 replica split of step 0 (25%)', timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
  });

  it('writes the canary weights into the HTTPRoute (Gateway API CRDs installed with the cluster)', async () => {
    const ns = namespace.name;
    await applyServices(ns, 'shop', 'shop-stable', 'shop-canary');
    const routePath = `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/shop-route`;
    await apply(routePath, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'shop-route', namespace: ns },
      spec: {
        // No Gateway and no implementation: the route is only an object Kulta patches.
        parentRefs: [{ name: 'shop-gateway' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/shop' } }],
            backendRefs: [{ name: 'shop-stable', port: 80 }],
          },
        ],
      },
    });
    await apply(rolloutPath(ns, 'shop'), {
      apiVersion: 'kulta.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'shop' } },
        template: template('shop', 'registry.local/shop:v1'),
        strategy: {
          canary: {
            stableService: 'shop-stable',
            canaryService: 'shop-canary',
            port: 80,
            steps: [{ setWeight: 25, pause: {} }, { setWeight: 100 }],
            trafficRouting: { gatewayAPI: { httpRoute: 'shop-route' } },
          },
        },
      },
    });

    interface HttpRoute {
      spec: {
        parentRefs?: { name: string }[];
        rules?: {
          matches?: { path?: { value?: string } }[];
          backendRefs?: { name: string; weight?: number }[];
        }[];
      };
    }
    const weights = (route: HttpRoute) =>
      Object.fromEntries(
        (route.spec.rules ?? []).flatMap((rule) =>
          (rule.backendRefs ?? []).map((ref) => [ref.name, ref.weight]),
        ),
      );
    const route = await withKultaLog(() =>
      waitFor(
        async () => {
          const reply = await apiRequest<HttpRoute>('GET', routePath);
          const w = reply.status === 200 ? weights(reply.body) : {};
          return w['shop-stable'] === 75 && w['shop-canary'] === 25 ? reply.body : undefined;
        },
        { what: 'Kulta to set HTTPRoute weights stable 75 / canary 25', timeoutMs: 30_000, intervalMs: 100 },
      ),
    );
    expect(route.spec.parentRefs).toEqual([expect.objectContaining({ name: 'shop-gateway' })]);
    // Contract §5: Kulta replaces the whole rules array, so the route's own match is gone (the API
    // server defaults an empty match list back to PathPrefix /).
    expect(route.spec.rules).toHaveLength(1);
    expect(JSON.stringify(route.spec.rules)).not.toContain('/shop');
  });

  it('marks a canary Failed once the Prometheus stand-in reports an error rate above the threshold', async () => {
    const ns = namespace.name;
    // Kulta's queries name the Rollout but not its namespace: a name of its own keeps other tests' metrics apart.
    const name = `analysis-${ns.slice(-6)}`;
    await applyServices(ns, name, `${name}-stable`, `${name}-canary`);
    await apply(rolloutPath(ns, name), {
      apiVersion: 'kulta.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: template(name, 'registry.local/web:v2'),
        strategy: {
          canary: {
            stableService: `${name}-stable`,
            canaryService: `${name}-canary`,
            steps: [{ setWeight: 50, pause: {} }, { setWeight: 100 }],
            analysis: { metrics: [{ name: 'error-rate', threshold: 5 }] },
          },
        },
      },
    });

    // Healthy (the stand-in's default for a Rollout nobody set): Kulta queries it and stays Progressing.
    await withKultaLog(() =>
      waitFor(async () => (await rolloutMetrics(name)).queries['error-rate'] > 0, {
        what: `Kulta to query the stand-in for ${name}'s error rate`,
        timeoutMs: 30_000,
        intervalMs: 100,
      }),
    );
    expect((await getRollout(ns, name)).status).toMatchObject({ phase: 'Progressing', currentStepIndex: 0 });

    // Bad metrics, then a nudge (any annotation change makes Kulta reconcile at once instead of at its
    // 30 s requeue). Failed is not sticky in general (contract §6), so poll fast and take the first one.
    const bad = await setRolloutMetrics(name, { 'error-rate': 50 });
    expect(bad.values['error-rate']).toBe(50);
    await apiRequest('PATCH', rolloutPath(ns, name), {
      metadata: { annotations: { 'nopea.test/nudge': String(Date.now()) } },
    });
    const failed = await withKultaLog(() =>
      waitFor(
        async () => {
          const r = await getRollout(ns, name);
          return r.status?.phase === 'Failed' ? r : undefined;
        },
        { what: `Kulta to mark ${name} Failed`, timeoutMs: 30_000, intervalMs: 50 },
      ),
    );
    expect(failed.status?.message).toBe('Rollback triggered: metrics exceeded thresholds');
    expect((await rolloutMetrics(name)).queries['error-rate']).toBeGreaterThan(0);
  });
});
