// Apply order in one sync: a CRD before the custom resources that need it (and Established first),
// a Namespace before the objects it holds, whatever the order of the files.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createNamespace, useNamespace } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { deleteIfPresent, getLive, jsonOf, output, readState, scenario, syncCli } from './scenario.js';

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Index of an object in the run's results: the order it was applied in. */
function appliedOrder(objects: { id: string; action: string }[], id: string): number {
  const i = objects.findIndex((o) => o.id === id);
  expect(i, `${id} in ${JSON.stringify(objects)}`).toBeGreaterThanOrEqual(0);
  return i;
}

describe('CRD and custom resource in one sync', () => {
  const ns = useNamespace('sync-crd');

  it('applies the CRD, waits for it, then the resource, which is readable afterwards', async () => {
    const group = `${unique('w')}.nopea.test`;
    onTestFinished(() =>
      deleteIfPresent(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`),
    );
    const repo = await makeRepo({ files: await scenario('crd', { GROUP: group }, 'app') });
    onTestFinished(() => repo.cleanup());

    const run = await syncCli(['app', '-s', 'widgets', '-n', ns.name, '--timeout', '60s', '-o', 'json'], {
      cwd: repo.work,
    });
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    expect(s.outcome).toBe('succeeded');
    const crdId = `apiextensions.k8s.io/CustomResourceDefinition//widgets.${group}`;
    const crId = `${group}/Widget/${ns.name}/small`;
    expect(s.objects).toEqual(
      expect.arrayContaining([
        { id: crdId, action: 'created' },
        { id: crId, action: 'created' },
      ]),
    );
    expect(appliedOrder(s.objects, crdId)).toBeLessThan(appliedOrder(s.objects, crId));
    // The plan could not dry-run the resource before its CRD existed, and said so.
    const planned = s.plan?.entries.find((e) => e.id === crId) as { note?: string } | undefined;
    expect(planned?.note).toMatch(/CRD/);

    const cr = await getLive(`/apis/${group}/v1/namespaces/${ns.name}/widgets/small`);
    expect(cr?.spec).toEqual({ size: 3 });
    const crd = await getLive(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`);
    const conditions = (crd?.status as { conditions?: { type: string; status: string }[] }).conditions;
    expect(conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]),
    );

    const state = await readState(repo.remote, 'widgets');
    expect(state.inventory?.objects.map((o) => o.id).sort()).toEqual([crId, crdId].sort());

    // A second sync sees both as they are: the resource's kind is served now.
    const again = await syncCli(['app', '-s', 'widgets', '-n', ns.name, '-o', 'json'], { cwd: repo.work });
    expect(again.code, output(again)).toBe(0);
    expect(jsonOf(again).services[0]!.plan?.counts).toMatchObject({ create: 0, update: 0, unchanged: 2 });
  });
});

describe('a Namespace created by the same sync', () => {
  it('creates the service namespace first, takes the lock in it and deploys into it', async () => {
    const name = unique('sync-newns');
    onTestFinished(() => deleteIfPresent(`/api/v1/namespaces/${name}`));
    const repo = await makeRepo({ files: await scenario('new-namespace', { NS: name }, 'app') });
    onTestFinished(() => repo.cleanup());

    const run = await syncCli(['app', '-s', 'web', '-n', name, '--timeout', '60s', '-o', 'json'], {
      cwd: repo.work,
    });
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    const nsId = `/Namespace//${name}`;
    // Each object once, the Namespace first.
    expect(s.objects.map((o) => o.id).sort()).toEqual(
      [nsId, `/ConfigMap/${name}/settings`, `apps/Deployment/${name}/web`].sort(),
    );
    expect(s.objects[0]).toEqual({ id: nsId, action: 'created' });
    expect(s.objects.every((o) => o.action === 'created')).toBe(true);
    expect((await getLive(`/apis/apps/v1/namespaces/${name}/deployments/web`))?.status).toMatchObject({
      availableReplicas: 1,
    });

    const state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('succeeded');
    expect((state.deploys[0]!.objects ?? []).map((o) => o.id).sort()).toEqual(
      s.objects.map((o) => o.id).sort(),
    );
    expect(state.inventory?.objects).toHaveLength(3);
    // The lock was taken in the new namespace and given back.
    expect(await getLive(`/apis/coordination.k8s.io/v1/namespaces/${name}/leases/nopea-web`)).toBeUndefined();
  });

  it('creates another namespace the manifests hold before its objects', async () => {
    const ns = await createNamespace('sync-ns-home');
    onTestFinished(() => ns.cleanup());
    const name = unique('sync-newns');
    onTestFinished(() => deleteIfPresent(`/api/v1/namespaces/${name}`));
    const repo = await makeRepo({ files: await scenario('new-namespace', { NS: name }, 'app') });
    onTestFinished(() => repo.cleanup());

    const run = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '60s', '-o', 'json'], {
      cwd: repo.work,
    });
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    const nsId = `/Namespace//${name}`;
    expect(appliedOrder(s.objects, nsId)).toBeLessThan(
      appliedOrder(s.objects, `/ConfigMap/${name}/settings`),
    );
    expect(appliedOrder(s.objects, nsId)).toBeLessThan(
      appliedOrder(s.objects, `apps/Deployment/${name}/web`),
    );
    expect(s.objects).toHaveLength(3);
    expect(await getLive(`/api/v1/namespaces/${name}/configmaps/settings`)).toBeDefined();
  });
});
