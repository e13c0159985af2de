// Prune deletes only what nopea applied: an inventory entry planted on the state branch (anyone who can
// push it can add one) must not get a foreign object deleted, and neither may an object that was
// deleted and re-created by someone else since nopea applied it. Each such entry is kept, reported
// with its reason, and dropped from the inventory. On the real cluster and a real state branch.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { apiRequest, useNamespace } from '../../helpers/cluster.js';
import { cloneRemote, git, makeRepo, type TestRepo } from '../../helpers/git.js';
import { getLive, jsonOf, output, readState, scenario, syncCli } from './scenario.js';

/** Adds an inventory entry on the remote's state branch, as someone with push access could. */
async function plantInventoryEntry(remote: string, service: string, id: string): Promise<void> {
  const clone = await cloneRemote(remote);
  try {
    await git(clone.work, 'checkout', '--quiet', 'nopea-state');
    const file = path.join(clone.work, '.nopea/services', service, 'inventory.json');
    const inventory = JSON.parse(await readFile(file, 'utf8')) as { objects: { id: string }[] };
    inventory.objects.push({ id, apiVersion: 'v1' } as { id: string });
    await writeFile(file, `${JSON.stringify(inventory, null, 2)}\n`);
    await git(clone.work, 'commit', '--quiet', '-am', 'plant an inventory entry');
    await git(clone.work, 'push', '--quiet', 'origin', 'nopea-state');
  } finally {
    await clone.cleanup();
  }
}

async function createConfigMap(ns: string, name: string, fieldManager: string): Promise<string> {
  const res = await apiRequest<{ metadata: { uid: string } }>(
    'POST',
    `/api/v1/namespaces/${ns}/configmaps?fieldManager=${fieldManager}`,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { owner: fieldManager } },
  );
  if (res.status !== 201) throw new Error(`create ${name}: HTTP ${res.status} ${res.text}`);
  return res.body.metadata.uid;
}

/** A repository with the web scenario, deployed once. */
async function deployedWeb(ns: string): Promise<{ repo: TestRepo; args: string[] }> {
  const repo = await makeRepo({
    files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
  });
  onTestFinished(() => repo.cleanup());
  const args = ['app', '-s', 'web', '-n', ns, '--timeout', '60s'];
  const first = await syncCli(args, { cwd: repo.work });
  expect(first.code, output(first)).toBe(0);
  return { repo, args };
}

describe('prune ownership', () => {
  const ns = useNamespace('prune-owner');

  it('keeps a foreign object whose id was planted in the inventory, and stops tracking it', async () => {
    const { repo, args } = await deployedWeb(ns.name);

    const foreignUid = await createConfigMap(ns.name, 'foreign', 'someone-else');
    const foreign = `/ConfigMap/${ns.name}/foreign`;
    await plantInventoryEntry(repo.remote, 'web', foreign);
    expect((await readState(repo.remote, 'web')).inventory?.objects.map((o) => o.id)).toContain(foreign);

    const run = await syncCli([...args, '-o', 'json'], { cwd: repo.work });
    expect(run.code, output(run)).toBe(0);
    const result = jsonOf(run).services[0]!;
    expect(result.objects.find((o) => o.id === foreign)).toBeUndefined();
    expect((result as unknown as { kept: { id: string; reason: string }[] }).kept).toEqual([
      { id: foreign, reason: expect.stringMatching(/kept: not applied by nopea \(.*someone-else.*\)/) },
    ]);
    expect((await getLive(`/api/v1/namespaces/${ns.name}/configmaps/foreign`))?.metadata.uid).toBe(
      foreignUid,
    );
    expect((await readState(repo.remote, 'web')).inventory?.objects.map((o) => o.id)).not.toContain(foreign);
  });

  it('keeps an object re-created under a new uid since nopea applied it', async () => {
    const { repo, args } = await deployedWeb(ns.name);
    const settings = `/api/v1/namespaces/${ns.name}/configmaps/web-settings`;
    const recorded = (await readState(repo.remote, 'web')).inventory?.objects.find((o) =>
      o.id.endsWith('/web-settings'),
    );
    expect(recorded?.uid).toBe((await getLive(settings))?.metadata.uid);

    // Someone deletes it and creates their own under the same name, even with manager "nopea".
    expect((await apiRequest('DELETE', settings)).status).toBe(200);
    const newUid = await createConfigMap(ns.name, 'web-settings', 'nopea');
    // git no longer declares it: a sync would prune it, were it still the one nopea applied.
    await rm(path.join(repo.work, 'app/config.yaml'));
    await repo.commitAll('drop the settings');

    const run = await syncCli(args, { cwd: repo.work });
    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toMatch(/kept: re-created since nopea applied it/);
    expect((await getLive(settings))?.metadata.uid).toBe(newUid);
    const inventory = (await readState(repo.remote, 'web')).inventory?.objects.map((o) => o.id);
    expect(inventory).toEqual([`apps/Deployment/${ns.name}/web`]);
  });
});
