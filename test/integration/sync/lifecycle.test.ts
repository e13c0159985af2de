// The life of one service through `nopea sync`, on the real sock-shop manifests (29 objects): first
// deploy, a resync that changes nothing, an image change from git, a `kubectl set image` taken back,
// and a file removed from git pruned. The steps build on each other, so they run in order on one
// namespace and one repository.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { SOCK_SHOP, getLive, jsonOf, output, readState, syncCli, versions } from './scenario.js';

const SERVICE = 'sock-shop';
const ns = useNamespace('sync-sockshop', { scope: 'all' });
let repo: TestRepo;

beforeAll(async () => {
  repo = await makeRepo();
  await cp(SOCK_SHOP, path.join(repo.work, 'sock-shop'), { recursive: true });
  await repo.commitAll('sock-shop');
});

afterAll(async () => {
  await repo?.cleanup();
});

function sync(...extra: string[]) {
  return syncCli(['sock-shop', '-s', SERVICE, '-n', ns.name, '--timeout', '90s', ...extra], {
    cwd: repo.work,
  });
}

function imageOf(obj: KubeObject | undefined): string | undefined {
  const spec = obj?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

const deploymentPath = (name: string): string => `/apis/apps/v1/namespaces/${ns.name}/deployments/${name}`;

/** resourceVersions of every object sock-shop has, by kind. */
async function allVersions(): Promise<Record<string, Record<string, string>>> {
  return {
    deployments: await versions(`/apis/apps/v1/namespaces/${ns.name}/deployments`),
    services: await versions(`/api/v1/namespaces/${ns.name}/services`),
    ingresses: await versions(`/apis/networking.k8s.io/v1/namespaces/${ns.name}/ingresses`),
  };
}

describe('sync of sock-shop', () => {
  it('creates all 29 objects on the first sync, waits until healthy and records the deploy', async () => {
    const run = await sync();
    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain('Plan: 29 to create, 0 to update');
    expect(run.stdout).toMatch(
      /Synced sock-shop: 29 created, 0 configured, 0 pruned, 0 unchanged; healthy; deploy [0-9A-Z]{26}, recorded in [0-9a-f]{12}/,
    );

    const deployments = await versions(`/apis/apps/v1/namespaces/${ns.name}/deployments`);
    expect(Object.keys(deployments)).toHaveLength(14);
    // Healthy means every Deployment reports its replicas available.
    for (const name of Object.keys(deployments)) {
      const d = await getLive(deploymentPath(name));
      const status = d?.status as { availableReplicas?: number } | undefined;
      expect(status?.availableReplicas, name).toBeGreaterThanOrEqual(1);
    }

    const state = await readState(repo.remote, SERVICE);
    expect(state.deploys).toHaveLength(1);
    const record = state.deploys[0]!;
    expect(record.outcome).toBe('succeeded');
    expect(record.namespace).toBe(ns.name);
    expect(record.plan.create).toBe(29);
    expect((record.objects ?? []).filter((o) => o.action === 'created')).toHaveLength(29);
    expect(state.inventory?.objects).toHaveLength(29);
    expect(state.inventory?.objects.map((o) => o.id)).toContain(`apps/Deployment/${ns.name}/front-end`);
    expect(state.lastAppliedFiles).toHaveLength(29);
    expect(state.lastApplied.size).toBe(29);
  });

  it('resyncs without writing any object: zero object writes, no resourceVersion changes', async () => {
    // Controllers may still be updating statuses just after the first wait: start from a settled cluster.
    let previous = JSON.stringify(await allVersions());
    const before = await waitFor(
      async () => {
        const now = JSON.stringify(await allVersions());
        const settled = now === previous;
        previous = now;
        return settled && now;
      },
      { what: 'sock-shop objects to stop changing', intervalMs: 1000, timeoutMs: 60_000 },
    );

    const run = await sync('-o', 'json');
    expect(run.code, output(run)).toBe(0);
    const result = jsonOf(run);
    const s = result.services[0]!;
    expect(s.outcome).toBe('succeeded');
    expect(s.plan?.counts).toMatchObject({
      create: 0,
      update: 0,
      drift: 0,
      conflict: 0,
      prune: 0,
      unchanged: 29,
    });
    expect(s.objects.filter((o) => o.action !== 'unchanged')).toEqual([]);
    // In sync: health checked, no lock taken, nothing written to the cluster or recorded.
    expect(s.inSync).toBe(true);
    expect(s.health?.ok).toBe(true);
    // Where a no-op resync's time goes: start-up, the run's stages, then the service's.
    expect(result.startupMs).toBeGreaterThan(0);
    expect(result.stages?.map((st) => st.name)).toEqual(['state', 'discovery']);
    expect(s.stages?.map((st) => st.name)).toEqual(expect.arrayContaining(['source', 'state', 'plan']));
    expect(result.requests.writes).toBe(0);
    expect(result.requests.apply).toBe(0);
    expect(result.requests.create + result.requests.update + result.requests.delete).toBe(0);
    expect(result.requests.lock.total).toBe(0);
    expect(JSON.stringify(await allVersions())).toBe(before);

    const state = await readState(repo.remote, SERVICE);
    expect(state.deploys).toHaveLength(1);
    expect(state.deploys[0]!.id).not.toBe(s.deployId);
    expect(s.stateCommit).toBeUndefined();
  });

  it('applies an image change from git to that Deployment only and waits for it', async () => {
    const file = path.join(repo.work, 'sock-shop/base/front-end-dep.yaml');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('image: weaveworksdemos/front-end:0.3.12');
    await writeFile(file, text.replace('front-end:0.3.12', 'front-end:0.3.13'));
    await repo.commitAll('front-end 0.3.13');
    const before = await versions(`/apis/apps/v1/namespaces/${ns.name}/deployments`);

    const run = await sync('-o', 'json');
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    expect(s.outcome).toBe('succeeded');
    expect(s.objects.filter((o) => o.action !== 'unchanged')).toEqual([
      { id: `apps/Deployment/${ns.name}/front-end`, action: 'configured' },
    ]);
    expect(s.plan?.counts).toMatchObject({ update: 1, unchanged: 28 });

    const live = await getLive(deploymentPath('front-end'));
    expect(imageOf(live)).toBe('weaveworksdemos/front-end:0.3.13');
    const status = live?.status as { updatedReplicas?: number; availableReplicas?: number };
    expect(status.updatedReplicas).toBe(1);
    expect(status.availableReplicas).toBe(1);
    // Only front-end was written (other Deployments' versions may move only by their controllers, which idle).
    const after = await versions(`/apis/apps/v1/namespaces/${ns.name}/deployments`);
    const changed = Object.keys(after).filter((n) => after[n] !== before[n]);
    expect(changed).toEqual(['front-end']);

    const state = await readState(repo.remote, SERVICE);
    expect(state.deploys[0]!.objects).toEqual([
      { id: `apps/Deployment/${ns.name}/front-end`, action: 'configured' },
    ]);
    const la = state.lastApplied.get(`apps/Deployment/${ns.name}/front-end`);
    expect(imageOf(la?.object)).toBe('weaveworksdemos/front-end:0.3.13');
  });

  it('shows a kubectl set image as drift and takes it back without --force-conflicts', async () => {
    await kubectl(['-n', ns.name, 'set', 'image', 'deployment/carts', 'carts=weaveworksdemos/carts:hotfix'], {
      check: true,
    });
    expect(imageOf(await getLive(deploymentPath('carts')))).toBe('weaveworksdemos/carts:hotfix');

    const run = await sync();
    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`! drift\\s+apps/Deployment/${ns.name}/carts\\s.*changed outside nopea: .*image.*kubectl`),
    );
    expect(run.stdout).toContain('0 to create, 0 to update, 1 drifted, 0 in conflict, 0 to prune');
    expect(run.stdout).toMatch(/Synced sock-shop: 0 created, 1 configured, 0 pruned, 28 unchanged; healthy/);
    expect(imageOf(await getLive(deploymentPath('carts')))).toBe('weaveworksdemos/carts:0.4.8');
  });

  it('prunes the object of a file removed from git, from the cluster and from the state', async () => {
    const kustomization = path.join(repo.work, 'sock-shop/kustomization.yaml');
    const text = await readFile(kustomization, 'utf8');
    await writeFile(kustomization, text.replace('  - base/carts-db-svc.yaml\n', ''));
    await rm(path.join(repo.work, 'sock-shop/base/carts-db-svc.yaml'));
    await repo.commitAll('drop the carts-db Service');
    const id = `/Service/${ns.name}/carts-db`;

    const run = await sync('-o', 'json');
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    expect(s.plan?.counts).toMatchObject({ prune: 1, unchanged: 28 });
    expect(s.objects.filter((o) => o.action !== 'unchanged')).toEqual([{ id, action: 'pruned' }]);
    expect(await getLive(`/api/v1/namespaces/${ns.name}/services/carts-db`)).toBeUndefined();

    const state = await readState(repo.remote, SERVICE);
    expect(state.inventory?.objects).toHaveLength(28);
    expect(state.inventory?.objects.map((o) => o.id)).not.toContain(id);
    expect(state.lastApplied.has(id)).toBe(false);
    expect(state.lastAppliedFiles).toHaveLength(28);
    expect(state.deploys[0]!.objects).toEqual([{ id, action: 'pruned' }]);
  });
});
