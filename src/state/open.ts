/**
 * Opening the state branch (DESIGN.md, "State branch"): checks the options, finds the repository and
 * whether it is shallow, chooses the remote that holds the branch (or the repository's own branch when
 * it has no remote), sets up the runner that fetches and pushes with the auth header, picks the commit
 * author, and hands all of it to the store (`store.ts`), which then fetches the tip.
 *
 * The auth header is only ever set for the remote's own http(s) host and is scrubbed from every error
 * (`git.ts`); the user's git configuration is read, never written.
 */
import { NopeaError } from '../errors.js';
import { NOPEA_IDENTITY, type Identity } from './build-commit.js';
import { DEFAULT_RETENTION, type Retention } from './change.js';
import { DEFAULT_GIT_TIMEOUT_MS, Git, GitCommandError, type GitSetting } from './git.js';
import { gitDetail, type BranchTarget } from './remote.js';
import { DEFAULT_STATE_BRANCH } from './layout.js';
import { GitStateStore, type RetrySettings, type StateStore } from './store.js';

/**
 * Which repository holds the state branch: `repoDir`, any directory inside its work tree, or `repoRoot`,
 * its top level as `locateCheckout` (`repository.ts`) returned it, when the caller has looked it up
 * already and git need not be asked again (nor whether it is shallow, when `shallowRepository` says).
 */
export type RepositoryLocation =
  | { repoDir: string; repoRoot?: never; shallowRepository?: never }
  | { repoRoot: string; repoDir?: never; shallowRepository?: boolean };

/** How to reach the state branch and how to write it. */
export type OpenStateOptions = RepositoryLocation & {
  /** Default `nopea-state`. */
  branch?: string;
  /**
   * Remote holding the branch, default `origin`. A repository without any remote keeps the state on its
   * own `refs/heads/<branch>`; `false` forces that. A remote that is not configured, in a repository that
   * has others, is an error.
   */
  remote?: string | false;
  /**
   * Header for fetch and push over http(s), e.g. `AUTHORIZATION: basic <base64 x-access-token:TOKEN>`.
   * It is set for the remote's host (replacing a header an actions/checkout credential already sets
   * there), reaches git through its environment, never its command line, and is scrubbed from every
   * error; the caller masks it in its own logs.
   */
  auth?: { extraHeader: string };
  /** Upper bound for one git invocation, default 60 s. */
  timeoutMs?: number;
  /**
   * Fetch only the branch tip (`--depth=1`). Defaults to whether the repository is shallow already, as
   * CI checkouts are: a full clone stays full, because making it shallow breaks tools that need history.
   */
  shallow?: boolean;
  /** Deploy records kept per service (default 50); occurrences leave with their deploy record. */
  retention?: Partial<Retention>;
  /** Publishing retries when other runs move the branch: default 6 attempts within 30 s, first delay ~250 ms. */
  retry?: { attempts?: number; totalMs?: number; baseDelayMs?: number };
  /** Commit author; default `user.name`/`user.email` from git config, else nopea. The committer is always nopea. */
  author?: Identity;
};

function assertBranchName(branch: string): void {
  const ok =
    /^[A-Za-z0-9._/-]+$/.test(branch) &&
    !/(^[-/.]|\/\.|\.\.|\/\/|[/.]$|\.lock$|\.lock\/)/.test(branch) &&
    branch !== 'HEAD';
  if (!ok) throw new NopeaError('input', `invalid state branch name ${JSON.stringify(branch)}`);
}

function assertRemoteName(remote: string): void {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._/-]*$/.test(remote) || remote.includes('..')) {
    throw new NopeaError('input', `invalid remote name ${JSON.stringify(remote)}`);
  }
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new NopeaError('input', `${what} must be a positive integer`);
  }
  return value;
}

/**
 * A fetch would end by starting `git maintenance run --auto` (or `gc --auto`) in the user's
 * repository: a process per run, and now and then a garbage collection inside a deploy. nopea's own
 * commands never ask for that.
 */
const NO_AUTO_MAINTENANCE: GitSetting[] = [
  { key: 'maintenance.auto', value: 'false' },
  { key: 'gc.auto', value: '0' },
];

/** `scheme://host[:port]/` of an http(s) URL, the key git matches `http.<url>.*` settings with. */
function httpPrefix(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
      ? `${parsed.protocol}//${parsed.host}/`
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The repository's top level and whether it is shallow. With `repoRoot` the top level is known and
 * git is only asked whether the repository is shallow, unless the caller knows that too; with
 * `repoDir` one `rev-parse` answers both.
 */
async function locateRepository(
  location: RepositoryLocation,
  timeoutMs: number,
): Promise<{ top: string; shallowRepository: boolean }> {
  const dir = location.repoRoot ?? location.repoDir;
  if (location.repoRoot !== undefined && location.shallowRepository !== undefined) {
    return { top: location.repoRoot, shallowRepository: location.shallowRepository };
  }
  try {
    const probe = new Git({ cwd: dir, timeoutMs });
    if (location.repoRoot !== undefined) {
      const answer = (await probe.run(['rev-parse', '--is-shallow-repository'])).trim();
      return { top: location.repoRoot, shallowRepository: answer === 'true' };
    }
    const [first, second] = (
      await probe.run(['rev-parse', '--show-toplevel', '--is-shallow-repository'])
    ).split('\n');
    return { top: first ?? '', shallowRepository: second === 'true' };
  } catch (err) {
    throw new NopeaError('input', {
      message: `${dir} is not inside a git work tree: ${gitDetail(err)}`,
      hint: 'run nopea from a clone of the repository that holds the manifests',
    });
  }
}

async function readConfig(git: Git): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  let out = '';
  try {
    out = await git.run(['config', '--get-regexp', '^(remote\\..*\\.url|user\\.name|user\\.email)$']);
  } catch (err) {
    // Exit 1: no key matched.
    if (!(err instanceof GitCommandError && err.exitCode === 1)) throw err;
  }
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    // System, global, then local: the last value is the one git uses.
    if (space > 0) values.set(line.slice(0, space), line.slice(space + 1));
  }
  return values;
}

/** The remote asked for (`origin` unless named), or undefined with `remote: false`. */
function wantedRemote(requested: string | false | undefined): string | undefined {
  return requested === false ? undefined : (requested ?? 'origin');
}

/** `wanted` when it is configured; undefined when there is none to use (see below). */
function chooseRemote(
  wanted: string | undefined,
  config: Map<string, string>,
  top: string,
): string | undefined {
  if (wanted === undefined) return undefined;
  const remotes = [...config.keys()].filter((k) => /^remote\..+\.url$/.test(k)).map((k) => k.slice(7, -4));
  if (remotes.includes(wanted)) return wanted;
  // A repository with no remote at all keeps its state on a local branch, whatever remote name the
  // configuration defaults to; one whose remotes are merely named differently must not silently stop
  // publishing its state, so that is an error.
  if (remotes.length === 0) return undefined;
  throw new NopeaError('input', {
    message: `remote ${wanted} is not configured in ${top}`,
    hint: `configured remotes: ${remotes.join(', ')}; name one of them`,
  });
}

/** The URLs git pushes `remote` to (`insteadOf` rules applied). */
async function pushUrlsOf(git: Git, remote: string): Promise<string[]> {
  return (await git.run(['remote', 'get-url', '--push', '--all', remote])).split('\n').filter(Boolean);
}

/** The runner for fetch and push (with the auth header, if any) and the URL to push to. */
async function remoteRunner(
  git: Git,
  remote: string,
  auth: OpenStateOptions['auth'],
  pushUrls: string[],
): Promise<{ network: Git; pushTo: string }> {
  const pushTo = pushUrls.length === 1 ? (pushUrls[0] as string) : remote;
  if (!auth) return { network: git, pushTo };
  const fetchUrl = (await git.run(['remote', 'get-url', remote])).trim();
  const prefixes = new Set([fetchUrl, ...pushUrls].map(httpPrefix).filter((p) => p !== undefined));
  // The empty value first clears a header configured for the same URL (actions/checkout persists one),
  // which would otherwise be sent as a second Authorization header and rejected.
  const settings = [...prefixes].flatMap((p) => [
    { key: `http.${p}.extraheader`, value: '' },
    { key: `http.${p}.extraheader`, value: auth.extraHeader },
  ]);
  return { network: git.withConfig(settings, [auth.extraHeader]), pushTo };
}

async function assertNotCheckedOut(git: Git, branch: string, top: string): Promise<void> {
  let head = '';
  try {
    head = (await git.run(['symbolic-ref', '--quiet', 'HEAD'])).trim();
  } catch {
    // Detached HEAD: nothing checked out can go stale.
  }
  if (head === `refs/heads/${branch}`) {
    throw new NopeaError('input', {
      message: `the state branch ${branch} is checked out in ${top}`,
      hint: 'check out another branch: nopea moves the state branch without a work tree, which would leave this checkout stale',
    });
  }
}

/**
 * Opens the state branch of the repository at `repoRoot` or containing `repoDir`: fetches the branch tip
 * (into a private ref, `refs/nopea/<remote>/<branch>`) and checks its format. A branch that does not
 * exist yet is a first deploy, not an error; a state format newer than this nopea is refused.
 */
export async function openState(options: OpenStateOptions): Promise<StateStore> {
  const branch = options.branch ?? DEFAULT_STATE_BRANCH;
  assertBranchName(branch);
  if (typeof options.remote === 'string') assertRemoteName(options.remote);
  const timeoutMs = positiveInt(options.timeoutMs, DEFAULT_GIT_TIMEOUT_MS, 'the git timeout');
  const retention: Retention = {
    deploys: positiveInt(options.retention?.deploys, DEFAULT_RETENTION.deploys, 'deploy retention'),
  };
  const retry: RetrySettings = {
    attempts: positiveInt(options.retry?.attempts, 6, 'retry attempts'),
    totalMs: positiveInt(options.retry?.totalMs, 30_000, 'the retry budget'),
    baseDelayMs: positiveInt(options.retry?.baseDelayMs, 250, 'the retry delay'),
  };

  // With the top level known, the lookups that follow do not wait for one another: each git call is
  // a process start, and on a busy event loop every one of them waits its turn again.
  const located = locateRepository(options, timeoutMs);
  const top = options.repoRoot ?? (await located).top;
  const git = new Git({ cwd: top, timeoutMs, config: NO_AUTO_MAINTENANCE });
  // The one remote chooseRemote can pick; asked about now, and awaited only if it is picked.
  const wanted = wantedRemote(options.remote);
  const pushUrls = wanted === undefined ? undefined : pushUrlsOf(git, wanted);
  pushUrls?.catch(() => undefined);
  const reading = readConfig(git);
  // Not a repository at all: that message, not whatever the config read met first.
  reading.catch(() => undefined);
  const { shallowRepository } = await located;
  const config = await reading;
  const remote = chooseRemote(wanted, config, top);
  const { network, pushTo } = remote
    ? await remoteRunner(git, remote, options.auth, await (pushUrls ?? pushUrlsOf(git, remote)))
    : { network: git, pushTo: undefined };
  if (!remote) await assertNotCheckedOut(git, branch, top);

  const configured = config.get('user.name') && config.get('user.email');
  const author =
    options.author ??
    (configured
      ? { name: config.get('user.name') ?? '', email: config.get('user.email') ?? '' }
      : NOPEA_IDENTITY);
  const target: BranchTarget = {
    git,
    network,
    branch,
    remote,
    pushTo,
    shallow: options.shallow ?? shallowRepository,
    timeoutMs,
  };
  const store = new GitStateStore(target, git, { retention, retry, author });
  await store.refresh();
  return store;
}
