import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statePaths } from '../../../src/state/layout.js';
import { openState } from '../../../src/state/open.js';
import { cloneRemote, git, makeRepo, type TestClone, type TestRepo } from '../../helpers/git.js';
import { deployChange } from './records.js';

const nextId = monotonicFactory();

describe('concurrent writers', () => {
  let repo: TestRepo;
  let clones: TestClone[];
  beforeEach(async () => {
    repo = await makeRepo();
    clones = [];
  });
  afterEach(async () => {
    await Promise.all(clones.map((c) => c.cleanup()));
    await repo.cleanup();
  });

  async function clone(): Promise<TestClone> {
    // Shallow, as CI checkouts are.
    const c = await cloneRemote(repo.remote, { depth: 1 });
    clones.push(c);
    return c;
  }

  it('lands every record when runs for different services push at once', async () => {
    const services = ['web', 'api', 'worker', 'cron', 'gateway'];
    const workers = await Promise.all(services.map(() => clone()));
    // All open before anyone writes, so all build on the same (missing) tip and race to create the branch.
    const stores = await Promise.all(workers.map((w) => openState({ repoDir: w.work })));
    const ids = services.map(() => nextId());
    const results = await Promise.all(
      stores.map((store, i) =>
        store.commit({
          ...deployChange(services[i] as string, ids[i] as string, [`/ConfigMap/${services[i]}/settings`]),
          // The shared graph is re-derived from the base on every attempt, so no run's service is lost.
          derive: async (base) => {
            const names = [...new Set([...(await base.listServices()), services[i] as string])].sort();
            return {
              [statePaths.graph]: {
                format: 1,
                nodes: names.map((name) => ({ id: `service:${name}`, type: 'service', name })),
                edges: [],
              },
            };
          },
        }),
      ),
    );
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expect(await git(repo.remote, 'rev-list', '--count', 'nopea-state')).toBe('5');

    const reader = await openState({ repoDir: (await clone()).work });
    expect(await reader.listServices()).toEqual([...services].sort());
    for (const [i, service] of services.entries()) {
      expect((await reader.readService(service)).current?.deployId).toBe(ids[i]);
      expect(await reader.readDeploy(service, ids[i] as string)).toBeDefined();
    }
    expect((await reader.readGraph())?.nodes.map((n) => n.name)).toEqual([...services].sort());
  });

  it('retries a race on the same file and keeps both commits in history', async () => {
    const seed = await openState({ repoDir: repo.work });
    await seed.commit(deployChange('web', nextId(), ['/Service/web/api']));
    const [a, b] = await Promise.all([clone(), clone()]);
    const [storeA, storeB] = await Promise.all([
      openState({ repoDir: a.work }),
      openState({ repoDir: b.work }),
    ]);
    const idA = nextId();
    const idB = nextId();
    const [resultA, resultB] = await Promise.all([
      storeA.commit(deployChange('web', idA, ['/Service/web/api'])),
      storeB.commit(deployChange('web', idB, ['/Service/web/api'])),
    ]);
    expect(resultA.attempts + resultB.attempts).toBeGreaterThan(2);
    const log = (await git(repo.remote, 'log', '--format=%H %s', 'nopea-state')).split('\n');
    expect(log).toHaveLength(3);
    expect(log.join('\n')).toContain(`${resultA.commit} deploy web ${idA} succeeded`);
    expect(log.join('\n')).toContain(`${resultB.commit} deploy web ${idB} succeeded`);
    // The later commit carries its own current.json, and both deploy records survive.
    const [winner, loser] = resultA.attempts === 1 ? [idA, idB] : [idB, idA];
    const reader = await openState({ repoDir: repo.work });
    expect((await reader.readService('web')).current?.deployId).toBe(loser);
    expect((await reader.listDeploys('web')).map((d) => d.id)).toEqual(
      expect.arrayContaining([winner, loser]),
    );
  });

  it('gives up with a clear error when the branch keeps moving', async () => {
    const store = await openState({ repoDir: repo.work, retry: { attempts: 2, baseDelayMs: 10 } });
    // Another writer moves the branch after every fetch this store makes.
    const other = await openState({ repoDir: (await clone()).work });
    await other.commit(deployChange('api', nextId(), ['/Service/api/api']));
    let moves = 0;
    const error = await store
      .commit({
        ...deployChange('web', nextId(), ['/Service/web/api']),
        derive: async () => {
          await other.refresh();
          await other.commit(deployChange('api', nextId(), [`/Service/api/api${moves++}`]));
          return {};
        },
      })
      .catch((err: unknown) => err);
    expect(String(error)).toMatch(
      /could not record "deploy web \w+ succeeded" on branch nopea-state of remote origin: other runs moved the branch first, 2 times/,
    );
  });
});
