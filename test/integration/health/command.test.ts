// `nopea health [SERVICE]` against the real test cluster and a real state branch: a service deployed
// with `nopea sync` is healthy (exit 0); an image that cannot be pulled fails it with the pod's reason
// (exit 1); a deleted object is missing; a canary waiting at a gate is progressing, not failed; every
// service is checked without a name; an unknown service, a cluster out of reach and a user without
// rights are errors. Nothing is ever written: the state branch keeps its tip, the objects their
// resourceVersions, and no Lease appears.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { kubectl, testCluster, useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import type { HealthResult, ObjectHealthResult } from '../../../src/surface/health.js';
import { appFiles, nopea } from '../progressive/app.js';
import { getLive, output, scenario, stateTip, syncCli } from '../sync/scenario.js';

/** Runs `nopea health <args>` in the repository against the test cluster (admin unless told). */
function healthCli(args: string[], repo: TestRepo, kubeconfig = testCluster().kubeconfig): Promise<NopeaRun> {
  return runNopea(['health', ...args, '--kubeconfig', kubeconfig], {
    cwd: repo.work,
    env: { KUBECONFIG: '' },
  });
}

function json(run: NopeaRun): HealthResult {
  try {
    return JSON.parse(run.stdout) as HealthResult;
  } catch {
    throw new Error(`not JSON: ${output(run)}`);
  }
}

function objectOf(result: HealthResult, kind: string, service = 'web'): ObjectHealthResult | undefined {
  return result.services.find((s) => s.service === service)?.objects.find((o) => o.kind === kind);
}

async function webRepo(extra: Record<string, string> = {}): Promise<TestRepo> {
  const repo = await makeRepo({
    files: { ...(await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app')), ...extra },
  });
  onTestFinished(() => repo.cleanup());
  return repo;
}

const deploymentPath = (ns: string): string => `/apis/apps/v1/namespaces/${ns}/deployments/web`;
const configMapPath = (ns: string): string => `/api/v1/namespaces/${ns}/configmaps/web-settings`;
const leasePath = (ns: string, service: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/nopea-${service}`;

async function resourceVersions(ns: string): Promise<unknown[]> {
  return Promise.all(
    [deploymentPath(ns), configMapPath(ns)].map(async (p) => (await getLive(p))?.metadata.resourceVersion),
  );
}

describe('nopea health of one service', () => {
  const ns = useNamespace('health');

  it('is healthy after a sync, fails with the pod reason when broken, reports deleted objects missing, writes nothing', async () => {
    const repo = await webRepo();
    const synced = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'], { cwd: repo.work });
    expect(synced.code, output(synced)).toBe(0);
    const tip = await stateTip(repo.remote);
    expect(tip).not.toBe('');

    const text = await healthCli(['web'], repo);
    expect(text.code, output(text)).toBe(0);
    expect(text.stdout).toContain(`web (${ns.name}): healthy (2 healthy)`);
    expect(text.stdout).toContain(`  healthy     apps/Deployment/${ns.name}/web: `);
    expect(text.stdout).toContain(`  healthy     /ConfigMap/${ns.name}/web-settings: applied`);

    const healthy = await healthCli(['web', '-o', 'json'], repo);
    expect(healthy.code, output(healthy)).toBe(0);
    const result = json(healthy);
    expect(result.healthy).toBe(true);
    expect(result.stateCommit).toBe(tip);
    expect(result.services).toHaveLength(1);
    expect(result.services[0]).toMatchObject({ service: 'web', namespace: ns.name, healthy: true });
    expect(result.services[0]!.objects.map((o) => [o.id, o.kind, o.name, o.namespace, o.state])).toEqual([
      [`/ConfigMap/${ns.name}/web-settings`, 'ConfigMap', 'web-settings', ns.name, 'healthy'],
      [`apps/Deployment/${ns.name}/web`, 'Deployment', 'web', ns.name, 'healthy'],
    ]);

    // Broken by hand: the new ReplicaSet's pod cannot pull its image.
    await kubectl(['set', 'image', '-n', ns.name, 'deployment/web', 'web=registry.example/web:fail-pull'], {
      check: true,
    });
    let broken: NopeaRun | undefined;
    await expect
      .poll(
        async () => {
          broken = await healthCli(['web', '-o', 'json'], repo);
          return broken.code === 1 ? objectOf(json(broken), 'Deployment')?.state : broken.code;
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe('failed');
    const failedResult = json(broken!);
    expect(failedResult.healthy).toBe(false);
    expect(failedResult.services[0]!.healthy).toBe(false);
    const deployment = objectOf(failedResult, 'Deployment')!;
    expect(deployment.reason).toBe('ImagePullBackOff');
    expect(deployment.diagnostics?.reason).toBe('ImagePullBackOff');
    expect(deployment.diagnostics?.pod).toMatch(/^web-[a-z0-9]+-[a-z0-9]+$/);
    expect(deployment.diagnostics?.container).toBe('web');
    expect(objectOf(failedResult, 'ConfigMap')?.state).toBe('healthy');

    const brokenText = await healthCli(['web'], repo);
    expect(brokenText.code, output(brokenText)).toBe(1);
    expect(brokenText.stdout).toContain(`web (${ns.name}): NOT HEALTHY (1 healthy, 1 failed)`);
    expect(brokenText.stdout).toMatch(
      new RegExp(
        `failed {6}apps/Deployment/${ns.name}/web: pod web-[a-z0-9-]+ container web: ImagePullBackOff`,
      ),
    );

    await kubectl(['delete', 'configmap', '-n', ns.name, 'web-settings', '--wait=true'], { check: true });
    const missing = await healthCli(['web', '-o', 'json'], repo);
    expect(missing.code, output(missing)).toBe(1);
    expect(objectOf(json(missing), 'ConfigMap')).toMatchObject({
      state: 'missing',
      reason: 'NotFound',
      message: 'not found in the cluster',
    });
    const missingText = await healthCli(['web'], repo);
    expect(missingText.stdout).toContain(
      `  missing     /ConfigMap/${ns.name}/web-settings: not found in the cluster`,
    );

    // Nothing written by any of these runs: same tip, no Lease; the Deployment changed only by kubectl.
    expect(await stateTip(repo.remote)).toBe(tip);
    expect(await getLive(leasePath(ns.name, 'web'))).toBeUndefined();
    const after = await getLive(deploymentPath(ns.name));
    const image = (after?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec
      .containers[0]!.image;
    expect(image).toBe('registry.example/web:fail-pull');
  });

  it('leaves every resourceVersion and the state branch as they were', async () => {
    const repo = await webRepo();
    const synced = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'], { cwd: repo.work });
    expect(synced.code, output(synced)).toBe(0);
    const tip = await stateTip(repo.remote);
    // The Deployment's status settles once it is available; wait until two reads agree.
    await expect
      .poll(async () => {
        const a = await resourceVersions(ns.name);
        const b = await resourceVersions(ns.name);
        return JSON.stringify(a) === JSON.stringify(b);
      })
      .toBe(true);
    const before = await resourceVersions(ns.name);
    for (const args of [['web'], ['web', '-o', 'json'], []]) {
      const run = await healthCli(args, repo);
      expect(run.code, output(run)).toBe(0);
    }
    expect(await resourceVersions(ns.name)).toEqual(before);
    expect(await stateTip(repo.remote)).toBe(tip);
    expect(await getLive(leasePath(ns.name, 'web'))).toBeUndefined();
  });
});

describe('nopea health of every service', () => {
  const ns = useNamespace('health-all');

  it('checks every service on the branch without a name, and refuses an unknown one naming the known', async () => {
    const repo = await webRepo({
      'cfg/settings.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-settings\ndata:\n  a: b\n',
    });
    for (const [dir, service] of [
      ['app', 'web'],
      ['cfg', 'cfg'],
    ] as const) {
      const run = await syncCli([dir, '-s', service, '-n', ns.name, '--timeout', '60s'], { cwd: repo.work });
      expect(run.code, output(run)).toBe(0);
    }
    const tip = await stateTip(repo.remote);

    const all = await healthCli(['-o', 'json'], repo);
    expect(all.code, output(all)).toBe(0);
    const result = json(all);
    expect(result.healthy).toBe(true);
    expect(result.services.map((s) => [s.service, s.namespace, s.healthy, s.objects.length])).toEqual([
      ['cfg', ns.name, true, 1],
      ['web', ns.name, true, 2],
    ]);
    const text = await healthCli([], repo);
    expect(text.code, output(text)).toBe(0);
    expect(text.stdout).toContain(`cfg (${ns.name}): healthy (1 healthy)`);
    expect(text.stdout).toContain(`web (${ns.name}): healthy (2 healthy)`);

    // One unhealthy service makes the whole check fail.
    await kubectl(['delete', 'configmap', '-n', ns.name, 'cfg-settings', '--wait=true'], { check: true });
    const one = await healthCli(['-o', 'json'], repo);
    expect(one.code, output(one)).toBe(1);
    expect(json(one).services.map((s) => [s.service, s.healthy])).toEqual([
      ['cfg', false],
      ['web', true],
    ]);
    expect((await healthCli(['web'], repo)).code).toBe(0);

    const unknown = await healthCli(['wbe'], repo);
    expect(unknown.code, output(unknown)).toBe(2);
    expect(unknown.stderr).toContain('service wbe has no deploys on nopea-state');
    expect(unknown.stderr).toContain('services on the branch: cfg, web');
    const unknownJson = await healthCli(['wbe', '-o', 'json'], repo);
    expect(unknownJson.code).toBe(2);
    expect(JSON.parse(unknownJson.stdout)).toMatchObject({ error: { kind: 'input' } });

    expect(await stateTip(repo.remote)).toBe(tip);
  });

  it('gives the cluster errors the rest of nopea gives: unreachable (exit 1), forbidden (exit 2)', async () => {
    const repo = await webRepo();
    const synced = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'], { cwd: repo.work });
    expect(synced.code, output(synced)).toBe(0);

    const forbidden = await healthCli(['web'], repo, testCluster().restrictedKubeconfig);
    expect(forbidden.code, output(forbidden)).toBe(2);
    expect(forbidden.stderr).toMatch(/forbidden/);

    const unreachable = path.join(repo.work, '..', 'unreachable.kubeconfig');
    await writeFile(
      unreachable,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: u}}]',
        'current-context: gone',
        '',
      ].join('\n'),
    );
    const gone = await healthCli(['web', '-o', 'json'], repo, unreachable);
    expect(gone.code, output(gone)).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({ error: { kind: 'cluster' } });
  });
});

describe('nopea health of a canary', () => {
  const ns = useNamespace('health-canary');

  it('reports a Rollout waiting at a gate as progressing, not failed', async () => {
    const repo = await makeRepo({ files: appFiles('registry.example/web:1', 'web') });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', 'web', '-n', ns.name];
    const direct = await nopea(['sync', ...base, '--timeout', '90s'], repo);
    expect(direct.code, output(direct)).toBe(0);
    for (const [file, text] of Object.entries(appFiles('registry.example/web:2', 'web'))) {
      await writeFile(path.join(repo.work, file), text);
    }
    await repo.commitAll('web 2');
    const canary = await nopea(
      ['sync', ...base, '--strategy', 'canary', '--canary-steps', '50:gate,100', '--timeout', '30s'],
      repo,
    );
    expect(canary.code, output(canary)).toBe(4);
    const tip = await stateTip(repo.remote);

    const run = await healthCli(['web', '-o', 'json'], repo);
    expect(run.code, output(run)).toBe(1);
    const rollout = objectOf(json(run), 'Rollout');
    expect(rollout).toMatchObject({ state: 'progressing', reason: 'AtGate' });
    expect(rollout?.message).toContain('waiting at a gate');
    expect(json(run).services[0]!.objects.filter((o) => o.state === 'failed')).toEqual([]);
    const text = await healthCli(['web'], repo);
    expect(text.stdout).toMatch(
      /progressing +kulta\.io\/Rollout\/.*\/web: canary waiting at a gate \(step 1\/2, weight 50%\)/,
    );
    expect(await stateTip(repo.remote)).toBe(tip);
  });
});
