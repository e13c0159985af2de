// How `nopea sync` fails: a pod that cannot pull its image (fast, with the reason, recorded), a field
// another manager owns (refused unless forced), a user without rights (refused, saying which), and a
// SIGTERM in the middle of the health wait (recorded as cancelled, lock given back).
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  RESTRICTED_NAMESPACE,
  apiRequest,
  kubectl,
  testCluster,
  useNamespace,
} from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { getLive, output, readState, scenario, stateTip, syncCli } from './scenario.js';

type Vars = { TAG: string; REPLICAS?: string; MIN_READY?: string };

async function webRepo(vars: Vars): Promise<TestRepo> {
  const repo = await makeRepo({
    files: await scenario('web', { REPLICAS: '1', MIN_READY: '0', ...vars }, 'app'),
  });
  onTestFinished(() => repo.cleanup());
  return repo;
}

/** Managers of an object's main resource (status writers left out), optionally those whose fields mention `field`. */
function managersOf(obj: KubeObject | undefined, field = ''): string[] {
  const entries = (obj?.metadata.managedFields ?? []) as {
    manager: string;
    subresource?: string;
    fieldsV1?: unknown;
  }[];
  return entries
    .filter((m) => !m.subresource && JSON.stringify(m.fieldsV1 ?? {}).includes(field))
    .map((m) => m.manager);
}

const leasePath = (ns: string, service: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/nopea-${service}`;

describe('a pod that cannot pull its image', () => {
  const ns = useNamespace('sync-failpull');

  it('fails fast with the reason, exit 1, and records the deploy as failed', async () => {
    const repo = await webRepo({ TAG: 'fail-pull' });
    const started = Date.now();
    const run = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '120s'], { cwd: repo.work });
    const elapsed = Date.now() - started;

    expect(run.code, output(run)).toBe(1);
    // Far below the 120 s timeout: the pull failure ends the wait after its grace period.
    expect(elapsed).toBeLessThan(45_000);
    expect(run.stderr).toContain('service web failed its health check');
    expect(run.stderr).toMatch(/pod web-[a-z0-9-]+ container web: ImagePullBackOff/);
    expect(run.stdout).toMatch(/FAILED web: 2 created, .*; unhealthy; deploy [0-9A-Z]{26}, recorded in/);

    const state = await readState(repo.remote, 'web');
    const record = state.deploys[0]!;
    expect(record.outcome).toBe('failed');
    expect(record.error?.kind).toBe('deploy');
    expect(record.error?.message).toContain('ImagePullBackOff');
    // What was applied stays tracked, so the next sync can fix or prune it.
    expect(state.inventory?.objects).toHaveLength(2);
    expect(await getLive(leasePath(ns.name, 'web'))).toBeUndefined();
  });
});

describe('a state branch the remote refuses to take', () => {
  const ns = useNamespace('sync-norecord');

  it('fails, exit 1, saying what was applied and is not recorded, and how to go on', async () => {
    const repo = await webRepo({ TAG: '1.0.0' });
    const hook = path.join(repo.remote, 'hooks/pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "pushes to this remote are held for review" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const run = await syncCli(['app', '-s', 'web', '-n', ns.name, '--no-wait'], { cwd: repo.work });
    expect(run.code, output(run)).toBe(1);
    expect(run.stderr).toMatch(/could not push branch nopea-state of remote origin/);
    expect(run.stderr).toContain("2 object(s) were applied but are not recorded in the service's inventory");
    expect(run.stderr).toContain('run the sync again before removing any of them from git');
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeDefined();
    expect(await stateTip(repo.remote)).toBe('');
  });
});

describe('a field owned by another field manager', () => {
  const ns = useNamespace('sync-conflict');

  it('stops with exit 2 naming field and manager, and goes through with --force-conflicts', async () => {
    const repo = await webRepo({ TAG: '1.0.0', REPLICAS: '2' });
    const args = ['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'];
    // The Deployment exists already, applied by another manager (a person, another tool) with 3
    // replicas; git sets 2. nopea never applied spec.replicas, so taking it is a conflict, not drift.
    const theirs = await scenario('web', { TAG: '1.0.0', REPLICAS: '3', MIN_READY: '0' });
    const other = await kubectl(
      ['apply', '--server-side', '--field-manager=other', '-n', ns.name, '-f', '-'],
      { input: theirs['deployment.yaml'] },
    );
    expect(other.code, other.stderr).toBe(0);
    const deployment = `/apis/apps/v1/namespaces/${ns.name}/deployments/web`;
    const before = await getLive(deployment);

    const refused = await syncCli(args, { cwd: repo.work });
    expect(refused.code, output(refused)).toBe(2);
    expect(refused.stdout).toMatch(/✗ conflict\s+apps\/Deployment\/\S+\/web/);
    expect(refused.stderr).toMatch(
      /would take over fields another field manager owns: .*spec\.replicas \(owned by other\)/,
    );
    expect(refused.stderr).toContain('--force-conflicts');
    expect(refused.stdout).toContain('Refused web: nothing was changed, no deploy recorded');
    // Nothing written: not the Deployment, not the ConfigMap created alongside, not the branch.
    // (The resourceVersion moves with the controller's status updates; spec and managers do not.)
    const after = await getLive(deployment);
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    expect((after?.spec as { replicas: number }).replicas).toBe(3);
    expect(managersOf(after)).not.toContain('nopea');
    expect(await getLive(`/api/v1/namespaces/${ns.name}/configmaps/web-settings`)).toBeUndefined();
    expect(await stateTip(repo.remote)).toBe('');

    const forced = await syncCli([...args, '--force-conflicts'], { cwd: repo.work });
    expect(forced.code, output(forced)).toBe(0);
    const now = await getLive(deployment);
    expect((now?.spec as { replicas: number }).replicas).toBe(2);
    expect(managersOf(now, '"f:replicas"')).toEqual(['nopea']);
    expect(now?.status).toMatchObject({ availableReplicas: 2 });
    const state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('succeeded');
  });
});

describe('a user without rights in the namespace', () => {
  const ns = useNamespace('sync-forbidden');

  it('is refused with exit 2 and a forbidden message naming verb, resource and namespace', async () => {
    const repo = await webRepo({ TAG: '1.0.0' });
    const restricted = testCluster().restrictedKubeconfig;

    const run = await syncCli(['app', '-s', 'web', '-n', ns.name], {
      cwd: repo.work,
      kubeconfig: restricted,
    });
    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toMatch(/forbidden/);
    expect(run.stderr).toMatch(
      new RegExp(
        // The plan reads first: the first request refused names its verb, resource and namespace.
        `cannot (get|list|create|patch) resource "\\w+" in API group "[\\w.]*" in the namespace "${ns.name}"`,
      ),
    );
    expect(run.stdout).toContain('Refused web: nothing was changed, no deploy recorded');
    expect(await stateTip(repo.remote)).toBe('');

    // With the lock where the user may write, the objects themselves are refused, by name.
    const service = `web-${ns.name.slice(-6)}`;
    onTestFinished(async () => {
      await apiRequest('DELETE', leasePath(RESTRICTED_NAMESPACE, service));
    });
    const objects = await syncCli(
      ['app', '-s', service, '-n', ns.name, '--lock-namespace', RESTRICTED_NAMESPACE],
      { cwd: repo.work, kubeconfig: restricted },
    );
    expect(objects.code, output(objects)).toBe(2);
    expect(objects.stderr).toMatch(
      new RegExp(
        `forbidden: .*cannot (get|list|patch) resource "(deployments|configmaps)" in API group "(apps)?" in the namespace "${ns.name}"`,
      ),
    );
    expect(objects.stdout).toContain('nothing was changed');
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();
    expect(await getLive(`/api/v1/namespaces/${ns.name}/configmaps/web-settings`)).toBeUndefined();
    expect(await getLive(leasePath(RESTRICTED_NAMESPACE, service))).toBeUndefined();
    expect(await stateTip(repo.remote)).toBe('');
  });

  it('syncs where the same user has rights (a Role in its namespace only)', async () => {
    // The namespace is shared with other tests: names unique to this run, removed afterwards.
    const suffix = ns.name.slice(-6);
    const service = `restricted-${suffix}`;
    const repo = await makeRepo({
      files: {
        'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-${suffix}\ndata:\n  a: b\n`,
      },
    });
    onTestFinished(() => repo.cleanup());
    onTestFinished(async () => {
      await apiRequest('DELETE', `/api/v1/namespaces/${RESTRICTED_NAMESPACE}/configmaps/settings-${suffix}`);
    });

    const run = await syncCli(['app', '-s', service, '-n', RESTRICTED_NAMESPACE], {
      cwd: repo.work,
      kubeconfig: testCluster().restrictedKubeconfig,
    });
    expect(run.code, output(run)).toBe(0);
    expect(
      await getLive(`/api/v1/namespaces/${RESTRICTED_NAMESPACE}/configmaps/settings-${suffix}`),
    ).toBeDefined();
    expect(await getLive(leasePath(RESTRICTED_NAMESPACE, service))).toBeUndefined();
  });
});

describe('SIGTERM during the health wait', () => {
  const ns = useNamespace('sync-sigterm');
  let repo: TestRepo;

  beforeAll(async () => {
    repo = await makeRepo({
      files: await scenario('web', { TAG: 'never-ready', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
  });
  afterAll(() => repo?.cleanup());

  it('exits promptly with code 1, records the deploy as cancelled and releases the lock', async () => {
    let signalledAt = 0;
    const run = await syncCli(['app', '-s', 'web', '-n', ns.name, '--timeout', '10m'], {
      cwd: repo.work,
      timeoutMs: 90_000,
      onSpawn: (child) => {
        let seen = '';
        child.stderr?.on('data', (d: Buffer) => {
          seen += d.toString();
          // Once a poll has reported the pod not ready, the run is inside the wait.
          if (!signalledAt && /web: wait\n[\s\S]*\d\/2 ready after/.test(seen)) {
            signalledAt = Date.now();
            child.kill('SIGTERM');
          }
        });
      },
    });
    expect(signalledAt, output(run)).toBeGreaterThan(0);
    const exitedAfter = Date.now() - signalledAt;

    expect(run.code, output(run)).toBe(1);
    expect(exitedAfter).toBeLessThan(15_000);
    expect(run.stderr).toContain('SIGTERM received');
    expect(run.stderr).toContain('sync cancelled by a signal');
    expect(run.stdout).toMatch(/Cancelled web: 2 created/);

    const state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('cancelled');
    expect(state.inventory?.objects).toHaveLength(2);
    const lease = await getLive(leasePath(ns.name, 'web'));
    const holder = (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
    expect(lease === undefined || !holder, JSON.stringify(lease)).toBe(true);
    // What was applied stays: cancelling stops nopea, not the rollout.
    const live: KubeObject | undefined = await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`);
    expect(live).toBeDefined();
  });
});
