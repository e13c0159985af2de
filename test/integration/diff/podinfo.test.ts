// podinfo's kustomize base (Deployment, Service, HorizontalPodAutoscaler) plans as creates, and once
// deployed stays unchanged while the autoscaler changes the replica count nopea never set.
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiRequest, useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { PODINFO, applyAsNopea, clusterFlags, diffJson, pending, recordDeployed } from './support.js';

describe('nopea diff on podinfo', () => {
  const ns = useNamespace('diff-podinfo');
  let repo: TestRepo;

  beforeEach(async () => {
    repo = await makeRepo();
    await cp(PODINFO, path.join(repo.work, 'podinfo'), { recursive: true });
    await repo.commitAll('add podinfo');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  const diff = () =>
    diffJson(['podinfo', '-s', 'podinfo', '-n', ns.name, ...clusterFlags()], { cwd: repo.work });

  it('renders the kustomization and plans every object as a create in its namespace', async () => {
    const { body } = await diff();
    const plan = body.plans[0]!;
    expect(plan.entries.map((e) => `${e.action} ${e.id}`)).toEqual([
      `create /Service/${ns.name}/podinfo`,
      `create apps/Deployment/${ns.name}/podinfo`,
      `create autoscaling/HorizontalPodAutoscaler/${ns.name}/podinfo`,
    ]);
    // Origins point into the kustomization's files, not at the rendered stream.
    expect(plan.entries.map((e) => e.origin?.file).sort()).toEqual([
      'podinfo/deployment.yaml',
      'podinfo/hpa.yaml',
      'podinfo/service.yaml',
    ]);
    // The server's dry-run defaults are part of what will be created.
    const service = plan.entries.find((e) => e.kind === 'Service')!;
    expect(service.after?.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None' });
  });

  it('stays unchanged once deployed, after the autoscaler raised the replicas', async () => {
    await applyAsNopea(path.join(repo.work, 'podinfo'), ns.name);
    await recordDeployed({ work: repo.work, service: 'podinfo', paths: ['podinfo'], namespace: ns.name });
    // minReplicas 2: the HPA controller scales the Deployment up without needing metrics.
    await waitFor(
      async () =>
        (
          await apiRequest<{ spec: { replicas: number } }>(
            'GET',
            `/apis/apps/v1/namespaces/${ns.name}/deployments/podinfo`,
          )
        ).body.spec.replicas === 2,
      { what: 'the HPA to scale podinfo to 2 replicas', timeoutMs: 90_000, intervalMs: 500 },
    );
    const { body } = await diff();
    expect(pending(body.plans[0]!)).toEqual([]);
    expect(body.plans[0]!.counts.unchanged).toBe(3);
  });
});
