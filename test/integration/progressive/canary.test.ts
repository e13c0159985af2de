// Canary with the real Kulta controller, the real API server and a real state branch: a service that
// runs as a plain Deployment is handed over to a Rollout; the sync walks a timed pause, stops at a
// manual gate (exit 4, with the commands to go on); `nopea promote` from a second process passes the
// gate; the canary completes and is finalised (stable holds every replica, on the new template); a
// canary whose analysis fails is rolled back (exit 1). The service's endpoints are sampled all along
// and never drop to zero.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { apiRequest, useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { setRolloutMetrics } from '../../helpers/prometheus.js';
import { getLive, output, readState } from '../sync/scenario.js';
import { appFiles as files, nopea, replicaSet, sampleEndpoints } from './app.js';

const readyReplicas = async (ns: string, rs: string): Promise<number> => (await replicaSet(ns, rs)).ready;

describe('canary with Kulta', () => {
  const ns = useNamespace('canary');

  it('hands a Deployment over, stops at a gate, is promoted from another process, and finalises', async () => {
    const repo = await makeRepo({ files: files('registry.example/web:1', 'web') });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', 'web', '-n', ns.name];
    const direct = await nopea(['sync', ...base, '--timeout', '90s'], repo);
    expect(direct.code, output(direct)).toBe(0);
    await waitFor(async () => (await readyReplicas(ns.name, (await firstReplicaSet(ns.name)) ?? '-')) === 4, {
      what: 'the Deployment at 4 ready replicas',
    });

    const sampler = sampleEndpoints(ns.name, 'web');
    for (const [file, text] of Object.entries(files('registry.example/web:2', 'web'))) {
      await writeFile(path.join(repo.work, file), text);
    }
    await repo.commitAll('web 2');
    const canary = await nopea(
      ['sync', ...base, '--strategy', 'canary', '--canary-steps', '25:2s,50:gate,100', '--timeout', '30s'],
      repo,
    );
    expect(canary.code, output(canary)).toBe(4);
    expect(canary.stderr).toMatch(/rollout Progressing step 1\/3 25%/);
    expect(canary.stderr).toMatch(/waiting at a gate/);
    expect(canary.stderr).toContain('nopea promote');
    let state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('paused');
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();

    const promoted = await nopea(['promote', '-s', 'web', '--timeout', '60s'], repo);
    expect(promoted.code, output(promoted)).toBe(0);
    expect(promoted.stdout).toMatch(/completed/);
    await waitFor(async () => (await readyReplicas(ns.name, 'web-stable')) === 4, {
      what: 'stable with every replica',
    });
    const stable = await getLive(`/apis/apps/v1/namespaces/${ns.name}/replicasets/web-stable`);
    const image = (stable?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec
      .containers[0]!.image;
    expect(image).toBe('registry.example/web:2');
    state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('succeeded');
    const { min, samples } = await sampler.stop();
    expect(samples).toBeGreaterThan(10);
    expect(min, 'ready endpoints of Service web never dropped to zero').toBeGreaterThan(0);
  });

  it('says a promote was made when its record cannot be written', async () => {
    const name = `nr-${ns.name.slice(-6)}`;
    const repo = await makeRepo({ files: files('registry.example/web:1', name) });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', name, '-n', ns.name];
    const canary = await nopea(
      ['sync', ...base, '--strategy', 'canary', '--canary-steps', '50:gate,100', '--timeout', '60s'],
      repo,
    );
    expect(canary.code, output(canary)).toBe(4);
    const hook = path.join(repo.remote, 'hooks/pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "the state branch is frozen" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const promoted = await nopea(['promote', '-s', name, '--timeout', '60s'], repo);
    expect(promoted.code, output(promoted)).toBe(1);
    expect(promoted.stderr).toMatch(/could not push branch nopea-state of remote origin/);
    expect(promoted.stderr).toMatch(
      new RegExp(`the promote of deploy [0-9A-Z]{26} was made \\(outcome succeeded\\) but is not recorded`),
    );
    expect(promoted.stderr).toContain(`the Rollout ${ns.name}/${name} has moved`);
    expect((await readState(repo.remote, name)).deploys[0]!.outcome).toBe('paused');
  }, 240_000);

  it('rolls a canary back when its analysis fails, and exits 1', async () => {
    const name = `an-${ns.name.slice(-6)}`;
    const repo = await makeRepo({
      files: {
        ...files('registry.example/web:1', name),
        'nopea.yaml': `services:\n  - name: ${name}\n    paths: [app]\n    namespace: ${ns.name}\n    strategy: canary\n    canary:\n      steps: [{weight: 50, pause: 1m}, {weight: 100}]\n      analysis:\n        metrics: [{name: error-rate, threshold: 5}]\n`,
      },
    });
    onTestFinished(() => repo.cleanup());
    await setRolloutMetrics(name, { 'error-rate': 50 });
    const run = await nopea(['sync', '--timeout', '60s'], repo);
    expect(run.code, output(run)).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`ROLLED BACK ${name}`));
    const state = await readState(repo.remote, name);
    expect(state.deploys[0]!.outcome).toBe('rolled-back');
    expect(state.deploys[0]!.error?.reasons).toContain('RolloutFailed');
    await waitFor(async () => (await readyReplicas(ns.name, `${name}-canary`)) === 0, {
      what: 'no canary replicas',
    });
  });
});

async function firstReplicaSet(ns: string): Promise<string | undefined> {
  const res = await apiRequest<{ items: { metadata: { name: string } }[] }>(
    'GET',
    `/apis/apps/v1/namespaces/${ns}/replicasets`,
  );
  return res.body.items[0]?.metadata.name;
}
