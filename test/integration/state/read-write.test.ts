import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { openState } from '../../../src/state/open.js';
import { encodeIdFileName, MAX_NAME_BYTES, statePaths } from '../../../src/state/layout.js';
import { serializeStateFile } from '../../../src/state/format.js';
import { git, makeRepo, writeCommit, type TestRepo } from '../../helpers/git.js';
import { deployChange, deployRecord, lastApplied } from './records.js';

const nextId = monotonicFactory();
const API = 'apps/Deployment/web/api';
const SVC = '/Service/web/api';
const NS = '/Namespace//web';

// Writes a state branch by hand, the way a user or another tool might.
function pushStateCommit(remote: string, files: Record<string, string>): Promise<string> {
  return writeCommit(remote, 'refs/heads/nopea-state', files);
}

/** Pushes a state commit of `files` by hand and reads service web from it, which must fail as corrupt. */
async function readCorrupt(
  remote: string,
  work: string,
  files: Record<string, string>,
): Promise<{ message: string; tip: string }> {
  const tip = await pushStateCommit(remote, { '.nopea/format': '1\n', ...files });
  const error = await (await openState({ repoDir: work })).readService('web').catch((err: unknown) => err);
  expect(error).toBeInstanceOf(NopeaError);
  expect((error as NopeaError).kind).toBe('state');
  return { message: (error as NopeaError).message, tip };
}

async function snapshot(work: string): Promise<Record<string, string | boolean>> {
  const index = createHash('sha256')
    .update(await readFile(join(work, '.git', 'index')))
    .digest('hex');
  return {
    status: await git(work, 'status', '--porcelain=v1', '--untracked-files=all'),
    head: await git(work, 'symbolic-ref', 'HEAD'),
    headCommit: await git(work, 'rev-parse', 'HEAD'),
    index,
    userRefs: await git(
      work,
      'for-each-ref',
      '--format=%(refname) %(objectname)',
      'refs/heads',
      'refs/remotes',
      'refs/tags',
    ),
    fetchHead: existsSync(join(work, '.git', 'FETCH_HEAD')),
    shallow: await git(work, 'rev-parse', '--is-shallow-repository'),
  };
}

describe('state store with a remote', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo({
      files: { 'deploy/app.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n' },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('treats a missing branch as a first deploy, creates it, and reads it back', async () => {
    const store = await openState({ repoDir: join(repo.work, 'deploy') });
    expect(store.tip).toBeUndefined();
    expect(store.format).toBe(1);
    expect(store.remote).toBe('origin');
    expect(await store.listServices()).toEqual([]);
    expect(await store.readService('web')).toEqual({ lastApplied: new Map() });
    expect(await store.listDeploys('web')).toEqual([]);

    const id = nextId();
    const result = await store.commit(deployChange('web', id, [API, SVC, NS]));
    expect(result.attempts).toBe(1);
    expect(store.tip).toBe(result.commit);
    expect(await git(repo.remote, 'rev-parse', 'refs/heads/nopea-state')).toBe(result.commit);
    expect(await git(repo.remote, 'show', 'nopea-state:.nopea/format')).toBe('1');
    expect(await git(repo.remote, 'rev-list', '--count', 'nopea-state')).toBe('1');
    expect(await git(repo.remote, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'nopea-state')).toBe(
      `Test User <test@example.com>|nopea <nopea@users.noreply.github.com>|deploy web ${id} succeeded`,
    );
    expect((await git(repo.remote, 'ls-tree', '-r', '--name-only', 'nopea-state')).split('\n')).toEqual([
      '.nopea/format',
      `.nopea/occurrences/${id}.json`,
      '.nopea/services/web/current.json',
      `.nopea/services/web/deploys/${id}.json`,
      '.nopea/services/web/inventory.json',
      '.nopea/services/web/last-applied/apps~Deployment~web~api.json',
      '.nopea/services/web/last-applied/~Namespace~~web.json',
      '.nopea/services/web/last-applied/~Service~web~api.json',
    ]);

    const reread = await openState({ repoDir: repo.work });
    expect(reread.tip).toBe(result.commit);
    expect(await reread.listServices()).toEqual(['web']);
    const state = await reread.readService('web');
    expect(state.current).toMatchObject({ service: 'web', deployId: id, status: 'succeeded' });
    expect(state.inventory?.objects.map((o) => o.id)).toEqual([NS, SVC, API]);
    expect([...state.lastApplied.keys()].sort()).toEqual([NS, SVC, API].sort());
    expect(state.lastApplied.get(API)).toEqual(lastApplied(API, id));
    expect(await reread.listDeploys('web')).toEqual([deployRecord('web', id)]);
    expect(await reread.readDeploy('web', id)).toEqual(deployRecord('web', id));
    expect(await reread.readDeploy('web', nextId())).toBeUndefined();
    expect(await reread.readService('other')).toEqual({ lastApplied: new Map() });
    expect(await reread.readGraph()).toBeUndefined();
  });

  it('writes an author from git config the way git does, without angle brackets', async () => {
    await git(repo.work, 'config', 'user.name', 'Ops <on call>');
    await git(repo.work, 'config', 'user.email', '<ops@example.com>');
    const store = await openState({ repoDir: repo.work });
    await store.commit(deployChange('web', nextId(), [API]));
    expect(await git(repo.remote, 'log', '-1', '--format=%an|%ae|%cn', 'nopea-state')).toBe(
      'Ops on call|ops@example.com|nopea',
    );
  });

  it('builds the next commit on the tip and prunes last-applied files of objects no longer applied', async () => {
    const store = await openState({ repoDir: repo.work });
    const first = await store.commit(deployChange('web', nextId(), [API, SVC]));
    const secondId = nextId();
    const second = await store.commit(deployChange('web', secondId, [API]));
    expect(await git(repo.remote, 'rev-parse', 'nopea-state^')).toBe(first.commit);
    expect(await git(repo.remote, 'rev-parse', 'nopea-state')).toBe(second.commit);

    const state = await (await openState({ repoDir: repo.work })).readService('web');
    expect([...state.lastApplied.keys()]).toEqual([API]);
    expect(state.current?.deployId).toBe(secondId);
    expect((await store.listDeploys('web')).map((d) => d.id)).toEqual([secondId, expect.any(String)]);
    expect(await store.listDeploys('web', { limit: 1 })).toHaveLength(1);
  });

  it('deletes files and leaves a commit out when nothing changes', async () => {
    const store = await openState({ repoDir: repo.work });
    await store.commit(deployChange('web', nextId(), [API, SVC]));
    const removed = await store.commit({
      service: 'web',
      message: 'prune',
      deletes: [statePaths.lastApplied(SVC)],
    });
    expect([...(await store.readService('web')).lastApplied.keys()]).toEqual([API]);
    const again = await store.commit({
      service: 'web',
      message: 'prune again',
      deletes: [statePaths.lastApplied(SVC)],
    });
    expect(again).toEqual({ commit: removed.commit, attempts: 1 });
    expect(await git(repo.remote, 'rev-list', '--count', 'nopea-state')).toBe('2');
  });

  it('leaves the checkout, index, HEAD, branches and FETCH_HEAD untouched', async () => {
    await writeFile(join(repo.work, 'deploy', 'app.yaml'), 'edited: true\n');
    const before = await snapshot(repo.work);
    const store = await openState({ repoDir: repo.work });
    await store.commit(deployChange('web', nextId(), [API]));
    await store.commit(deployChange('api', nextId(), [SVC]));
    await store.refresh();
    expect(await snapshot(repo.work)).toEqual(before);
    expect(before.status).toBe('M deploy/app.yaml'); // (trimmed ' M')
    // The only new ref is the store's private one.
    expect(await git(repo.work, 'for-each-ref', '--format=%(refname)', 'refs/nopea')).toBe(
      'refs/nopea/origin/nopea-state',
    );
  });

  it('keeps only the newest deploy records and their occurrences', async () => {
    const store = await openState({ repoDir: repo.work, retention: { deploys: 3 } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(nextId());
      await store.commit(deployChange('web', ids[i] as string, [API]));
    }
    expect((await store.listDeploys('web')).map((d) => d.id)).toEqual(ids.slice(2).reverse());
    const files = (
      await git(repo.remote, 'ls-tree', '-r', '--name-only', 'nopea-state', '.nopea/occurrences/')
    ).split('\n');
    expect(files).toEqual(ids.slice(2).map((id) => `.nopea/occurrences/${id}.json`));
  });

  it('hands derive the base it builds on', async () => {
    const store = await openState({ repoDir: repo.work });
    await store.commit(deployChange('web', nextId(), [API]));
    const seen: (string | undefined)[] = [];
    await store.commit({
      ...deployChange('api', nextId(), [SVC]),
      derive: async (base) => {
        seen.push(base.tip);
        const services = [...(await base.listServices()), 'api'];
        return {
          writes: {
            [statePaths.graph]: {
              format: 1,
              nodes: services.map((s) => ({ id: `service:${s}`, type: 'service', name: s })),
              edges: [],
              recent: [],
              observations: services.length,
            },
          },
        };
      },
    });
    expect(seen).toHaveLength(1);
    expect((await store.readGraph())?.nodes.map((n) => n.name)).toEqual(['web', 'api']);
  });

  it('keeps every path component within one file name for the longest valid names, so the branch checks out', async () => {
    // A 253-character service, and ids with the longest valid parts: a CRD group of 251 characters (its
    // name, `<plural>.<group>`, has at most 253), a 63-character kind and namespace, 253-character names.
    const service = `s${'v'.repeat(252)}`;
    const group = `${'g'.repeat(59)}.${'r'.repeat(63)}.${'o'.repeat(63)}.${'u'.repeat(63)}`;
    const ns = 'n'.repeat(63);
    const ids = [
      `${group}/${'K'.repeat(63)}/${ns}/${'a'.repeat(253)}`,
      `${group}/${'K'.repeat(63)}/${ns}/${'b'.repeat(253)}`,
      `/ConfigMap/${ns}/${'c'.repeat(253)}`,
      `rbac.authorization.k8s.io/ClusterRole//${'system:'.repeat(36)}x`,
      API,
    ];
    const id = nextId();
    const store = await openState({ repoDir: repo.work });
    await store.commit(deployChange(service, id, ids));

    const paths = (await git(repo.remote, 'ls-tree', '-r', '--name-only', '-z', 'nopea-state')).split('\0');
    expect(paths).toContain(`.nopea/services/${service}/deploys/${id}.json`);
    for (const component of paths.flatMap((p) => p.split('/'))) {
      expect(Buffer.byteLength(component)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    }
    const dir = await mkdtemp(join(tmpdir(), 'nopea-checkout-'));
    try {
      await git(dir, 'clone', '--quiet', '-b', 'nopea-state', repo.remote, 'state');
      const file = join(
        dir,
        'state',
        '.nopea',
        'services',
        service,
        statePaths.lastApplied(ids[0] as string),
      );
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ id: ids[0] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const state = await (await openState({ repoDir: repo.work })).readService(service);
    expect([...state.lastApplied.keys()].sort()).toEqual([...ids].sort());
    for (const objectId of ids) expect(state.lastApplied.get(objectId)).toEqual(lastApplied(objectId, id));
  });

  it('reads a last-applied file under the over-long name older versions wrote, and moves it', async () => {
    const long = `/ConfigMap/web/${'a'.repeat(253)}`;
    const legacy = `.nopea/services/web/last-applied/${encodeIdFileName(long)}.json`;
    const first = nextId();
    await pushStateCommit(repo.remote, {
      '.nopea/format': '1\n',
      [legacy]: serializeStateFile(lastApplied(long, first)),
    });
    const store = await openState({ repoDir: repo.work });
    expect((await store.readService('web')).lastApplied.get(long)).toEqual(lastApplied(long, first));

    // A commit for the service that does not touch the object still moves it to its bounded name.
    await store.commit({ ...deployChange('web', nextId(), [API]), replaceDirs: [] });
    const files = (await git(repo.remote, 'ls-tree', '-r', '--name-only', 'nopea-state')).split('\n');
    expect(files).not.toContain(legacy);
    expect(files).toContain(`.nopea/services/web/${statePaths.lastApplied(long)}`);
    const state = await (await openState({ repoDir: repo.work })).readService('web');
    expect(state.lastApplied.get(long)).toEqual(lastApplied(long, first));
    expect([...state.lastApplied.keys()].sort()).toEqual([API, long].sort());
  });

  it('refuses a last-applied file whose name is not the one for the object it holds', async () => {
    const { message } = await readCorrupt(repo.remote, repo.work, {
      '.nopea/services/web/last-applied/~Service~web~other.json': serializeStateFile(
        lastApplied(SVC, nextId()),
      ),
    });
    expect(message).toMatch(
      /last-applied\/~Service~web~other\.json on state branch nopea-state .* is corrupt: it holds \/Service\/web\/api, which nopea stores as last-applied\/~Service~web~api\.json/,
    );
  });

  it('refuses a state file nested too deep to read, naming branch, commit and file', async () => {
    const deep = serializeStateFile(lastApplied(SVC, nextId())).replace(
      '"data": {',
      `"deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "data": {`,
    );
    const path = `.nopea/services/web/${statePaths.lastApplied(SVC)}`;
    const { message, tip } = await readCorrupt(repo.remote, repo.work, { [path]: deep });
    expect(message).toContain(
      `${path} on state branch nopea-state of remote origin at commit ${tip.slice(0, 12)} is corrupt: nested more than 512 levels deep`,
    );
  });

  it('refuses a state format newer than it understands', async () => {
    await pushStateCommit(repo.remote, { '.nopea/format': '2\n' });
    await expect(openState({ repoDir: repo.work })).rejects.toThrow(
      'state format 2 is newer than this nopea understands (1); upgrade nopea',
    );
  });

  it('names branch, commit and path of a corrupt file', async () => {
    const { message, tip } = await readCorrupt(repo.remote, repo.work, {
      '.nopea/services/web/current.json': '{"format": 1, "service": "web"',
    });
    expect(message).toContain(
      `.nopea/services/web/current.json on state branch nopea-state of remote origin at commit ${tip.slice(0, 12)} is corrupt: not valid JSON`,
    );
  });

  it('treats a branch without .nopea/ as empty state and writes the format file', async () => {
    await pushStateCommit(repo.remote, { 'README.md': 'state lives here\n' });
    const store = await openState({ repoDir: repo.work });
    expect(store.tip).toBeDefined();
    await store.commit(deployChange('web', nextId(), [API]));
    expect(await git(repo.remote, 'show', 'nopea-state:.nopea/format')).toBe('1');
    expect(await git(repo.remote, 'show', 'nopea-state:README.md')).toBe('state lives here');
  });
});

describe('state store without a remote', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo({ withRemote: false, files: { 'app.yaml': 'a: 1\n' } });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('keeps the state on a local branch without touching the checkout', async () => {
    const before = await snapshot(repo.work);
    const store = await openState({ repoDir: repo.work });
    expect(store.remote).toBeUndefined();
    expect(store.tip).toBeUndefined();
    const first = await store.commit(deployChange('web', nextId(), [API]));
    const second = await store.commit(deployChange('web', nextId(), [SVC]));
    expect(await git(repo.work, 'rev-parse', 'refs/heads/nopea-state')).toBe(second.commit);
    expect(await git(repo.work, 'rev-parse', 'nopea-state^')).toBe(first.commit);
    const after = await snapshot(repo.work);
    expect({ ...after, userRefs: '' }).toEqual({ ...before, userRefs: '' });
    expect(after.userRefs).toContain(`${second.commit}`);

    const reread = await openState({ repoDir: repo.work });
    expect([...(await reread.readService('web')).lastApplied.keys()]).toEqual([SVC]);
  });

  it('loses no update when two stores write the same local branch', async () => {
    const a = await openState({ repoDir: repo.work });
    const b = await openState({ repoDir: repo.work });
    const [ra, rb] = await Promise.all([
      a.commit(deployChange('web', nextId(), [API])),
      b.commit(deployChange('api', nextId(), [SVC])),
    ]);
    expect(ra.attempts + rb.attempts).toBeGreaterThan(2);
    const reread = await openState({ repoDir: repo.work });
    expect(await reread.listServices()).toEqual(['api', 'web']);
  });

  it('stays local when a remote name is configured but the repository has no remote', async () => {
    const store = await openState({ repoDir: repo.work, remote: 'origin' });
    expect(store.remote).toBeUndefined();
  });

  it('refuses to move the state branch while it is checked out', async () => {
    await git(repo.work, 'checkout', '--quiet', '-b', 'nopea-state');
    await expect(openState({ repoDir: repo.work })).rejects.toThrow(
      /state branch nopea-state is checked out/,
    );
  });
});
