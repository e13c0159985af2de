// `nopea sync --dry-run`: the plan and the guard with the server's dry-run, and no write anywhere:
// not to the cluster (objects, Lease), not to the state branch.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { getLive, jsonOf, output, scenario, stateTip, syncCli } from './scenario.js';

describe('sync --dry-run', () => {
  const ns = useNamespace('sync-dryrun');

  it('writes nothing on a first deploy, nor after a change to a deployed service', async () => {
    const repo = await makeRepo({
      files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const args = ['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'];
    const deployment = `/apis/apps/v1/namespaces/${ns.name}/deployments/web`;
    const lease = `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/nopea-web`;

    const dry = await syncCli([...args, '--dry-run', '-o', 'json'], { cwd: repo.work });
    expect(dry.code, output(dry)).toBe(0);
    const result = jsonOf(dry);
    expect(result.services[0]!.outcome).toBe('dry-run');
    expect(result.services[0]!.plan?.counts).toMatchObject({ create: 2 });
    expect(result.services[0]!.stateCommit).toBeUndefined();
    // Not even the lock: a dry run takes no Lease.
    expect(result.requests.writes).toBe(0);
    expect(result.requests.lock.total).toBe(0);
    expect(await getLive(deployment)).toBeUndefined();
    expect(await getLive(`/api/v1/namespaces/${ns.name}/configmaps/web-settings`)).toBeUndefined();
    expect(await getLive(lease)).toBeUndefined();
    expect(await stateTip(repo.remote)).toBe('');

    const text = await syncCli([...args, '--dry-run'], { cwd: repo.work });
    expect(text.code, output(text)).toBe(0);
    expect(text.stdout).toContain('Plan: 2 to create');
    expect(text.stdout).toMatch(/Dry run of web: nothing written/);

    const real = await syncCli(args, { cwd: repo.work });
    expect(real.code, output(real)).toBe(0);
    const tip = await stateTip(repo.remote);
    expect(tip).not.toBe('');

    const file = path.join(repo.work, 'app/deployment.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('web:1.0.0', 'web:1.1.0'));
    await repo.commitAll('web 1.1.0');
    const before = await getLive(deployment);

    const change = await syncCli([...args, '--dry-run'], { cwd: repo.work });
    expect(change.code, output(change)).toBe(0);
    expect(change.stdout).toMatch(/~ update\s+apps\/Deployment\/\S+\/web/);
    expect(change.stdout).toMatch(/^-\s+- image: registry\.example\/web:1\.0\.0$/m);
    expect(change.stdout).toMatch(/^\+\s+- image: registry\.example\/web:1\.1\.0$/m);
    const after = await getLive(deployment);
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    const image = (after?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec
      .containers[0]!.image;
    expect(image).toBe('registry.example/web:1.0.0');
    expect(await stateTip(repo.remote)).toBe(tip);
    expect(await getLive(lease)).toBeUndefined();
  });

  it('refuses with exit 2 what the guard refuses, still writing nothing', async () => {
    const repo = await makeRepo({
      files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const args = ['app', '-s', 'web', '-n', ns.name, '--no-wait'];
    const real = await syncCli(args, { cwd: repo.work });
    expect(real.code, output(real)).toBe(0);
    const tip = await stateTip(repo.remote);

    await rm(path.join(repo.work, 'app/config.yaml'));
    await repo.commitAll('drop the ConfigMap');
    const dry = await syncCli([...args, '--dry-run', '--max-prune', '0'], { cwd: repo.work });
    expect(dry.code, output(dry)).toBe(2);
    expect(dry.stderr).toContain('more than --max-prune 0 allows');
    expect(await getLive(`/api/v1/namespaces/${ns.name}/configmaps/web-settings`)).toBeDefined();
    expect(await stateTip(repo.remote)).toBe(tip);
  });
});
