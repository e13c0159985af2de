import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openState } from '../../../src/state/open.js';
import { locateCheckout } from '../../../src/state/repository.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';

// A repository without a remote keeps the state on its own branch, so these need no network or cluster.
describe('openState', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo({ withRemote: false, files: { 'deploy/app.yaml': 'kind: Namespace\n' } });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('opens the same branch from a resolved top level as from any directory inside it', async () => {
    const store = await openState({ repoRoot: (await locateCheckout(repo.work)).root });
    expect(store.remote).toBeUndefined();
    expect(store.tip).toBeUndefined();
    const { commit } = await store.commit({ service: 'web', message: 'first' });
    expect(await git(repo.work, 'rev-parse', 'refs/heads/nopea-state')).toBe(commit);

    const again = await openState({ repoDir: join(repo.work, 'deploy') });
    expect(again.tip).toBe(commit);
  });

  it('refuses a top level that is not a git work tree, naming it', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'nopea-not-a-repo-')));
    try {
      await expect(openState({ repoRoot: dir })).rejects.toThrow(`${dir} is not inside a git work tree`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
