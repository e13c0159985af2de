// `nopea diff` on a real-world app (sock-shop, 29 objects) through its life: first plan, deployed and
// recorded, changed in the cluster, changed in git, both, and a file removed.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiRequest, kubectl, useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import {
  SOCK_SHOP,
  applyAsNopea,
  clusterFlags,
  diffJson,
  entry,
  pending,
  recordDeployed,
} from './support.js';

const IMAGE_PATH = 'spec.template.spec.containers[0].image';
const CARTS_IMAGE = 'weaveworksdemos/carts:0.4.8';

interface DeploymentList {
  items: {
    metadata: { generation?: number };
    spec?: { replicas?: number };
    status?: { observedGeneration?: number; availableReplicas?: number };
  }[];
}

/** Waits until `count` Deployments exist in the namespace and every one is observed and available. */
async function waitForRollouts(namespace: string, count: number): Promise<void> {
  await waitFor(
    async () => {
      const { body } = await apiRequest<DeploymentList>(
        'GET',
        `/apis/apps/v1/namespaces/${namespace}/deployments`,
      );
      return (
        body.items.length === count &&
        body.items.every(
          (d) =>
            d.status?.observedGeneration === d.metadata.generation &&
            d.status?.availableReplicas === (d.spec?.replicas ?? 1),
        )
      );
    },
    { what: `${count} Deployments available in ${namespace}`, timeoutMs: 90_000 },
  );
}

describe('nopea diff on sock-shop', () => {
  const ns = useNamespace('diff-sock');
  let repo: TestRepo;

  beforeEach(async () => {
    repo = await makeRepo();
    await cp(SOCK_SHOP, path.join(repo.work, 'sock-shop'), { recursive: true });
    await repo.commitAll('add sock-shop');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  const args = (): string[] => ['sock-shop', '-s', 'sock', '-n', ns.name, ...clusterFlags()];
  const diff = () => diffJson(args(), { cwd: repo.work });
  const cartsDeployment = (): string => `apps/Deployment/${ns.name}/carts`;

  /** Applies sock-shop as nopea would and records it on the state branch. */
  async function deploy(): Promise<void> {
    await applyAsNopea(path.join(repo.work, 'sock-shop'), ns.name);
    await recordDeployed({ work: repo.work, service: 'sock', paths: ['sock-shop'], namespace: ns.name });
  }

  async function editCartsImage(image: string): Promise<void> {
    const file = path.join(repo.work, 'sock-shop/base/carts-dep.yaml');
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`image: ${CARTS_IMAGE}`);
    await writeFile(file, text.replace(`image: ${CARTS_IMAGE}`, `image: ${image}`));
    await repo.commitAll(`carts ${image}`);
  }

  it('plans a first deploy as 29 creates and exits 3 with --exit-code', async () => {
    const { body } = await diff();
    expect(body.plans).toHaveLength(1);
    const [plan] = body.plans;
    expect(plan!.service).toBe('sock');
    expect(plan!.mode).toBe('cluster');
    expect(plan!.stateCommit).toBeUndefined();
    expect(plan!.entries).toHaveLength(29);
    expect(plan!.counts).toEqual({ create: 29, update: 0, drift: 0, conflict: 0, unchanged: 0, prune: 0 });
    expect(new Set(plan!.entries.map((e) => e.namespace))).toEqual(new Set([ns.name]));
    const kinds = plan!.entries.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'Deployment')).toHaveLength(14);
    expect(kinds.filter((k) => k === 'Service')).toHaveLength(14);
    expect(kinds.filter((k) => k === 'Ingress')).toHaveLength(1);
    // Every create names the manifest it comes from.
    const carts = entry(plan!, cartsDeployment());
    expect(carts.origin).toEqual({ file: 'sock-shop/base/carts-dep.yaml', line: 2 });
    expect(carts.after?.spec).toMatchObject({ replicas: 1 });

    const exit = await runNopea(['diff', ...args(), '--exit-code'], { cwd: repo.work });
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(3);
    expect(exit.stdout).toContain('Plan: 29 to create, 0 to update');
  });

  it('shows nothing to do once deployed and recorded, and exits 0 with --exit-code', async () => {
    await applyAsNopea(path.join(repo.work, 'sock-shop'), ns.name);
    // Controllers have acted (status, revision annotations, pods): none of it is a difference.
    await waitForRollouts(ns.name, 14);

    // Nothing recorded yet: every object goes through the server's dry-run, which must match live.
    const unrecorded = (await diff()).body.plans[0]!;
    expect(unrecorded.stateCommit).toBeUndefined();
    expect(pending(unrecorded)).toEqual([]);
    expect(unrecorded.counts.unchanged).toBe(29);

    await recordDeployed({ work: repo.work, service: 'sock', paths: ['sock-shop'], namespace: ns.name });
    const { body } = await diff();
    const [plan] = body.plans;
    expect(plan!.stateCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(pending(plan!)).toEqual([]);
    expect(plan!.counts.unchanged).toBe(29);

    const exit = await runNopea(['diff', ...args(), '--exit-code'], { cwd: repo.work });
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stdout).toContain(
      'Plan: 0 to create, 0 to update, 0 drifted, 0 in conflict, 0 to prune, 29 unchanged',
    );
  });

  it('names kubectl as the field manager of a drifted image', async () => {
    await deploy();
    await kubectl(['set', 'image', '-n', ns.name, 'deployment/carts', 'carts=weaveworksdemos/carts:hotfix'], {
      check: true,
    });
    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!)).toEqual([`drift ${cartsDeployment()}`]);
    const carts = entry(plan!, cartsDeployment());
    expect(carts.drift).toEqual([{ path: IMAGE_PATH, managers: ['kubectl-set'] }]);
    expect(carts.changes).toEqual([
      { path: IMAGE_PATH, op: 'change', before: 'weaveworksdemos/carts:hotfix', after: CARTS_IMAGE },
    ]);
    expect(carts.conflicts).toBeUndefined();
  });

  it('names the managers of a scaled Deployment and a relabelled Service', async () => {
    await deploy();
    // Through the scale subresource, and a plain update of metadata.
    await kubectl(['scale', '-n', ns.name, 'deployment/orders', '--replicas=3'], { check: true });
    await kubectl(['label', '-n', ns.name, 'service/orders', 'name=orders-v2', '--overwrite'], {
      check: true,
    });
    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!).sort()).toEqual(
      [`drift /Service/${ns.name}/orders`, `drift apps/Deployment/${ns.name}/orders`].sort(),
    );
    const deployment = entry(plan!, `apps/Deployment/${ns.name}/orders`);
    expect(deployment.drift).toEqual([{ path: 'spec.replicas', managers: ['kubectl'] }]);
    expect(deployment.changes).toEqual([{ path: 'spec.replicas', op: 'change', before: 3, after: 1 }]);
    const service = entry(plan!, `/Service/${ns.name}/orders`);
    expect(service.drift).toEqual([{ path: 'metadata.labels', managers: ['kubectl-label'] }]);
    expect(service.changes).toEqual([
      { path: 'metadata.labels.name', op: 'change', before: 'orders-v2', after: 'orders' },
    ]);
  });

  it('shows a manifest change as an update of exactly that field', async () => {
    await deploy();
    await editCartsImage('weaveworksdemos/carts:0.4.9');
    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!)).toEqual([`update ${cartsDeployment()}`]);
    const carts = entry(plan!, cartsDeployment());
    expect(carts.changes).toEqual([
      { path: IMAGE_PATH, op: 'change', before: CARTS_IMAGE, after: 'weaveworksdemos/carts:0.4.9' },
    ]);
    expect(carts.drift).toBeUndefined();
  });

  it('shows a change in git and in the cluster on the same field as a conflict over that field', async () => {
    await deploy();
    await kubectl(['set', 'image', '-n', ns.name, 'deployment/carts', 'carts=weaveworksdemos/carts:hotfix'], {
      check: true,
    });
    await editCartsImage('weaveworksdemos/carts:0.4.9');
    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!)).toEqual([`conflict ${cartsDeployment()}`]);
    const carts = entry(plan!, cartsDeployment());
    // Both want the image: a sync must not silently pick git's value.
    expect(carts.conflicts).toEqual([{ path: IMAGE_PATH, managers: ['kubectl-set'] }]);
    expect(carts.drift).toBeUndefined();
    expect(carts.note).toContain('--force-conflicts');
    expect(carts.changes).toEqual([
      {
        path: IMAGE_PATH,
        op: 'change',
        before: 'weaveworksdemos/carts:hotfix',
        after: 'weaveworksdemos/carts:0.4.9',
      },
    ]);
  });

  it('shows a change in git and in the cluster on different fields of one object as a conflict', async () => {
    await deploy();
    await kubectl(['set', 'env', '-n', ns.name, 'deployment/carts', 'ZIPKIN=zipkin.other.example'], {
      check: true,
    });
    await editCartsImage('weaveworksdemos/carts:0.4.9');
    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!)).toEqual([`conflict ${cartsDeployment()}`]);
    const carts = entry(plan!, cartsDeployment());
    const envPath = 'spec.template.spec.containers[0].env[0].value';
    // The drifted field is simply taken back; nothing else owns what git changed.
    expect(carts.drift).toEqual([{ path: envPath, managers: ['kubectl-set'] }]);
    expect(carts.conflicts).toBeUndefined();
    expect(carts.changes).toEqual([
      {
        path: envPath,
        op: 'change',
        before: 'zipkin.other.example',
        after: 'zipkin.jaeger.svc.cluster.local',
      },
      { path: IMAGE_PATH, op: 'change', before: CARTS_IMAGE, after: 'weaveworksdemos/carts:0.4.9' },
    ]);
  });

  it('plans to prune an object whose file was removed', async () => {
    await deploy();
    const kustomization = path.join(repo.work, 'sock-shop/kustomization.yaml');
    const text = await readFile(kustomization, 'utf8');
    expect(text).toContain('  - base/carts-svc.yaml\n');
    await writeFile(kustomization, text.replace('  - base/carts-svc.yaml\n', ''));
    await rm(path.join(repo.work, 'sock-shop/base/carts-svc.yaml'));
    await repo.commitAll('drop the carts service');

    const { body } = await diff();
    const [plan] = body.plans;
    expect(pending(plan!)).toEqual([`prune /Service/${ns.name}/carts`]);
    const pruned = entry(plan!, `/Service/${ns.name}/carts`);
    expect(pruned.origin).toEqual({ file: 'sock-shop/base/carts-svc.yaml', line: 2 });
    expect(pruned.before?.metadata.name).toBe('carts');
    expect(pruned.after).toBeUndefined();
    expect(plan!.counts).toMatchObject({ prune: 1, unchanged: 28 });
  });
});
