// Signals at every stage of a sync, the way CI runners cancel a job: SIGINT, then SIGTERM moments
// later. The rule: after the first signal no new write starts; whatever was applied is recorded as
// cancelled; the Lease is released; the second signal never skips the record. Each stage is made slow
// on the real cluster (or the real git remote) so the signals land inside it.
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { apiRequest, testCluster, useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import { deleteIfPresent, getLive, output, readState, scenario, stateTip } from './scenario.js';

const SERVICE = 'web';

interface Cancelled {
  run: NopeaRun;
  /** Whether the signals were sent (the awaited stage was reached). */
  signalled: boolean;
}

/**
 * Runs `nopea sync` and, once `reached(stderr)` says the stage began (or `trigger` resolves), sends
 * SIGINT and, right after, SIGTERM.
 */
async function syncAndCancel(
  repo: TestRepo,
  ns: string,
  extra: string[],
  when: { reached?: (stderr: string) => boolean; trigger?: Promise<unknown> },
): Promise<Cancelled> {
  const cluster = testCluster();
  let child: ChildProcess | undefined;
  let signalled = false;
  const cancel = (): void => {
    if (signalled || !child) return;
    signalled = true;
    child.kill('SIGINT');
    child.kill('SIGTERM');
  };
  void when.trigger?.then(cancel);
  const run = await runNopea(
    ['sync', 'app', '-s', SERVICE, '-n', ns, '--kubeconfig', cluster.kubeconfig, ...extra],
    {
      cwd: repo.work,
      env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl },
      onSpawn: (c) => (child = c),
      onStderr: (soFar) => {
        if (when.reached?.(soFar)) cancel();
      },
    },
  );
  return { run, signalled };
}

const lease = (ns: string): string => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/nopea-${SERVICE}`;

/** The invariants after a cancelled run that wrote something: recorded as cancelled, lock released. */
async function expectRecordedCancelled(repo: TestRepo, ns: string, c: Cancelled): Promise<void> {
  expect(c.signalled, output(c.run)).toBe(true);
  expect(c.run.code, output(c.run)).toBe(1);
  expect(c.run.stdout).toMatch(new RegExp(`Cancelled ${SERVICE}:`));
  const state = await readState(repo.remote, SERVICE);
  expect(state.deploys.map((d) => d.outcome)).toEqual(['cancelled']);
  expect(state.deploys[0]!.error?.kind).toBe('cancelled');
  // Whatever exists in the cluster of the desired objects is in the inventory: nothing applied is lost.
  const inventory = new Set(state.inventory?.objects.map((o) => o.id));
  for (const [id, apiPath] of [
    [`/ConfigMap/${ns}/web-settings`, `/api/v1/namespaces/${ns}/configmaps/web-settings`],
    [`apps/Deployment/${ns}/web`, `/apis/apps/v1/namespaces/${ns}/deployments/web`],
  ] as const) {
    if (await getLive(apiPath)) expect(inventory, id).toContain(id);
  }
  expect(await getLive(lease(ns))).toBeUndefined();
}

async function webRepo(tag: string, more: Record<string, string> = {}): Promise<TestRepo> {
  const repo = await makeRepo({
    files: { ...(await scenario('web', { TAG: tag, REPLICAS: '1', MIN_READY: '0' }, 'app')), ...more },
  });
  onTestFinished(() => repo.cleanup());
  return repo;
}

describe('SIGINT then SIGTERM', () => {
  const ns = useNamespace('sync-signals');

  it('while waiting for the lock: nothing written, nothing recorded, the other holder keeps its Lease', async () => {
    const repo = await webRepo('1.0.0');
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const held = await apiRequest('POST', `/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `nopea-${SERVICE}`, namespace: ns.name },
      spec: { holderIdentity: 'another-run', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now },
    });
    expect(held.status).toBe(201);
    const c = await syncAndCancel(repo, ns.name, [], { reached: (e) => e.includes('waiting for the lock') });
    expect(c.signalled, output(c.run)).toBe(true);
    expect(c.run.code, output(c.run)).toBe(1);
    expect(c.run.stdout).toMatch(/Cancelled web: nothing was changed, no deploy recorded/);
    expect(await stateTip(repo.remote)).toBe('');
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();
    const after = await getLive(lease(ns.name));
    expect((after?.spec as { holderIdentity?: string }).holderIdentity).toBe('another-run');
  });

  it('during an apply wave: what was applied is recorded as cancelled', async () => {
    // Many objects in the first waves keep the apply busy long enough for the signals to land in it.
    const many: Record<string, string> = {};
    for (let i = 0; i < 150; i++) {
      many[`app/many/cm-${i}.yaml`] =
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many-${i}\ndata:\n  i: "${i}"\n`;
    }
    const repo = await webRepo('1.0.0', many);
    const c = await syncAndCancel(repo, ns.name, [], { reached: (e) => /web: apply/.test(e) });
    await expectRecordedCancelled(repo, ns.name, c);
    // Each ConfigMap that made it into the cluster is tracked, those cut short in flight included.
    const state = await readState(repo.remote, SERVICE);
    const inventory = new Set(state.inventory?.objects.map((o) => o.id));
    const live = await apiRequest<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${ns.name}/configmaps`,
    );
    for (const item of live.body.items.filter((i) => i.metadata.name.startsWith('many-'))) {
      expect(inventory).toContain(`/ConfigMap/${ns.name}/${item.metadata.name}`);
    }
  });

  it('during the CRD Established wait: the CRD applied before the signal is in the inventory', async () => {
    // A CRD whose kind another CRD of the group already uses is never Established (NamesAccepted=False).
    const group = `${ns.name}.signals.example`;
    const crd = (plural: string): Record<string, unknown> => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural, singular: plural.slice(0, -1), kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    const first = await apiRequest(
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      crd('widgets'),
    );
    expect(first.status).toBe(201);
    onTestFinished(() =>
      deleteIfPresent(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`),
    );
    onTestFinished(() =>
      deleteIfPresent(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`),
    );
    const repo = await webRepo('1.0.0', { 'app/crd.yaml': JSON.stringify(crd('gadgets')) });
    const c = await syncAndCancel(repo, ns.name, [], {
      reached: (e) =>
        e.includes(`created    apiextensions.k8s.io/CustomResourceDefinition//gadgets.${group}`),
    });
    expect(c.signalled, output(c.run)).toBe(true);
    expect(c.run.code, output(c.run)).toBe(1);
    const state = await readState(repo.remote, SERVICE);
    expect(
      state.deploys.map((d) => d.outcome),
      output(c.run),
    ).toEqual(['cancelled']);
    expect(state.inventory?.objects.map((o) => o.id)).toContain(
      `apiextensions.k8s.io/CustomResourceDefinition//gadgets.${group}`,
    );
    expect(await getLive(lease(ns.name))).toBeUndefined();
  });

  it('during prune: the record keeps what was not pruned', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 150; i++) {
      many[`app/many/cm-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many-${i}\n`;
    }
    const repo = await webRepo('1.0.0', many);
    const cluster = testCluster();
    const first = await runNopea(
      ['sync', 'app', '-s', SERVICE, '-n', ns.name, '--kubeconfig', cluster.kubeconfig],
      { cwd: repo.work, env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl } },
    );
    expect(first.code, output(first)).toBe(0);
    await rm(path.join(repo.work, 'app/many'), { recursive: true });
    await repo.commitAll('retire the many');
    const c = await syncAndCancel(repo, ns.name, ['--max-prune', '200'], {
      reached: (e) => /web: prune/.test(e),
    });
    expect(c.signalled, output(c.run)).toBe(true);
    expect(c.run.code, output(c.run)).toBe(1);
    const state = await readState(repo.remote, SERVICE);
    expect(state.deploys[0]!.outcome).toBe('cancelled');
    // Every object still in the cluster is still in the inventory, so a later sync prunes it.
    const left = await apiRequest<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${ns.name}/configmaps`,
    );
    const inventory = new Set(state.inventory?.objects.map((o) => o.id));
    for (const item of left.body.items.filter((i) => i.metadata.name.startsWith('many-'))) {
      expect(inventory).toContain(`/ConfigMap/${ns.name}/${item.metadata.name}`);
    }
    expect(await getLive(lease(ns.name))).toBeUndefined();
  });

  it('during the health wait: recorded as cancelled, the lock released', async () => {
    const repo = await webRepo('never-ready');
    const c = await syncAndCancel(repo, ns.name, ['--timeout', '5m'], {
      reached: (e) => /web: wait/.test(e),
    });
    await expectRecordedCancelled(repo, ns.name, c);
  });

  it('during the record: the record is written all the same', async () => {
    const repo = await webRepo('1.0.0');
    // A pre-receive hook that holds the push until the test lets it go (bounded, so it cannot hang).
    const dir = await mkdtemp(path.join(tmpdir(), 'nopea-hook-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const started = path.join(dir, 'started');
    const release = path.join(dir, 'release');
    const hook = path.join(repo.remote, 'hooks/pre-receive');
    await writeFile(
      hook,
      `#!/bin/sh\ncat >/dev/null\ntouch '${started}'\ni=0\nwhile [ ! -e '${release}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\nexit 0\n`,
    );
    await chmod(hook, 0o755);
    const pushing = waitFor(() => stat(started).then(() => true), {
      what: 'the record push',
      timeoutMs: 90_000,
    });
    const cancelling = syncAndCancel(repo, ns.name, [], { trigger: pushing });
    // The signals go out first (registered first on the same promise); then the push may finish.
    void pushing.then(() => writeFile(release, ''));
    const c = await cancelling;
    const run = c.run;
    expect(c.signalled, output(run)).toBe(true);
    const state = await readState(repo.remote, SERVICE);
    expect(state.deploys).toHaveLength(1);
    // Everything was applied and healthy before the signals: the deploy itself succeeded.
    expect(state.deploys[0]!.outcome).toBe('succeeded');
    expect(run.code, output(run)).toBe(0);
    expect(await getLive(lease(ns.name))).toBeUndefined();
  });
});
