/**
 * The repository nopea runs in, asked through the one git wrapper (`git.ts`, clean environment,
 * timeout, scrubbed errors): its top level, and where a deploy came from (repository, commit, ref) for
 * the deploy record. CI provenance is passed in by the caller rather than read from the environment
 * here, so the same lookups serve the CLI, the Action and tests alike; `ciProvenance` builds it from the
 * GitHub Actions variables. Credentials in remote URLs are never recorded.
 */
import { errorMessage, NopeaError } from '../errors.js';
import { DEFAULT_GIT_TIMEOUT_MS, Git, GitCommandError, redactUrlCredentials } from './git.js';

/** Where a deploy came from, as a deploy record keeps it. */
export interface SourceInfo {
  repo?: string;
  commit?: string;
  ref?: string;
}

/** What the CI run says about itself; each value, when present, wins over what git says. */
export interface CiProvenance {
  /** Repository URL, e.g. `https://github.com/acme/web`. */
  repo?: string;
  /** Commit the run was triggered for. */
  commit?: string;
  /** Full ref, e.g. `refs/heads/main` or `refs/pull/7/merge`. */
  ref?: string;
  /** Who triggered the run. */
  actor?: string;
  /** Link to the run, e.g. `https://github.com/acme/web/actions/runs/4242`. */
  runUrl?: string;
}

/** The provenance GitHub Actions variables give (`GITHUB_REPOSITORY`, ...); empty outside Actions. */
export function ciProvenance(env: NodeJS.ProcessEnv): CiProvenance {
  const ci: CiProvenance = {};
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  if (env.GITHUB_REPOSITORY) ci.repo = `${server}/${env.GITHUB_REPOSITORY}`;
  if (env.GITHUB_SHA) ci.commit = env.GITHUB_SHA;
  if (env.GITHUB_REF) ci.ref = env.GITHUB_REF;
  if (env.GITHUB_ACTOR) ci.actor = env.GITHUB_ACTOR;
  if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY) {
    ci.runUrl = `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
  }
  return ci;
}

// What git said, for a message: its own words (`fatal: not a git repository ...`) when it ran.
function firstLine(err: unknown): string {
  const text = err instanceof GitCommandError && err.output.trim() ? err.output.trim() : errorMessage(err);
  return text.split('\n')[0] ?? '';
}

/** A checkout as git sees it: its top level, and whether its history is shallow (as CI clones are). */
export interface Checkout {
  root: string;
  shallow: boolean;
}

/**
 * The checkout around `cwd`: its top level and whether it is shallow, asked of git in one `rev-parse`
 * (opening the state branch needs both); nopea keeps its state in git, so it must run inside one.
 */
export async function locateCheckout(cwd: string): Promise<Checkout> {
  try {
    const git = new Git({ cwd, timeoutMs: DEFAULT_GIT_TIMEOUT_MS });
    const [root = '', shallow] = (await git.run(['rev-parse', '--show-toplevel', '--is-shallow-repository']))
      .split('\n')
      .map((line) => line.trim());
    return { root, shallow: shallow === 'true' };
  } catch (err) {
    throw new NopeaError('input', {
      message: `${cwd} is not inside a git repository (${firstLine(err)})`,
      hint: 'run nopea from a checkout of the repository that holds the manifests',
    });
  }
}

/**
 * Repository, commit and ref of the checkout at `repoRoot`: the CI's values where given, else git's
 * (the `origin` URL without user info, HEAD, and the branch unless HEAD is detached). What git cannot
 * tell (no commit yet, no `origin`) is left out rather than an error.
 */
export async function sourceInfo(repoRoot: string, ci: CiProvenance = {}): Promise<SourceInfo> {
  const git = new Git({ cwd: repoRoot, timeoutMs: DEFAULT_GIT_TIMEOUT_MS });
  // Only what CI did not say is asked of git; one rev-parse answers both commit and branch.
  const [head, origin] = await Promise.all([
    ci.commit && ci.ref ? '' : git.run(['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD']).catch(() => ''),
    ci.repo ? '' : git.run(['remote', 'get-url', 'origin']).catch(() => ''),
  ]);
  const [commit = '', branch = ''] = head.split('\n').map((line) => line.trim());
  const url = origin.trim();

  const out: SourceInfo = {};
  const repo = ci.repo || (url && redactUrlCredentials(url, 'remove'));
  if (repo) out.repo = repo;
  const sha = ci.commit || commit;
  if (sha) out.commit = sha;
  // A detached HEAD (as CI checkouts of a commit are) names no branch: `--abbrev-ref` says `HEAD`.
  const ref = ci.ref || (branch && branch !== 'HEAD' ? `refs/heads/${branch}` : '');
  if (ref) out.ref = ref;
  return out;
}
