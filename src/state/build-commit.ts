/**
 * Building a state commit with plumbing only, on top of a base commit and without any work tree: the
 * base tree is read into a temporary index file (GIT_INDEX_FILE), the file contents are written as blobs
 * by one `fast-import` (one pack file rather than a loose object per file, which matters for a first
 * deploy of a thousand objects on a slow disk; blobs the repository already has are not written again),
 * the index is edited by one `update-index --index-info`, and `write-tree` + `commit-tree` produce the
 * commit. Five processes whatever the number of files; the user's index, HEAD and checkout are never
 * read or written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedChange } from './change.js';
import type { Git } from './git.js';

/** A git identity. */
export interface Identity {
  name: string;
  email: string;
}

/** The committer of every state commit, and the author when git config names nobody. */
export const NOPEA_IDENTITY: Identity = { name: 'nopea', email: 'nopea@users.noreply.github.com' };

/** What to build: the change resolved against `base` (undefined for the first commit). */
export interface BuildCommitInput {
  git: Git;
  base: { commit: string; tree: string } | undefined;
  change: ResolvedChange;
  message: string;
  author: Identity;
  committer: Identity;
}

/**
 * Writes blobs with one `fast-import` and returns their ids in order. Only blobs: fast-import moves no
 * ref here, and `get-mark` reports each id on stdout. `--done` makes a cut-off stream an error.
 */
async function writeBlobs(git: Git, contents: readonly string[]): Promise<string[]> {
  if (contents.length === 0) return [];
  const stream: Buffer[] = [];
  contents.forEach((content, i) => {
    const bytes = Buffer.from(content, 'utf8');
    stream.push(Buffer.from(`blob\nmark :${i + 1}\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
  });
  stream.push(Buffer.from(`${contents.map((_, i) => `get-mark :${i + 1}\n`).join('')}done\n`));
  const out = await git.pipe(['fast-import', '--quiet', '--done'], Buffer.concat(stream));
  const ids = out.toString('utf8').trim().split('\n');
  if (ids.length !== contents.length || ids.some((id) => !/^[0-9a-f]{40,64}$/.test(id))) {
    throw new Error('git fast-import returned unexpected blob ids');
  }
  return ids;
}

/** A commit written to the object database (not yet on any ref). */
export interface BuiltCommit {
  commit: string;
  tree: string;
}

/** Writes the objects of a state commit and returns it, or undefined when the tree would not change. */
export async function buildCommit(input: BuildCommitInput): Promise<BuiltCommit | undefined> {
  const { git, base, change } = input;
  const scratch = await mkdtemp(join(tmpdir(), 'nopea-state-'));
  try {
    const env = { GIT_INDEX_FILE: join(scratch, 'index') };
    if (base) await git.pipe(['read-tree', base.commit], '', env);

    const upserts = [...change.upserts];
    const blobIds = await writeBlobs(
      git,
      upserts.map(([, content]) => content),
    );

    const zero = '0'.repeat((base?.commit ?? blobIds[0] ?? '').length || 40);
    const records = [
      ...upserts.map(([path], i) => `100644 ${blobIds[i]}\t${path}\0`),
      ...change.removals.map((path) => `0 ${zero}\t${path}\0`),
    ];
    await git.pipe(['update-index', '-z', '--index-info'], records.join(''), env);
    const tree = (await git.pipe(['write-tree'], '', env)).toString('utf8').trim();
    if (base && tree === base.tree) return undefined;

    const identity = {
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_COMMITTER_NAME: input.committer.name,
      GIT_COMMITTER_EMAIL: input.committer.email,
    };
    const parents = base ? ['-p', base.commit] : [];
    // The message goes through stdin; --no-gpg-sign because a user's commit.gpgSign must not make
    // an unattended run wait on a signing agent.
    const message = input.message.endsWith('\n') ? input.message : `${input.message}\n`;
    const commit = await git.pipe(['commit-tree', '--no-gpg-sign', tree, ...parents], message, identity);
    return { commit: commit.toString('utf8').trim(), tree };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
