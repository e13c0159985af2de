/**
 * The repository boundary: what nopea may read. Only what lies inside the repository root, so that a
 * run deploys what the commit holds and nothing of the machine it runs on; and nothing inside a `.git`
 * directory, whose files are git's, not manifests (the git config of a CI checkout holds the token in
 * `http.extraheader`). Symlinks are judged by where they resolve to, and a refusal names the link and
 * what it points at, never what the target contains.
 */
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Origin, Problem } from '../errors.js';
import { excerpt } from '../resources/excerpt.js';

/** Why a path may not be read: it resolves outside the repository, or into a `.git` directory. */
export type Forbidden = 'outside' | 'git';

/** The repository-relative form of a path inside `root`, with forward slashes. */
export function repoRelative(root: string, target: string): string {
  return path.relative(root, target).split(path.sep).join('/') || '.';
}

/** Whether `target` is `root` or below it. */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Why the real (symlink-free) path `real` may not be read, or undefined when it may. `root` must be a
 * real path too. Every `.git` counts, not only the root's: a nested checkout's holds the same secrets.
 */
export function forbiddenPath(root: string, real: string): Forbidden | undefined {
  if (!isInside(root, real)) return 'outside';
  return path.relative(root, real).split(path.sep).includes('.git') ? 'git' : undefined;
}

/**
 * The problem for a path that resolves where nopea may not read. `subject` names the path as the user
 * wrote it (`symlink to ../.git/config`, `manifest path "deploy"`, `resources[0] "../base"`); the
 * message says where it resolves only when that is inside the repository, never what the target holds.
 */
export function forbiddenProblem(
  root: string,
  subject: string,
  real: string,
  why: Forbidden,
  origin?: Origin,
): Problem {
  const problem: Problem =
    why === 'git'
      ? {
          message: `${subject} resolves to ${repoRelative(root, real)}, inside .git, git's own directory`,
          hint: "nopea never reads git's files (the git config can hold the checkout's token); point at manifests instead",
        }
      : {
          message: `${subject} resolves outside the repository`,
          hint: 'nopea reads only what the repository holds, so that every run deploys what the commit contains; move it into the repository',
        };
  return origin ? { ...problem, origin } : problem;
}

/** The problem for a symlink at `link` (inside `root`) that resolves to `real`, where nopea may not read. */
export async function symlinkProblem(
  root: string,
  link: string,
  real: string,
  why: Forbidden,
): Promise<Problem> {
  // What the link says, as the user wrote it; the target's absolute path would name the runner's disk.
  const written = excerpt(await readlink(link).catch(() => '(unreadable link)'));
  return forbiddenProblem(root, `symlink to ${written}`, real, why, {
    file: repoRelative(root, link),
    line: 1,
  });
}
