import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { ciProvenance, locateCheckout, sourceInfo } from '../../../src/state/repository.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';

describe('locateCheckout', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo({ withRemote: false, files: { 'deploy/app.yaml': 'kind: Namespace\n' } });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('finds the top level from the top level and from a subdirectory', async () => {
    const top = await realpath(repo.work);
    expect(await locateCheckout(repo.work)).toEqual({ root: top, shallow: false });
    expect(await locateCheckout(join(repo.work, 'deploy'))).toEqual({ root: top, shallow: false });
  });

  it('refuses a directory outside any repository, naming it and what git said', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nopea-not-a-repo-'));
    try {
      const error = await locateCheckout(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NopeaError);
      expect(error).toMatchObject({
        kind: 'input',
        problems: [
          {
            message: expect.stringMatching(/ is not inside a git repository \(fatal: not a git repository/),
            hint: 'run nopea from a checkout of the repository that holds the manifests',
          },
        ],
      });
      expect((error as NopeaError).problems[0]?.message.startsWith(`${dir} is not`)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directory that does not exist', async () => {
    const missing = join(repo.work, 'no-such-dir');
    await expect(locateCheckout(missing)).rejects.toThrow(`${missing} is not inside a git repository (`);
  });
});

describe('sourceInfo', () => {
  let repo: TestRepo;
  let head: string;
  beforeEach(async () => {
    repo = await makeRepo({ withRemote: false });
    head = await git(repo.work, 'rev-parse', 'HEAD');
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('records the origin URL without its credentials, HEAD and the branch', async () => {
    await git(
      repo.work,
      'remote',
      'add',
      'origin',
      'https://x-access-token:ghs_secret@github.com/acme/web.git',
    );
    expect(await sourceInfo(repo.work)).toEqual({
      repo: 'https://github.com/acme/web.git',
      commit: head,
      ref: 'refs/heads/main',
    });
  });

  it('names no ref for a detached HEAD', async () => {
    await git(repo.work, 'checkout', '--quiet', '--detach');
    expect(await sourceInfo(repo.work)).toEqual({ commit: head });
  });

  it('takes what CI says over what git says', async () => {
    await git(repo.work, 'remote', 'add', 'origin', 'git@github.com:acme/fork.git');
    const ci = {
      repo: 'https://github.com/acme/web',
      commit: 'c'.repeat(40),
      ref: 'refs/pull/7/merge',
      actor: 'octocat',
    };
    expect(await sourceInfo(repo.work, ci)).toEqual({
      repo: 'https://github.com/acme/web',
      commit: 'c'.repeat(40),
      ref: 'refs/pull/7/merge',
    });
    // What CI leaves out still comes from git.
    expect(await sourceInfo(repo.work, { commit: 'c'.repeat(40) })).toEqual({
      repo: 'git@github.com:acme/fork.git',
      commit: 'c'.repeat(40),
      ref: 'refs/heads/main',
    });
  });

  it('leaves out what git cannot tell: no commit yet, no origin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nopea-empty-repo-'));
    try {
      await git(dir, 'init', '--quiet', '--initial-branch=main');
      expect(await sourceInfo(dir)).toEqual({});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ciProvenance', () => {
  it('is empty outside GitHub Actions', () => {
    expect(ciProvenance({ HOME: '/home/me', PATH: '/usr/bin' })).toEqual({});
  });

  it('reads the GitHub Actions variables', () => {
    expect(
      ciProvenance({
        GITHUB_REPOSITORY: 'acme/web',
        GITHUB_SHA: 'a'.repeat(40),
        GITHUB_REF: 'refs/heads/main',
        GITHUB_ACTOR: 'octocat',
        GITHUB_RUN_ID: '4242',
      }),
    ).toEqual({
      repo: 'https://github.com/acme/web',
      commit: 'a'.repeat(40),
      ref: 'refs/heads/main',
      actor: 'octocat',
      runUrl: 'https://github.com/acme/web/actions/runs/4242',
    });
  });

  it('uses the server of a GitHub Enterprise instance, and needs the repository for a run link', () => {
    expect(
      ciProvenance({
        GITHUB_SERVER_URL: 'https://github.example.com',
        GITHUB_REPOSITORY: 'acme/web',
        GITHUB_RUN_ID: '7',
      }),
    ).toEqual({
      repo: 'https://github.example.com/acme/web',
      runUrl: 'https://github.example.com/acme/web/actions/runs/7',
    });
    expect(ciProvenance({ GITHUB_RUN_ID: '7', GITHUB_SHA: '' })).toEqual({});
  });
});
