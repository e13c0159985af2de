/**
 * The manifests of a `ref` (a branch, a tag or a full commit sha) a deploy or diff names: fetched
 * from the remote and checked out as a detached worktree in a temp directory, so a long-running
 * server never deploys a stale work tree and never touches its own (no checkout, no ref moved, no
 * FETCH_HEAD written). The worktree shares the repository's objects and refs, the state branch
 * among them; it is removed when the request is done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { NopeaError } from '../errors.js';
import { DEFAULT_GIT_TIMEOUT_MS, Git, GitCommandError } from '../state/git.js';

/** A ref a request may name: no option-like or `..`-containing names, nothing a shell or git would misread. */
export const RefSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]+$/, 'a branch, tag or full commit sha')
  .describe(
    "deploy this branch, tag or full commit sha of the remote, fetched now (default: the server's work tree as it is)",
  );

export interface Checkout {
  /** The worktree's directory: where the operation runs. */
  dir: string;
  /** The commit checked out. */
  commit: string;
  remove(): Promise<void>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

function firstLine(err: unknown): string {
  const text = err instanceof GitCommandError ? err.output || err.message : String(err);
  return text.trim().split('\n')[0] ?? '';
}

/** The commit `ref` names on the remote: a branch first, then a tag (peeled), then a full ref name. */
async function resolveRemote(git: Git, remote: string, ref: string): Promise<string | undefined> {
  if (FULL_SHA.test(ref)) return ref;
  const listed = await git.run(['ls-remote', '--', remote, ref]);
  const refs = new Map<string, string>();
  for (const line of listed.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (sha && name) refs.set(name, sha);
  }
  for (const name of [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`, ref]) {
    const sha = refs.get(name);
    if (sha) return sha;
  }
  return undefined;
}

async function hasCommit(git: Git, sha: string): Promise<boolean> {
  try {
    await git.run(['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** Fetches `ref` from `remote` and checks its commit out into a temp worktree of `repo`. */
export async function checkoutRef(repo: string, remote: string, ref: string): Promise<Checkout> {
  const git = new Git({ cwd: repo, timeoutMs: DEFAULT_GIT_TIMEOUT_MS });
  const notFound = (why: string): NopeaError =>
    new NopeaError('input', {
      message: `ref ${ref} was not found on remote ${remote}${why ? ` (${why})` : ''}`,
      hint: 'name a branch, a tag or a full commit sha that the remote has',
    });
  let sha: string | undefined;
  try {
    sha = await resolveRemote(git, remote, ref);
  } catch (err) {
    throw new NopeaError('state', `could not list the refs of remote ${remote}: ${firstLine(err)}`);
  }
  if (!sha) throw notFound('');
  if (!(await hasCommit(git, sha))) {
    try {
      await git.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', remote, sha]);
    } catch (err) {
      throw FULL_SHA.test(ref) ? notFound(firstLine(err)) : new NopeaError('state', firstLine(err));
    }
    if (!(await hasCommit(git, sha))) throw notFound('not a commit');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'nopea-serve-'));
  const remove = async (): Promise<void> => {
    try {
      await git.run(['worktree', 'remove', '--force', dir]);
    } catch {
      // Removed below; `worktree prune` forgets a worktree whose directory is gone.
    }
    await rm(dir, { recursive: true, force: true });
    await git.run(['worktree', 'prune']).catch(() => undefined);
  };
  try {
    await git.run(['worktree', 'add', '--quiet', '--detach', dir, sha]);
  } catch (err) {
    await remove();
    throw new NopeaError('state', `could not check out ${ref} (${sha}): ${firstLine(err)}`);
  }
  return { dir, commit: sha, remove };
}
