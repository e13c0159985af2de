// The rest of a progressive rollout's life with the real Kulta controller: --no-wait (exit 4, the
// commands to go on), rollback from a later run (every replica back on the old template, recorded,
// remembered), a second canary after a completed one, a sync that resumes a rollout left waiting
// instead of applying again, the way back to a plain Deployment, and blue-green (preview, promote,
// rollback before promotion). Endpoints of the service's own Service never drop to zero.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { getLive, output, readState } from '../sync/scenario.js';
import { appFiles, nopea, replicaSet, sampleEndpoints } from './app.js';

const manifests = (image: string): Record<string, string> => appFiles(image);

/** A command that reads only the state branch (status, history): no cluster flags. */
async function readJson<T>(args: string[], repo: TestRepo): Promise<T> {
  const run = await runNopea([...args, '-o', 'json'], { cwd: repo.work, env: { KUBECONFIG: '' } });
  expect(run.code, output(run)).toBe(0);
  return JSON.parse(run.stdout) as T;
}

async function setImage(repo: TestRepo, image: string): Promise<void> {
  for (const [file, text] of Object.entries(manifests(image)))
    await writeFile(path.join(repo.work, file), text);
  await repo.commitAll(image);
}

/** The web-<side> ReplicaSet: stable/canary or active/preview. */
const sideImage = (ns: string, side: string) => replicaSet(ns, `web-${side}`);

/** Samples Service web's ready endpoints; `stop` returns the lowest count seen. */
function sampleWeb(namespace: string): () => Promise<number> {
  const sampler = sampleEndpoints(namespace, 'web');
  return async () => (await sampler.stop()).min;
}

describe('progressive lifecycle with Kulta', () => {
  const ns = useNamespace('progressive');

  it('--no-wait exits 4; a rollback from a later run puts every replica back on the old template', async () => {
    const repo = await makeRepo({ files: manifests('registry.example/web:1') });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', 'web', '-n', ns.name];
    expect((await nopea(['sync', ...base, '--strategy', 'canary', '--canary-steps', '100'], repo)).code).toBe(
      0,
    );
    await waitFor(async () => (await sideImage(ns.name, 'stable')).ready === 4, { what: 'stable at 4' });
    const stop = sampleWeb(ns.name);

    await setImage(repo, 'registry.example/web:2');
    const started = await nopea(
      ['sync', ...base, '--strategy', 'canary', '--canary-steps', '50:gate,100', '--no-wait'],
      repo,
    );
    expect(started.code, output(started)).toBe(4);
    expect(started.stderr).toMatch(/nopea rollback \S+ -s web/);
    const status = await readJson<{ current: { status: string } }>(['status', 'web'], repo);
    expect(status.current.status).toBe('paused');

    const rolled = await nopea(['rollback', '-s', 'web', '--timeout', '60s'], repo);
    expect(rolled.code, output(rolled)).toBe(0);
    await waitFor(async () => (await sideImage(ns.name, 'stable')).ready === 4, {
      what: 'stable at 4 again',
    });
    expect((await sideImage(ns.name, 'stable')).image).toBe('registry.example/web:1');
    expect((await sideImage(ns.name, 'canary')).ready).toBe(0);
    const state = await readState(repo.remote, 'web');
    expect(state.deploys[0]!.outcome).toBe('rolled-back');
    const history = await readJson<{ deploys: { errorKinds: string[] }[] }>(['history', 'web'], repo);
    expect(history.deploys[0]!.errorKinds).toContain('RolledBack');
    expect(await stop(), 'ready endpoints never zero').toBeGreaterThan(0);
  });

  it('runs a second canary after a completed one, resumes a waiting rollout, and goes back to direct', async () => {
    const repo = await makeRepo({ files: manifests('registry.example/web:1') });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', 'web', '-n', ns.name];
    const canary = ['--strategy', 'canary'];
    expect((await nopea(['sync', ...base, ...canary, '--canary-steps', '100'], repo)).code).toBe(0);
    const stop = sampleWeb(ns.name);

    await setImage(repo, 'registry.example/web:2');
    const second = await nopea(
      ['sync', ...base, ...canary, '--canary-steps', '50:1s,100', '--timeout', '60s'],
      repo,
    );
    expect(second.code, output(second)).toBe(0);
    expect(second.stderr).toMatch(/rollout Progressing step 1\/2 50%/);
    await waitFor(async () => (await sideImage(ns.name, 'stable')).ready === 4, { what: 'stable at 4' });
    expect((await sideImage(ns.name, 'stable')).image).toBe('registry.example/web:2');

    // Left waiting at a gate by a run that ended; the next sync of the same git resumes it.
    await setImage(repo, 'registry.example/web:3');
    const gated = ['--canary-steps', '50:gate,100', '--timeout', '5s'];
    expect((await nopea(['sync', ...base, ...canary, ...gated], repo)).code).toBe(4);
    const before = await getLive(`/apis/kulta.io/v1alpha1/namespaces/${ns.name}/rollouts/web`);
    const resumed = await nopea(['sync', ...base, ...canary, ...gated, '-o', 'json'], repo);
    expect(resumed.code, output(resumed)).toBe(4);
    const after = await getLive(`/apis/kulta.io/v1alpha1/namespaces/${ns.name}/rollouts/web`);
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    expect((JSON.parse(resumed.stdout) as { requests: { apply: number } }).requests.apply).toBe(0);
    expect((await nopea(['promote', '-s', 'web', '--full', '--timeout', '60s'], repo)).code).toBe(0);
    await waitFor(async () => (await sideImage(ns.name, 'stable')).image === 'registry.example/web:3', {
      what: 'v3 on stable',
    });

    const back = await nopea(['sync', ...base, '--strategy', 'direct', '--timeout', '60s'], repo);
    expect(back.code, output(back)).toBe(0);
    expect(await getLive(`/apis/kulta.io/v1alpha1/namespaces/${ns.name}/rollouts/web`)).toBeUndefined();
    const deployment = await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`);
    expect((deployment?.status as { availableReplicas?: number }).availableReplicas).toBe(4);
    expect(await stop(), 'ready endpoints never zero').toBeGreaterThan(0);
  });

  it('blue-green: a preview at full size, promoted; a second deploy rolled back before promotion', async () => {
    const repo = await makeRepo({ files: manifests('registry.example/web:1') });
    onTestFinished(() => repo.cleanup());
    const base = ['app', '-s', 'web', '-n', ns.name, '--strategy', 'blue-green'];
    const first = await nopea(['sync', ...base, '--timeout', '5s'], repo);
    expect(first.code, output(first)).toBe(4);
    expect((await nopea(['promote', '-s', 'web', '--timeout', '60s'], repo)).code).toBe(0);
    await waitFor(async () => (await sideImage(ns.name, 'active')).ready === 4, { what: 'active at 4' });
    const stop = sampleWeb(ns.name);

    await setImage(repo, 'registry.example/web:2');
    const second = await nopea(['sync', ...base, '--timeout', '10s'], repo);
    expect(second.code, output(second)).toBe(4);
    await waitFor(async () => (await sideImage(ns.name, 'preview')).ready === 4, {
      what: 'preview at full size',
    });
    expect((await sideImage(ns.name, 'preview')).image).toBe('registry.example/web:2');
    expect((await sideImage(ns.name, 'active')).image).toBe('registry.example/web:1');
    const rolled = await nopea(['rollback', '-s', 'web'], repo);
    expect(rolled.code, output(rolled)).toBe(0);
    expect((await sideImage(ns.name, 'active')).image).toBe('registry.example/web:1');
    expect((await readState(repo.remote, 'web')).deploys[0]!.outcome).toBe('rolled-back');
    expect(await stop(), 'ready endpoints never zero').toBeGreaterThan(0);
  });
});
