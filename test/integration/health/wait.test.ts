// waitForHealth against the real test control plane: kwok plays the kubelet, and image tags pick
// its behaviour (`fail-pull` → ImagePullBackOff, `crashloop` → CrashLoopBackOff, `never-ready` →
// running but never ready; anything else becomes Ready).
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/cluster/client.js';
import { connect } from '../../../src/cluster/connect.js';
import { discover } from '../../../src/cluster/discover.js';
import { applyObject, deleteObject, getObject } from '../../../src/cluster/objects.js';
import {
  formatDiagnosis,
  waitForHealth,
  type HealthReport,
  type HealthTarget,
} from '../../../src/health/wait.js';
import type { ResourceCatalog, ResourceType } from '../../../src/resources/catalog.js';
import { formatId, groupOf, type KubeObject } from '../../../src/resources/object.js';
import { testCluster, useNamespace, waitFor } from '../../helpers/cluster.js';

let client: KubeClient;
let catalog: ResourceCatalog;
const timings: string[] = [];

beforeAll(async () => {
  client = await connect({ kubeconfig: testCluster().kubeconfig });
  catalog = await discover(client);
});

afterAll(() => {
  if (timings.length > 0) process.stderr.write(`[health] ${timings.join('; ')}\n`);
  client?.close();
});

function typeOf(obj: KubeObject): ResourceType {
  const found = catalog.lookup(obj.apiVersion, obj.kind).found;
  if (!found) throw new Error(`the cluster does not serve ${obj.apiVersion} ${obj.kind}`);
  return found;
}

/** Applies objects and returns them as wait targets, with the uid the apply answered with. */
async function apply(...objects: KubeObject[]): Promise<HealthTarget[]> {
  const targets: HealthTarget[] = [];
  for (const obj of objects) {
    const type = typeOf(obj);
    const applied = await applyObject(client, type, obj);
    const uid = applied.metadata.uid;
    const ref = {
      group: groupOf(obj.apiVersion),
      kind: obj.kind,
      namespace: type.namespaced ? (obj.metadata.namespace ?? '') : '',
      name: obj.metadata.name ?? '',
    };
    targets.push({ id: formatId(ref), type, uid: typeof uid === 'string' ? uid : undefined });
  }
  return targets;
}

function deployment(namespace: string, name: string, image: string, replicas = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

/** A run-once Job like ingress-nginx's admission Jobs: deleted as soon as it has finished. */
function runOnceJob(namespace: string, name: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace },
    spec: {
      ttlSecondsAfterFinished: 0,
      template: {
        spec: {
          restartPolicy: 'OnFailure',
          containers: [{ name: 'create', image: 'registry.local/kube-webhook-certgen:v1' }],
        },
      },
    },
  };
}

function describeReport(r: HealthReport): string {
  return [
    `ok=${r.ok} timedOut=${r.timedOut} ${r.durationMs} ms, ${r.polls} polls, ${r.requests} requests`,
    ...r.objects.map((o) => `${o.id}: ${o.state} ${o.reason ?? ''} ${o.message}`),
    ...r.failures.map(formatDiagnosis),
  ].join('\n');
}

describe('waitForHealth', () => {
  const ns = useNamespace('health');

  it('reports a healthy Deployment, its Service and ConfigMap ready', async () => {
    const targets = await apply(
      deployment(ns.name, 'web', 'registry.local/web:v1', 2),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns.name },
        spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'web', namespace: ns.name },
        data: { a: '1' },
      },
    );
    const snapshots: number[] = [];
    const report = await waitForHealth(client, catalog, targets, {
      timeoutMs: 60_000,
      onProgress: (s) => snapshots.push(s.ready),
    });
    expect(report.ok, describeReport(report)).toBe(true);
    expect(report.failures).toEqual([]);
    const dep = report.objects.find((o) => o.id === `apps/Deployment/${ns.name}/web`);
    expect(dep).toMatchObject({ state: 'ready', message: '2/2 replicas available' });
    expect(snapshots.at(-1)).toBe(3);
    // Ready objects are not read again: the Service and ConfigMap cost one GET each.
    expect(report.requests).toBeLessThan(10 + report.polls * 3);
    timings.push(
      `healthy Deployment ready in ${report.durationMs} ms (${report.polls} polls, ${report.requests} requests)`,
    );
  });

  it('fails fast on ImagePullBackOff, naming pod, container and events', async () => {
    const targets = await apply(deployment(ns.name, 'pull', 'registry.local/pull:fail-pull', 2));
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000, failGraceMs: 2_000 });
    expect(report.ok, describeReport(report)).toBe(false);
    expect(report.timedOut).toBe(false);
    expect(report.durationMs).toBeLessThan(30_000);
    expect(report.failures).toHaveLength(1);
    const d = report.failures[0]!;
    expect(d).toMatchObject({
      id: `apps/Deployment/${ns.name}/pull`,
      state: 'failed',
      container: 'app',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "registry.local/pull:fail-pull"',
    });
    expect(d.pod).toMatch(/^pull-[a-z0-9]+-[a-z0-9]+$/);
    expect(d.events.length, formatDiagnosis(d)).toBeGreaterThan(0);
    expect(d.events.length).toBeLessThanOrEqual(5);
    expect(d.eventsFor).toBe(`Pod ${d.pod}`);
    expect(d.events.some((e) => e.type === 'Warning' && /ImagePullBackOff/.test(e.message))).toBe(true);
    const text = formatDiagnosis(d);
    expect(text).toContain(`apps/Deployment/${ns.name}/pull: pod ${d.pod} container app: ImagePullBackOff`);
    timings.push(`fail-pull failed after ${report.durationMs} ms (grace 2 s)`);
  });

  it('fails fast on CrashLoopBackOff with restarts and the last exit', async () => {
    const targets = await apply(deployment(ns.name, 'crash', 'registry.local/crash:crashloop'));
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000, failGraceMs: 2_000 });
    expect(report.ok, describeReport(report)).toBe(false);
    expect(report.timedOut).toBe(false);
    expect(report.durationMs).toBeLessThan(30_000);
    const d = report.failures[0]!;
    expect(d).toMatchObject({ reason: 'CrashLoopBackOff', container: 'app', lastExit: 'Error, exit code 1' });
    expect(d.restartCount).toBeGreaterThanOrEqual(1);
    timings.push(`crashloop failed after ${report.durationMs} ms (grace 2 s)`);
  });

  it('fails a crash loop at the restart threshold even within a long grace period', async () => {
    const targets = await apply(deployment(ns.name, 'crash2', 'registry.local/crash:crashloop'));
    const report = await waitForHealth(client, catalog, targets, {
      timeoutMs: 90_000,
      failGraceMs: 300_000,
      crashLoopRestarts: 2,
    });
    expect(report.timedOut, describeReport(report)).toBe(false);
    expect(report.failures[0]).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(report.failures[0]!.restartCount).toBeGreaterThanOrEqual(2);
    timings.push(`crashloop at 2 restarts failed after ${report.durationMs} ms (grace 300 s)`);
  });

  it('times out on a never-ready Deployment and lists it with its not-ready pod', async () => {
    const targets = await apply(deployment(ns.name, 'slow', 'registry.local/slow:never-ready'), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fine', namespace: ns.name },
    });
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 8_000, failGraceMs: 2_000 });
    expect(report.ok).toBe(false);
    expect(report.timedOut, describeReport(report)).toBe(true);
    expect(report.durationMs).toBeGreaterThanOrEqual(8_000);
    expect(report.durationMs).toBeLessThan(15_000);
    // Only the object that was not ready is diagnosed.
    expect(report.failures).toHaveLength(1);
    const d = report.failures[0]!;
    expect(d).toMatchObject({
      id: `apps/Deployment/${ns.name}/slow`,
      state: 'progressing',
      container: 'app',
      reason: 'NotReady',
    });
    expect(d.pod).toMatch(/^slow-/);
    expect(d.warnings).toContain('Deployment status: 0/1 replicas available');
    expect(formatDiagnosis(d)).toContain(`pod ${d.pod} container app: NotReady`);
    timings.push(`never-ready timed out after ${report.durationMs} ms (timeout 8 s)`);
  });

  it('waits for a Job to complete', async () => {
    const targets = await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: ns.name },
      spec: {
        backoffLimit: 1,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'migrate', image: 'registry.local/migrate:v1' }],
          },
        },
      },
    });
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000 });
    expect(report.ok, describeReport(report)).toBe(true);
    expect(report.objects[0]).toMatchObject({ state: 'ready', message: 'completed (1 succeeded)' });
    timings.push(`Job complete in ${report.durationMs} ms`);
  });

  it('reports a Job the TTL controller deletes as soon as it completes ready, not missing', async () => {
    const targets = await apply(runOnceJob(ns.name, 'admission-create'));
    // Polls 3 s apart: the Job completes and is deleted between two of them, as in a real sync.
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000, pollMs: 3_000 });
    expect(report.ok, describeReport(report)).toBe(true);
    await waitFor(async () => !(await getObject(client, targets[0]!.type, ns.name, 'admission-create')), {
      what: 'the TTL controller to delete the finished Job',
    });
    timings.push(`ttl-0 Job ready in ${report.durationMs} ms (${report.objects[0]!.message})`);
  });

  it('reports a Job already deleted after completing at the first look ready, by its Completed event', async () => {
    const targets = await apply(runOnceJob(ns.name, 'admission-patch'));
    await waitFor(async () => !(await getObject(client, targets[0]!.type, ns.name, 'admission-patch')), {
      what: 'the Job to complete and be deleted',
    });
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000 });
    expect(report.ok, describeReport(report)).toBe(true);
    expect(report.objects[0]).toMatchObject({
      state: 'ready',
      reason: 'DeletedAfterCompletion',
      message: 'completed, then deleted',
    });
    // Another Job of that name (another uid) has no Completed event of its own: it is not found.
    const other = await waitForHealth(client, catalog, [{ ...targets[0]!, uid: randomUUID() }], {
      timeoutMs: 2_000,
      pollMs: 200,
    });
    expect(other.timedOut, describeReport(other)).toBe(true);
    expect(other.objects[0]).toMatchObject({ state: 'progressing', reason: 'NotFound' });
  });

  it('fails fast on a Job whose pod cannot pull its image', async () => {
    const targets = await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'broken', namespace: ns.name },
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'run', image: 'registry.local/run:fail-pull' }],
          },
        },
      },
    });
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 60_000, failGraceMs: 2_000 });
    expect(report.timedOut, describeReport(report)).toBe(false);
    expect(report.failures[0]).toMatchObject({ reason: 'ImagePullBackOff', container: 'run' });
  });

  it('stops when the signal aborts', async () => {
    const targets = await apply(deployment(ns.name, 'stuck', 'registry.local/stuck:never-ready'));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 1_500);
    try {
      const report = await waitForHealth(client, catalog, targets, {
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      expect(report).toMatchObject({ ok: false, aborted: true, timedOut: false, failures: [] });
      expect(report.durationMs).toBeLessThan(10_000);
    } finally {
      clearTimeout(timer);
    }
  });
});

describe('waitForHealth on a CRD', () => {
  const suffix = randomBytes(3).toString('hex');
  const name = `widgets${suffix}.health.nopea.test`;
  let crdType: ResourceType | undefined;

  afterAll(async () => {
    if (crdType) await deleteObject(client, crdType, '', name);
  });

  it('reports the CRD ready once Established', async () => {
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: 'health.nopea.test',
        scope: 'Namespaced',
        names: {
          plural: `widgets${suffix}`,
          singular: `widget${suffix}`,
          kind: `Widget${suffix}`,
          listKind: `Widget${suffix}List`,
        },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    crdType = typeOf(crd);
    const targets = await apply(crd);
    const report = await waitForHealth(client, catalog, targets, { timeoutMs: 30_000, pollMs: 200 });
    expect(report.ok, describeReport(report)).toBe(true);
    expect(report.objects[0]).toMatchObject({
      id: `apiextensions.k8s.io/CustomResourceDefinition//${name}`,
      state: 'ready',
      message: 'Established',
    });
    timings.push(`CRD Established in ${report.durationMs} ms`);
  });
});
