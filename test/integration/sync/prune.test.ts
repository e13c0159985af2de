// The prune rails of `nopea sync`: a deletion threshold, protected kinds (Namespace, PVC) and the
// per-object opt-out annotation. A refusal is exit 2 with nothing deleted and nothing recorded; the
// steps build on each other, so they run in order on one namespace and one repository.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest, kubectl, useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import {
  deleteIfPresent,
  getLive,
  jsonOf,
  output,
  readState,
  scenario,
  stateTip,
  syncCli,
} from './scenario.js';

const SERVICE = 'prune-rails';
const ns = useNamespace('sync-prune', { scope: 'all' });
let extraNs: string;
let repo: TestRepo;

beforeAll(async () => {
  extraNs = `${ns.name}-extra`;
  repo = await makeRepo({ files: await scenario('prune', { EXTRA_NS: extraNs }, 'app') });
});

afterAll(async () => {
  await deleteIfPresent(`/api/v1/namespaces/${extraNs}`);
  await repo?.cleanup();
});

// No provisioner binds the claim: the rails are the subject here, not health.
function sync(...extra: string[]) {
  return syncCli(['app', '-s', SERVICE, '-n', ns.name, '--no-wait', ...extra], { cwd: repo.work });
}

async function removeFromGit(...files: string[]): Promise<void> {
  for (const f of files) await rm(path.join(repo.work, 'app', f));
  await repo.commitAll(`remove ${files.join(', ')}`);
}

const configMap = (name: string): string => `/api/v1/namespaces/${ns.name}/configmaps/${name}`;
const claim = (): string => `/api/v1/namespaces/${ns.name}/persistentvolumeclaims/data`;

/** Whether an object is still there and not being deleted. */
async function present(apiPath: string): Promise<boolean> {
  const obj = await getLive(apiPath);
  return obj !== undefined && obj.metadata.deletionTimestamp === undefined;
}

describe('prune rails', () => {
  it('applies the service: four ConfigMaps, a Namespace and a PVC', async () => {
    const run = await sync();
    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toMatch(/Synced prune-rails: 6 created/);
    const state = await readState(repo.remote, SERVICE);
    expect(state.inventory?.objects.map((o) => o.id)).toEqual(
      [
        `/ConfigMap/${ns.name}/config-a`,
        `/ConfigMap/${ns.name}/config-b`,
        `/ConfigMap/${ns.name}/config-c`,
        `/ConfigMap/${ns.name}/config-d`,
        `/Namespace//${extraNs}`,
        `/PersistentVolumeClaim/${ns.name}/data`,
      ].sort(),
    );
  });

  it('stops above --max-prune with exit 2, deleting and recording nothing', async () => {
    await removeFromGit('config-a.yaml', 'config-b.yaml');
    const tip = await stateTip(repo.remote);

    const run = await sync('--max-prune', '1');
    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain('would prune 2 object(s), more than --max-prune 1 allows (1)');
    // The refusal comes with the plan it is about.
    expect(run.stdout).toMatch(new RegExp(`- prune\\s+/ConfigMap/${ns.name}/config-a`));
    expect(run.stdout).toContain('Plan: 0 to create, 0 to update, 0 drifted, 0 in conflict, 2 to prune');
    expect(run.stdout).toContain('Refused prune-rails: nothing was changed, no deploy recorded');
    expect(await present(configMap('config-a'))).toBe(true);
    expect(await present(configMap('config-b'))).toBe(true);
    expect(await stateTip(repo.remote)).toBe(tip);

    // A percentage of the inventory (6 objects) is a limit too: 20% rounds down to 1.
    const pct = await sync('--max-prune', '20%');
    expect(pct.code, output(pct)).toBe(2);
    expect(pct.stderr).toContain('more than --max-prune 20% allows (1)');
    expect(await stateTip(repo.remote)).toBe(tip);
  });

  it('prunes both within the limit and drops them from the state', async () => {
    const run = await sync('--max-prune', '2', '-o', 'json');
    expect(run.code, output(run)).toBe(0);
    const s = jsonOf(run).services[0]!;
    expect(s.objects.filter((o) => o.action === 'pruned').map((o) => o.id)).toEqual(
      [`/ConfigMap/${ns.name}/config-a`, `/ConfigMap/${ns.name}/config-b`].sort(),
    );
    expect(await getLive(configMap('config-a'))).toBeUndefined();
    expect(await getLive(configMap('config-b'))).toBeUndefined();
    const state = await readState(repo.remote, SERVICE);
    expect(state.inventory?.objects).toHaveLength(4);
    expect([...state.lastApplied.keys()].sort()).toEqual(state.inventory?.objects.map((o) => o.id));
  });

  it('refuses to prune a Namespace and a PVC unless their kinds are allowed', async () => {
    await removeFromGit('namespace.yaml', 'claim.yaml');
    const tip = await stateTip(repo.remote);

    const run = await sync();
    expect(run.code, output(run)).toBe(2);
    expect(run.stderr).toContain(`refusing to prune /Namespace//${extraNs}: Namespace is a protected kind`);
    expect(run.stderr).toContain(
      `refusing to prune /PersistentVolumeClaim/${ns.name}/data: PersistentVolumeClaim is a protected kind`,
    );
    expect(run.stderr).toContain('--allow-prune-kind Namespace');

    // Allowing one kind is not allowing the other: still refused, now for the claim only.
    const one = await sync('--allow-prune-kind', 'Namespace');
    expect(one.code, output(one)).toBe(2);
    expect(one.stderr).not.toContain('Namespace is a protected kind');
    expect(one.stderr).toContain('PersistentVolumeClaim is a protected kind');
    expect(await present(`/api/v1/namespaces/${extraNs}`)).toBe(true);
    expect(await present(claim())).toBe(true);
    expect(await stateTip(repo.remote)).toBe(tip);

    const both = await sync(
      '--allow-prune-kind',
      'Namespace',
      '--allow-prune-kind',
      'PersistentVolumeClaim',
      '-o',
      'json',
    );
    expect(both.code, output(both)).toBe(0);
    expect(
      jsonOf(both)
        .services[0]!.objects.filter((o) => o.action === 'pruned')
        .map((o) => o.id)
        .sort(),
    ).toEqual([`/Namespace//${extraNs}`, `/PersistentVolumeClaim/${ns.name}/data`]);
    expect(await present(`/api/v1/namespaces/${extraNs}`)).toBe(false);
    expect(await present(claim())).toBe(false);
    const state = await readState(repo.remote, SERVICE);
    expect(state.inventory?.objects.map((o) => o.id)).toEqual([
      `/ConfigMap/${ns.name}/config-c`,
      `/ConfigMap/${ns.name}/config-d`,
    ]);
  });

  it('keeps a live object annotated nopea.dev/prune: disabled and stops tracking it', async () => {
    await kubectl(['-n', ns.name, 'annotate', 'configmap', 'config-c', 'nopea.dev/prune=disabled'], {
      check: true,
    });
    await removeFromGit('config-c.yaml');

    const run = await sync();
    expect(run.code, output(run)).toBe(0);
    expect(run.stdout).toContain('kept: annotated nopea.dev/prune: disabled');
    expect(run.stdout).toMatch(/Synced prune-rails: 0 created, 0 configured, 0 pruned, 1 unchanged; kept 1/);
    expect(await present(configMap('config-c'))).toBe(true);
    const state = await readState(repo.remote, SERVICE);
    expect(state.inventory?.objects.map((o) => o.id)).toEqual([`/ConfigMap/${ns.name}/config-d`]);
    expect(state.lastApplied.has(`/ConfigMap/${ns.name}/config-c`)).toBe(false);

    // Released: the next sync neither prunes nor mentions it.
    const again = await sync('-o', 'json');
    expect(again.code, output(again)).toBe(0);
    expect(jsonOf(again).services[0]!.plan?.counts).toMatchObject({ prune: 0, unchanged: 1 });
    expect(await present(configMap('config-c'))).toBe(true);
  });
});

describe('prune of an object already deleted by hand', () => {
  const own = useNamespace('sync-prune-gone');
  it('drops it from the inventory without an error', async () => {
    const files = await scenario('prune', { EXTRA_NS: 'unused' }, 'app');
    delete files['app/namespace.yaml'];
    delete files['app/claim.yaml'];
    const r = await makeRepo({ files });
    try {
      const args = ['app', '-s', 'prune-gone', '-n', own.name, '--no-wait'];
      const first = await syncCli(args, { cwd: r.work });
      expect(first.code, output(first)).toBe(0);
      const deleted = await apiRequest('DELETE', `/api/v1/namespaces/${own.name}/configmaps/config-b`);
      expect(deleted.status).toBe(200);
      await rm(path.join(r.work, 'app/config-b.yaml'));
      await r.commitAll('remove config-b, already gone');

      const second = await syncCli([...args, '-o', 'json'], { cwd: r.work });
      expect(second.code, output(second)).toBe(0);
      const state = await readState(r.remote, 'prune-gone');
      expect(state.inventory?.objects.map((o) => o.id)).toEqual([
        `/ConfigMap/${own.name}/config-a`,
        `/ConfigMap/${own.name}/config-c`,
        `/ConfigMap/${own.name}/config-d`,
      ]);
      expect(state.lastApplied.has(`/ConfigMap/${own.name}/config-b`)).toBe(false);
    } finally {
      await r.cleanup();
    }
  });
});
