/**
 * Moving the state branch between the repository and its remote: fetch the tip into a private ref, and
 * publish a new commit with compare-and-swap (a push lease on a remote, `update-ref <new> <old>` for a
 * repository without one). A branch found missing is a first deploy, unless a tag of the same name
 * holds what should be the branch. The user's branches, remote-tracking refs, FETCH_HEAD and hooks are
 * never involved. A fetch that the network cut short is tried again (bounded); a push whose answer was
 * lost is reported as such, for the store to find out from the branch whether it landed.
 */
import { NopeaError } from '../errors.js';
import { retry } from '../poll.js';
import { GitCommandError, type Git } from './git.js';

/** The branch the store works on, and how it is reached. */
export interface BranchTarget {
  /** Runner for local commands. */
  git: Git;
  /** Runner for fetch and push: `git` plus the auth header, when there is one. */
  network: Git;
  branch: string;
  /** Remote name, or undefined to use the repository's own `refs/heads/<branch>`. */
  remote: string | undefined;
  /**
   * Where to push: the remote's push URL, so that git does not also move `refs/remotes/<remote>/<branch>`
   * (it does when pushing to a remote by name); the remote name when it has several push URLs.
   */
  pushTo?: string;
  /** Fetch only the tip (`--depth=1`); see `openState` for when. */
  shallow: boolean;
  timeoutMs: number;
  /**
   * Set once a fetch found the branch missing and the tag check and the private ref's reset are done:
   * a later miss in the same run (the fetch again under the lock) needs neither. A fetch that finds
   * the branch, and any push, clear it.
   */
  missSettled?: boolean;
}

/** The ref the store reads: a private ref for a remote, so the user's refs are left alone. */
export function trackingRef(target: Pick<BranchTarget, 'branch' | 'remote'>): string {
  return target.remote ? `refs/nopea/${target.remote}/${target.branch}` : `refs/heads/${target.branch}`;
}

/** `branch nopea-state of remote origin` / `local branch nopea-state`. */
export function describeTarget(target: Pick<BranchTarget, 'branch' | 'remote'>): string {
  return target.remote
    ? `branch ${target.branch} of remote ${target.remote}`
    : `local branch ${target.branch}`;
}

/** The lines of git's output worth showing: errors, rejections and what the server said. */
export function gitDetail(err: unknown): string {
  if (!(err instanceof GitCommandError)) return err instanceof Error ? err.message : String(err);
  if (err.timedOut) return `${err.command} timed out`;
  const lines = err.output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(fatal|error|remote|!)[: \t]/i.test(l) || l.includes('rejected]'));
  const text = (lines.length ? lines : err.output.split('\n').filter((l) => l.trim())).join('; ');
  return text.length > 600 ? `${text.slice(0, 600)}…` : text || err.message;
}

/** A failed local git command as a state error naming the branch (NopeaErrors pass through). */
export function localGitError(
  target: Pick<BranchTarget, 'branch' | 'remote'>,
  action: string,
  err: unknown,
): NopeaError {
  if (err instanceof NopeaError) return err;
  return new NopeaError('state', `could not ${action} ${describeTarget(target)}: ${gitDetail(err)}`, {
    cause: err,
  });
}

const PERMISSION =
  /(\b403\b|\b401\b|permission to .* denied|permission denied|authentication failed|could not read username|terminal prompts disabled|invalid username or password|access denied|write access to repository not granted|not allowed to push)/i;
const PROTECTED = /(protected branch|GH006|GH013|hook declined|repository rule violations)/i;
const UNREACHABLE =
  /(does not appear to be a git repository|could not read from remote repository|repository .*not found|could not resolve host|failed to connect|connection refused|connection timed out|unable to access)/i;

/**
 * What git prints when the transport failed rather than the remote refusing: an HTTP 5xx, a dropped
 * or reset connection, a cut pack. Worth another attempt; for a push, whether it landed is unknown.
 */
const TRANSPORT_FAILURE =
  /(RPC failed|remote end hung up|early EOF|unexpected disconnect|connection reset|connection was reset|returned error: 5\d\d|HTTP 5\d\d|empty reply from server|transfer closed|recv failure|send failure|SSL_read|SSL_write|index-pack failed|invalid index-pack output|bad pack header|unexpected end of file|broken pipe)/i;

/** Whether a failed fetch or push failed in transit (see TRANSPORT_FAILURE); a timeout counts too. */
export function isTransportFailure(err: unknown): boolean {
  if (!(err instanceof GitCommandError)) return false;
  return err.timedOut || TRANSPORT_FAILURE.test(err.output);
}

/** Transport failures of a fetch are tried again: at most 3 attempts within 20 s. */
const FETCH_RETRY = { maxAttempts: 3, timeoutMs: 20_000, backoff: { initialMs: 250, maxMs: 2_000 } };

function remoteError(target: BranchTarget, action: 'fetch' | 'push', err: unknown): NopeaError {
  const where = describeTarget(target);
  const detail = gitDetail(err);
  // The cause is a GitCommandError, whose output is already scrubbed of secrets.
  if (err instanceof GitCommandError && err.timedOut) {
    return new NopeaError(
      'state',
      {
        message: `could not ${action} ${where}: no answer within ${Math.round(target.timeoutMs / 1000)} s`,
        hint: `check that remote ${target.remote} is reachable from this machine`,
      },
      { cause: err },
    );
  }
  let hint: string;
  // Permission first: GitHub refuses a token without write access before any branch rule runs.
  if (PERMISSION.test(detail)) {
    hint =
      action === 'push'
        ? 'check that the credentials may push to the repository (GitHub Actions: `permissions: contents: write`)'
        : 'check that the credentials may read the repository (GitHub Actions: `permissions: contents: read`)';
  } else if (action === 'push' && PROTECTED.test(detail)) {
    hint = `the branch ${target.branch} is protected; exempt it from branch protection and rulesets, or let the token bypass them`;
  } else if (UNREACHABLE.test(detail)) {
    hint = `check the URL of remote ${target.remote}, that it is reachable, and that the credentials may access it`;
  } else {
    hint = `check remote ${target.remote}: its URL, network access and credentials`;
  }
  return new NopeaError(
    'state',
    { message: `could not ${action} ${where}: ${detail}`, hint },
    { cause: err },
  );
}

/**
 * Fetches the branch tip into the private ref and returns it, or undefined when the branch does not
 * exist yet (a first deploy). Unreachable remotes, refused credentials and a branch that exists only
 * as a tag are errors.
 */
export async function fetchTip(target: BranchTarget): Promise<string | undefined> {
  const ref = trackingRef(target);
  if (target.remote) {
    try {
      await retry(
        () =>
          target.network.run([
            'fetch',
            '--quiet',
            '--no-tags',
            '--no-write-fetch-head',
            '--recurse-submodules=no',
            // Without this, git also updates refs/remotes/<remote>/<branch> when the configured refspec covers it.
            '--refmap=',
            ...(target.shallow ? ['--depth=1'] : []),
            target.remote!,
            `+refs/heads/${target.branch}:${ref}`,
          ]),
        // A timed-out fetch already took its whole bound: only a cut one is tried again.
        { ...FETCH_RETRY, retryable: (err) => isTransportFailure(err) && !(err as GitCommandError).timedOut },
      );
    } catch (err) {
      if (err instanceof GitCommandError && /couldn't find remote ref/i.test(err.output)) {
        if (target.missSettled) return undefined;
        // Both at once: the branch is gone (or never existed), so any tip an earlier run fetched is
        // forgotten, whether or not a tag of that name makes this run refuse.
        const reset = target.git.run(['update-ref', '-d', ref]).catch((e: unknown) => {
          throw localGitError(target, 'reset the private ref of', e);
        });
        // The refusal of a tag-only branch comes first, whichever of the two fails sooner.
        const [tag, cleared] = await Promise.allSettled([refuseTagOnly(target), reset]);
        if (tag.status === 'rejected') throw tag.reason;
        if (cleared.status === 'rejected') throw cleared.reason;
        target.missSettled = true;
        return undefined;
      }
      throw remoteError(target, 'fetch', err);
    }
    target.missSettled = false;
  }
  try {
    return (await target.git.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch (err) {
    if (!(err instanceof GitCommandError && err.exitCode === 1)) throw localGitError(target, 'read', err);
  }
  if (!target.remote) await refuseTagOnly(target);
  return undefined;
}

/**
 * Refuses a state branch that exists only as a tag (`refs/tags/<branch>`), which would otherwise be
 * taken for a first deploy and start a second history beside it. Asked only once the branch is found
 * missing, so a run that finds the branch pays no extra request.
 */
async function refuseTagOnly(target: BranchTarget): Promise<void> {
  const tag = `refs/tags/${target.branch}`;
  const b = target.branch;
  let exists: boolean;
  let fix: string;
  if (target.remote) {
    const out = await target.network
      .run(['ls-remote', '--tags', '--refs', target.remote, tag])
      .catch((err: unknown) => {
        throw remoteError(target, 'fetch', err);
      });
    exists = out.trim() !== '';
    const remote = target.remote;
    fix = `git fetch ${remote} ${tag}:${tag} && git push ${remote} '${tag}^{commit}:refs/heads/${b}' && git push ${remote} :${tag}`;
  } else {
    exists = await target.git.run(['rev-parse', '--verify', '--quiet', tag]).then(
      () => true,
      (err: unknown) => {
        if (err instanceof GitCommandError && err.exitCode === 1) return false;
        throw localGitError(target, 'read', err);
      },
    );
    fix = `git branch ${b} ${tag} && git tag -d ${b}`;
  }
  if (!exists) return;
  throw new NopeaError('input', {
    message: `the state branch ${b} exists ${target.remote ? `on remote ${target.remote} ` : ''}only as a tag (${tag}); nopea keeps its state on a branch`,
    hint: `if the tag holds nopea's state, make it the branch (${fix}); otherwise delete the tag, or name another state branch (--state-branch)`,
  });
}

/** Whether git refused an update because the branch moved: the caller fetches, rebuilds and retries. */
export function isRaceRejection(detail: string): boolean {
  return (
    /\[rejected\].*\((stale info|fetch first|non-fast-forward)\)/i.test(detail) ||
    /\[remote rejected\].*\((cannot lock ref|failed to update ref|incorrect old value|reference already exists)/i.test(
      detail,
    ) ||
    /cannot lock ref .*(is at .* but expected|reference already exists)/i.test(detail)
  );
}

/**
 * How a publish ended: the branch is at the commit; another writer moved it first; or the push failed
 * in transit (`lost`, with git's words), so the branch may or may not be at the commit — only reading
 * it again tells.
 */
export type PublishOutcome = 'published' | 'raced' | { lost: string };

/**
 * Moves the branch from `expected` (undefined: the branch must not exist) to `commit`. Any failure
 * other than a race or a push lost in transit is an error naming the branch and what to check.
 */
export async function publishCommit(
  target: BranchTarget,
  commit: string,
  expected: string | undefined,
  message: string,
): Promise<PublishOutcome> {
  const branchRef = `refs/heads/${target.branch}`;
  if (!target.remote) {
    // The all-zero old value means "must not exist"; its length follows the repository's hash.
    const old = expected ?? '0'.repeat(commit.length);
    try {
      await target.git.run(['update-ref', '-m', message, branchRef, commit, old]);
      return 'published';
    } catch (err) {
      if (isRaceRejection(gitDetail(err))) return 'raced';
      throw localGitError(target, 'update', err);
    }
  }
  // Whatever the push's outcome, the private ref may be written again: a later miss resets it anew.
  target.missSettled = false;
  try {
    await target.network.run([
      'push',
      '--porcelain',
      '--no-verify',
      '--no-follow-tags',
      '--no-signed',
      '--recurse-submodules=no',
      // Empty expected value: the branch must not exist yet, so two first deploys cannot both create it.
      `--force-with-lease=${branchRef}:${expected ?? ''}`,
      target.pushTo ?? target.remote,
      `${commit}:${branchRef}`,
    ]);
  } catch (err) {
    const detail = gitDetail(err);
    if (isRaceRejection(detail)) return 'raced';
    // A refusal the remote reported (rights, branch rules, a hook) is an answer: the push did not land.
    const refused = /\[remote rejected\]|\[rejected\]/i.test(detail) || PERMISSION.test(detail);
    if (!refused && isTransportFailure(err)) return { lost: detail };
    throw remoteError(target, 'push', err);
  }
  // Keep the private ref at what we just published, so the next read needs no fetch to see it.
  await target.git.run(['update-ref', trackingRef(target), commit]).catch((err: unknown) => {
    throw localGitError(target, 'record the pushed tip of', err);
  });
  return 'published';
}
