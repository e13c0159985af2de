/**
 * Building a state commit with plumbing only, on top of a base commit and without any work tree: one
 * `fast-import` writes the file contents as blobs, the trees and the commit (one pack file rather than a
 * loose object per file, which matters for a first deploy of a thousand objects on a slow disk; blobs
 * the repository already has are not written again) and reports the commit and its tree. One process
 * whatever the number of files; no ref moves, and the user's index, HEAD and checkout are never read or
 * written.
 */
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

/** A commit written to the object database (not yet on any ref). */
export interface BuiltCommit {
  commit: string;
  tree: string;
}

/** A path as fast-import reads it: C-style quoted, so no file name can end a command early. */
function quotePath(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
  const escaped = path.replace(/[\\"\x00-\x1f\x7f]/g, (c) =>
    c === '\\' || c === '"' ? `\\${c}` : `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`,
  );
  return `"${escaped}"`;
}

/** An identity line's name or email as git writes it: without `<`, `>` and line breaks. */
function identityPart(text: string): string {
  return text.replace(/[<>\r\n]/g, '').trim();
}

/**
 * The branch fast-import builds the commit on. It is dropped (`reset` without `from`) before the
 * stream ends, so fast-import never reads, locks or writes it: concurrent builds share the name.
 */
const SCRATCH_REF = 'refs/nopea/build';

/** Writes the objects of a state commit and returns it, or undefined when the tree would not change. */
export async function buildCommit(input: BuildCommitInput): Promise<BuiltCommit | undefined> {
  const { git, base, change } = input;
  const ident = (who: Identity): string => {
    const name = identityPart(who.name);
    return `${name ? `${name} ` : ''}<${identityPart(who.email)}> now`;
  };
  const message = Buffer.from(input.message.endsWith('\n') ? input.message : `${input.message}\n`, 'utf8');
  const stream: Buffer[] = [
    Buffer.from(
      `commit ${SCRATCH_REF}\nmark :1\nauthor ${ident(input.author)}\ncommitter ${ident(input.committer)}\ndata ${message.length}\n`,
      'utf8',
    ),
    message,
    Buffer.from(base ? `from ${base.commit}\n` : '', 'utf8'),
  ];
  for (const [path, content] of change.upserts) {
    const bytes = Buffer.from(content, 'utf8');
    stream.push(Buffer.from(`M 100644 inline ${quotePath(path)}\ndata ${bytes.length}\n`, 'utf8'), bytes);
    stream.push(Buffer.from('\n'));
  }
  for (const path of change.removals) stream.push(Buffer.from(`D ${quotePath(path)}\n`, 'utf8'));
  // The commit's id and its root tree's, then the scratch branch is dropped: fast-import moves no ref.
  // `--done` makes a cut-off stream an error; `now` is the time of the build, as commit-tree takes it.
  stream.push(Buffer.from(`\nget-mark :1\nls :1 ""\nreset ${SCRATCH_REF}\ndone\n`, 'utf8'));
  const out = await git.pipe(
    ['fast-import', '--quiet', '--done', '--date-format=now'],
    Buffer.concat(stream),
  );
  const lines = out.toString('utf8').split('\n');
  const commit = lines[0]?.trim() ?? '';
  const tree = /^040000 tree ([0-9a-f]{40,64})\t$/.exec(lines[1] ?? '')?.[1];
  if (!/^[0-9a-f]{40,64}$/.test(commit) || !tree) {
    throw new Error('git fast-import returned an unexpected commit or tree id');
  }
  if (base && tree === base.tree) return undefined;
  return { commit, tree };
}
