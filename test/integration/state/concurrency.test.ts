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
              writes: {
                [statePaths.graph]: {
                  format: 1,
                  nodes: names.map((name) => ({ id: `service:${name}`, type: 'service', name })),
                  edges: [],
                  recent: [],
                  observations: names.length,
                },
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

  it('derives the files again from the tip that won the race, deletes included', async () => {
    const [A, B, C] = ['/ConfigMap/web/a', '/ConfigMap/web/b', '/ConfigMap/web/c'];
    const store = await openState({ repoDir: repo.work });
    const first = await store.commit(deployChange('web', nextId(), [A, B]));
    // Another run of the same service records C after this store read the tip.
    const other = await openState({ repoDir: (await clone()).work });
    const raced = await other.commit(deployChange('web', nextId(), [A, B, C]));

    const seen: { tip: string | undefined; inventory: string[] | undefined }[] = [];
    const result = await store.commit({
      service: 'web',
      message: 'prune web b',
      derive: async (base) => {
        const inventory = (await base.readService('web')).inventory;
        seen.push({ tip: base.tip, inventory: inventory?.objects.map((o) => o.id) });
        const objects = (inventory?.objects ?? []).filter((o) => o.id !== B);
        return {
          writes: { [statePaths.inventory]: { format: 1, service: 'web', namespace: 'web', objects } },
          deletes: [statePaths.lastApplied(B)],
        };
      },
    });
    expect(result.attempts).toBe(2);
    expect(seen).toEqual([
      { tip: first.commit, inventory: [A, B] },
      { tip: raced.commit, inventory: [A, B, C] },
    ]);
    const state = await (await openState({ repoDir: repo.work })).readService('web');
    expect(state.inventory?.objects.map((o) => o.id)).toEqual([A, C]);
    expect([...state.lastApplied.keys()].sort()).toEqual([A, C]);
  });

  it.each([
    ['attempts', { attempts: 2, baseDelayMs: 10 }, / 2 times in \d+ s/],
    // 50 attempts cannot fit in 1.5 s with delays from 200 ms up: the time budget ends the loop first.
    ['time', { attempts: 50, totalMs: 1_500, baseDelayMs: 200 }, / (?:[2-9]|[1-4]\d) times in \d+ s/],
  ])('gives up with a clear error when the branch keeps moving, bounded by %s', async (_, retry, bound) => {
    const store = await openState({ repoDir: repo.work, retry });
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
      /could not record "deploy web \w+ succeeded" on branch nopea-state of remote origin: other runs moved the branch first, /,
    );
    expect(String(error)).toMatch(bound);
  });
});
