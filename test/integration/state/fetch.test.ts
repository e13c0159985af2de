import { execFileSync } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { monotonicFactory } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeStateFile } from '../../../src/state/format.js';
import { openState } from '../../../src/state/open.js';
import { locateCheckout } from '../../../src/state/repository.js';
import { NopeaError } from '../../../src/errors.js';
import { cloneRemote, git, makeRepo, recordGitArgv, writeCommit, type TestRepo } from '../../helpers/git.js';
import { deployChange, deployRecord } from './records.js';

const nextId = monotonicFactory();
const HISTORY = 200;

/** A fast-import stream of `count` state commits for service web, one deploy record each. */
function history(count: number): { stream: string; ids: string[] } {
  const ids: string[] = [];
  let stream = '';
  const file = (path: string, content: string): string =>
    `M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`;
  for (let i = 0; i < count; i++) {
    const id = nextId();
    ids.push(id);
    const message = `deploy web ${id} succeeded`;
    stream += `commit refs/heads/nopea-state\ncommitter nopea <nopea@users.noreply.github.com> ${1_700_000_000 + i} +0000\n`;
    stream += `data ${message.length}\n${message}\n`;
    if (i === 0) stream += file('.nopea/format', '1\n');
    stream += file(`.nopea/services/web/deploys/${id}.json`, serializeStateFile(deployRecord('web', id)));
    stream += file(
      '.nopea/services/web/current.json',
      serializeStateFile({
        format: 1,
        service: 'web',
        deployId: id,
        status: 'succeeded',
        updatedAt: '2026-11-27T10:00:00Z',
      }),
    );
  }
  return { stream, ids };
}

describe('fetching the state branch', () => {
  let repo: TestRepo;
  let ids: string[];
  let tip: string;

  beforeAll(async () => {
    repo = await makeRepo();
    const built = history(HISTORY);
    ids = built.ids;
    execFileSync('git', ['fast-import', '--quiet'], { cwd: repo.remote, input: built.stream });
    tip = await git(repo.remote, 'rev-parse', 'refs/heads/nopea-state');
    expect(await git(repo.remote, 'rev-list', '--count', 'nopea-state')).toBe(String(HISTORY));
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  it('fetches only the tip into a shallow checkout, and writes on top of it', async () => {
    const clone = await cloneRemote(repo.remote, { depth: 1 });
    try {
      const store = await openState({ repoDir: clone.work });
      expect(store.tip).toBe(tip);
      // Only the tip commit came over; its parents are behind the shallow boundary.
      expect(await git(clone.work, 'rev-list', '--count', 'refs/nopea/origin/nopea-state')).toBe('1');
      const state = await store.readService('web');
      expect(state.current?.deployId).toBe(ids.at(-1));
      expect((await store.listDeploys('web', { limit: 3 })).map((d) => d.id)).toEqual(
        ids.slice(-3).reverse(),
      );

      const next = nextId();
      const result = await store.commit(deployChange('web', next, ['/Service/web/api']));
      expect(await git(repo.remote, 'rev-parse', 'nopea-state^')).toBe(tip);
      expect(await git(repo.remote, 'rev-parse', 'nopea-state')).toBe(result.commit);
      expect(await git(repo.remote, 'rev-list', '--count', 'nopea-state')).toBe(String(HISTORY + 1));
      // Retention (50) applied in the same commit: the 151 oldest records of the 201 are gone.
      const records = await git(
        repo.remote,
        'ls-tree',
        '--name-only',
        'nopea-state',
        '.nopea/services/web/deploys/',
      );
      expect(records.split('\n')).toHaveLength(50);
      await git(repo.remote, 'fsck', '--no-dangling');
    } finally {
      await clone.cleanup();
    }
  });

  it('keeps a full clone full', async () => {
    const clone = await cloneRemote(repo.remote);
    try {
      const store = await openState({ repoDir: clone.work });
      expect(store.tip).toBe(await git(repo.remote, 'rev-parse', 'nopea-state'));
      expect(await git(clone.work, 'rev-parse', '--is-shallow-repository')).toBe('false');
    } finally {
      await clone.cleanup();
    }
  });

  it('asks git once for the top level and whether it is shallow, when the caller passes both on', async () => {
    const clone = await cloneRemote(repo.remote, { depth: 1 });
    const recorder = await recordGitArgv();
    try {
      const checkout = await locateCheckout(clone.work);
      expect(checkout).toEqual({ root: await realpath(clone.work), shallow: true });
      const store = await openState({ repoRoot: checkout.root, shallowRepository: checkout.shallow });
      // The first test moved the branch on; the tip is whatever the remote holds now.
      expect(store.tip).toBe(await git(repo.remote, 'rev-parse', 'nopea-state'));
      // The caller's answer decides the fetch: only the tip came over.
      expect(await git(clone.work, 'rev-list', '--count', 'refs/nopea/origin/nopea-state')).toBe('1');
      const revParses = (await recorder.calls()).filter((argv) => argv.includes('rev-parse'));
      expect(revParses.filter((argv) => argv.includes('--is-shallow-repository'))).toHaveLength(1);
      expect(revParses.filter((argv) => argv.includes('--show-toplevel'))).toHaveLength(1);
    } finally {
      await recorder.restore();
      await clone.cleanup();
    }
  });

  it('forgets a fetched tip when the branch is deleted on the remote', async () => {
    const other = await makeRepo();
    try {
      const store = await openState({ repoDir: other.work });
      await store.commit(deployChange('web', nextId(), ['/Service/web/api']));
      await git(other.remote, 'update-ref', '-d', 'refs/heads/nopea-state');
      expect(await store.refresh()).toBeUndefined();
      expect(await git(other.work, 'for-each-ref', 'refs/nopea')).toBe('');
    } finally {
      await other.cleanup();
    }
  });
});

describe('a source branch named as the state branch', () => {
  it('is refused before anything is committed onto it, naming what it holds', async () => {
    const repo = await makeRepo({
      files: { 'app/web.yaml': 'kind: Service\n', 'nopea.yaml': 'services: []\n' },
    });
    try {
      const main = await git(repo.remote, 'rev-parse', 'main');
      const error = await openState({ repoDir: repo.work, branch: 'main' }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(NopeaError);
      expect((error as NopeaError).kind).toBe('input');
      expect((error as NopeaError).message).toMatch(
        /^state branch main of remote origin .* is not a nopea state branch: it holds "app", "nopea.yaml" and no \.nopea\//,
      );
      expect((error as NopeaError).problems[0]?.hint).toContain('name a branch of its own');
      expect(await git(repo.remote, 'rev-parse', 'main')).toBe(main);
      // A branch made by hand with only a README is still taken as empty state.
      await writeCommit(repo.remote, 'refs/heads/state', { 'README.md': 'the deploys of web\n' });
      const store = await openState({ repoDir: repo.work, branch: 'state' });
      await store.commit(deployChange('web', nextId(), ['/Service/web/api']));
      expect(await git(repo.remote, 'ls-tree', '--name-only', 'state')).toBe('.nopea\nREADME.md');
    } finally {
      await repo.cleanup();
    }
  });
});

describe('a state branch that exists only as a tag', () => {
  it.each([
    [
      'on the remote',
      true,
      /^the state branch nopea-state exists on remote origin only as a tag \(refs\/tags\/nopea-state\)/,
      "git push origin 'refs/tags/nopea-state^{commit}:refs/heads/nopea-state'",
    ],
    [
      'in a repository without a remote',
      false,
      /^the state branch nopea-state exists only as a tag \(refs\/tags\/nopea-state\)/,
      'git branch nopea-state refs/tags/nopea-state',
    ],
  ])('is refused %s rather than taken for a first deploy', async (_, withRemote, message, fix) => {
    const repo = await makeRepo({ withRemote });
    try {
      const store = await openState({ repoDir: repo.work });
      await store.commit(deployChange('web', nextId(), ['/Service/web/api']));
      // The state moved to a tag of the same name, as a mistaken `git push origin nopea-state` of a tag does.
      const where = withRemote ? repo.remote : repo.work;
      await git(where, 'tag', 'nopea-state', 'refs/heads/nopea-state');
      await git(where, 'update-ref', '-d', 'refs/heads/nopea-state');
      const error = await openState({ repoDir: repo.work }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(NopeaError);
      expect((error as NopeaError).kind).toBe('input');
      expect((error as NopeaError).message).toMatch(message);
      expect((error as NopeaError).problems[0]?.hint).toContain(fix);
    } finally {
      await repo.cleanup();
    }
  });

  it('costs no request when the branch exists', async () => {
    const repo = await makeRepo();
    try {
      await (
        await openState({ repoDir: repo.work })
      ).commit(deployChange('web', nextId(), ['/Service/web/api']));
      const recorder = await recordGitArgv();
      try {
        expect((await openState({ repoDir: repo.work })).tip).toBeDefined();
        const commands = (await recorder.calls()).map((argv) => argv.find((a) => !a.startsWith('-')));
        expect(commands).toContain('fetch');
        expect(commands).not.toContain('ls-remote');
      } finally {
        await recorder.restore();
      }
    } finally {
      await repo.cleanup();
    }
  });

  it('is asked once per run when the branch is missing: the fetch again under the lock only fetches', async () => {
    const repo = await makeRepo();
    try {
      const recorder = await recordGitArgv();
      try {
        const store = await openState({ repoDir: repo.work });
        expect(store.tip).toBeUndefined();
        expect(await store.refresh()).toBeUndefined();
        const commands = (await recorder.calls()).map((argv) => argv.find((a) => !a.startsWith('-')));
        expect(commands.filter((c) => c === 'fetch')).toHaveLength(2);
        expect(commands.filter((c) => c === 'ls-remote')).toHaveLength(1);
        expect(commands.filter((c) => c === 'update-ref')).toHaveLength(1);
      } finally {
        await recorder.restore();
      }
    } finally {
      await repo.cleanup();
    }
  });
});
