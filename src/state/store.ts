/**
 * The state store: reads and writes `.nopea/` on the state branch (DESIGN.md, "State branch" and
 * "Concurrency"). Only the branch tip is read, with plumbing (`ls-tree`, one `cat-file --batch` per
 * read), never through a work tree; a commit is built on the fetched tip with plumbing and published
 * with compare-and-swap, and when another run moved the branch first the same change is rebuilt on the
 * new tip and tried again. The user's checkout, index, HEAD and branches are left untouched.
 *
 * Secrets: the store does not know what a Secret is; callers must pass objects whose Secret values are
 * already masked. Layout, file names and schemas: `layout.ts` and `format.ts`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NopeaError } from '../errors.js';
import type { ResourceId } from '../resources/object.js';
import { buildCommit, NOPEA_IDENTITY, type Identity } from './build-commit.js';
import {
  DEFAULT_RETENTION,
  directoriesToList,
  resolveChange,
  type Retention,
  type StateChange,
} from './change.js';
import {
  corruptStateError,
  CurrentSchema,
  DeployRecordSchema,
  describeLocation,
  GraphSchema,
  InventorySchema,
  LastAppliedSchema,
  parseFormatFile,
  parseStateFile,
  STATE_FORMAT,
  type Current,
  type DeployRecord,
  type Graph,
  type Inventory,
  type LastApplied,
  type StateLocation,
} from './format.js';
import { Git, GitCommandError, type GitObject } from './git.js';
import {
  assertDeployId,
  assertServiceName,
  classifyStatePath,
  FORMAT_PATH,
  GRAPH_PATH,
  isUlid,
  serviceDir,
  SERVICES_DIR,
  STATE_ROOT,
} from './layout.js';
import {
  describeTarget,
  fetchTip,
  gitDetail,
  localGitError,
  publishCommit,
  type BranchTarget,
} from './remote.js';

/** The branch nopea keeps its state on unless told otherwise. */
export const DEFAULT_STATE_BRANCH = 'nopea-state';

/** How to reach the state branch and how to write it. */
export interface OpenStateOptions {
  /** Any directory inside the repository's work tree. */
  repoDir: string;
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
   * there) and scrubbed from every error; the caller masks it in its own logs.
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
}

/** What the branch tip says about one service. */
export interface ServiceState {
  inventory?: Inventory;
  /** Last-applied objects keyed by resource id. */
  lastApplied: Map<ResourceId, LastApplied>;
  current?: Current;
}

/** Read access to the state at one tip. */
export interface StateReader {
  readonly branch: string;
  /** Remote name, or undefined when the state is a local branch. */
  readonly remote: string | undefined;
  /** Commit the reads see, or undefined when the branch does not exist yet. */
  readonly tip: string | undefined;
  /** State format of the tip (the current format when the branch does not exist yet). */
  readonly format: number;
  /** Services that have a directory on the branch, sorted. */
  listServices(): Promise<string[]>;
  /** Inventory, last-applied objects and current deploy of a service (empty when it has none). */
  readService(service: string): Promise<ServiceState>;
  /** Deploy records of a service, newest first, at most `limit` (default: all that are kept). */
  listDeploys(service: string, options?: { limit?: number }): Promise<DeployRecord[]>;
  /** One deploy record, or undefined when the branch has no record with that id for the service. */
  readDeploy(service: string, id: string): Promise<DeployRecord | undefined>;
  /** The memory graph, or undefined when none has been written. */
  readGraph(): Promise<Graph | undefined>;
}

/** The result of a published change. */
export interface CommitResult {
  /** The new tip (or the unchanged tip when the change changed nothing). */
  commit: string;
  /** How many times the change was built and offered (1 unless other runs raced it). */
  attempts: number;
}

/** The state branch: reads at the tip, and commits published with compare-and-swap. */
export interface StateStore extends StateReader {
  /** Fetches the tip again (reads then see it) and returns it. */
  refresh(): Promise<string | undefined>;
  /** Builds the change on the tip as one commit and publishes it, rebuilding on a newer tip when raced. */
  commit(change: StateChange): Promise<CommitResult>;
}

interface RetrySettings {
  attempts: number;
  totalMs: number;
  baseDelayMs: number;
}

interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  path: string;
}

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

function chooseRemote(
  requested: string | false | undefined,
  config: Map<string, string>,
  top: string,
): string | undefined {
  if (requested === false) return undefined;
  const remotes = [...config.keys()].filter((k) => /^remote\..+\.url$/.test(k)).map((k) => k.slice(7, -4));
  const wanted = requested ?? 'origin';
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

/** The runner for fetch and push (with the auth header, if any) and the URL to push to. */
async function remoteRunner(
  git: Git,
  remote: string,
  auth: OpenStateOptions['auth'],
): Promise<{ network: Git; pushTo: string }> {
  const pushUrls = (await git.run(['remote', 'get-url', '--push', '--all', remote]))
    .split('\n')
    .filter(Boolean);
  const pushTo = pushUrls.length === 1 ? (pushUrls[0] as string) : remote;
  if (!auth) return { network: git, pushTo };
  const fetchUrl = (await git.run(['remote', 'get-url', remote])).trim();
  const prefixes = new Set([fetchUrl, ...pushUrls].map(httpPrefix).filter((p) => p !== undefined));
  // The empty value first clears a header configured for the same URL (actions/checkout persists one),
  // which would otherwise be sent as a second Authorization header and rejected.
  const settings = [...prefixes].flatMap((p) => [
    `http.${p}.extraheader=`,
    `http.${p}.extraheader=${auth.extraHeader}`,
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
 * Opens the state branch of the repository containing `repoDir`: fetches the branch tip (into a private
 * ref, `refs/nopea/<remote>/<branch>`) and checks its format. A branch that does not exist yet is a
 * first deploy, not an error; a state format newer than this nopea is refused.
 */
export async function openState(options: OpenStateOptions): Promise<StateStore> {
  const branch = options.branch ?? DEFAULT_STATE_BRANCH;
  assertBranchName(branch);
  if (typeof options.remote === 'string') assertRemoteName(options.remote);
  const timeoutMs = positiveInt(options.timeoutMs, 60_000, 'the git timeout');
  const retention: Retention = {
    deploys: positiveInt(options.retention?.deploys, DEFAULT_RETENTION.deploys, 'deploy retention'),
  };
  const retry: RetrySettings = {
    attempts: positiveInt(options.retry?.attempts, 6, 'retry attempts'),
    totalMs: positiveInt(options.retry?.totalMs, 30_000, 'the retry budget'),
    baseDelayMs: positiveInt(options.retry?.baseDelayMs, 250, 'the retry delay'),
  };

  let top: string;
  let shallowRepository: boolean;
  try {
    const probe = new Git({ cwd: options.repoDir, timeoutMs });
    const [first, second] = (
      await probe.run(['rev-parse', '--show-toplevel', '--is-shallow-repository'])
    ).split('\n');
    top = first ?? '';
    shallowRepository = second === 'true';
  } catch (err) {
    throw new NopeaError('input', {
      message: `${options.repoDir} is not inside a git work tree: ${gitDetail(err)}`,
      hint: 'run nopea from a clone of the repository that holds the manifests',
    });
  }

  const git = new Git({ cwd: top, timeoutMs });
  const config = await readConfig(git);
  const remote = chooseRemote(options.remote, config, top);
  const { network, pushTo } = remote
    ? await remoteRunner(git, remote, options.auth)
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

function retryDelay(attempt: number, baseMs: number): number {
  // Exponential with ±50 % jitter, so runs that lost the same race do not collide again in step.
  return Math.min(baseMs * 2 ** (attempt - 1), 8 * baseMs) * (0.5 + Math.random());
}

/** What the store knows about the tip it reads and builds on. */
interface TipState {
  commit: string | undefined;
  tree: string | undefined;
  format: number;
  /** Whether the tip has `.nopea/format` (the first commit writes it). */
  hasFormat: boolean;
}

const NO_TIP: TipState = { commit: undefined, tree: undefined, format: STATE_FORMAT, hasFormat: false };

class GitStateStore implements StateStore {
  private state: TipState = NO_TIP;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly target: BranchTarget,
    private readonly git: Git,
    private readonly settings: { retention: Retention; retry: RetrySettings; author: Identity },
  ) {}

  get tip(): string | undefined {
    return this.state.commit;
  }

  get format(): number {
    return this.state.format;
  }

  get branch(): string {
    return this.target.branch;
  }

  get remote(): string | undefined {
    return this.target.remote;
  }

  // Refresh and commit both move the tip; running them one at a time keeps reads and writes consistent.
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  refresh(): Promise<string | undefined> {
    return this.serialize(() => this.load());
  }

  commit(change: StateChange): Promise<CommitResult> {
    return this.serialize(() => this.publish(change));
  }

  private location(commit: string, path: string): StateLocation {
    return { branch: this.target.branch, remote: this.target.remote, commit, path };
  }

  private async load(): Promise<string | undefined> {
    const tip = await fetchTip(this.target);
    if (!tip) {
      this.state = NO_TIP;
      return undefined;
    }
    const [tree, formatFile, root] = await this.read(() =>
      this.git.readObjects([`${tip}^{tree}`, `${tip}:${FORMAT_PATH}`, `${tip}:${STATE_ROOT}`]),
    );
    if (!tree) {
      throw new NopeaError(
        'state',
        `${describeLocation(this.location(tip, ''))} cannot be read: its tree is missing`,
      );
    }
    // A branch without .nopea/ at all (say, created empty by hand) is empty state; the next commit adds it.
    let format = STATE_FORMAT;
    if (formatFile) {
      if (formatFile.type !== 'blob') throw corruptStateError(this.location(tip, FORMAT_PATH), 'not a file');
      format = parseFormatFile(formatFile.content, this.location(tip, FORMAT_PATH));
    } else if (root) {
      throw corruptStateError(this.location(tip, FORMAT_PATH), `missing, although ${STATE_ROOT}/ exists`);
    }
    this.state = { commit: tip, tree: tree.sha, format, hasFormat: formatFile !== undefined };
    return tip;
  }

  // Local plumbing failures become state errors naming the branch.
  private async read<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw localGitError(this.target, 'read', err);
    }
  }

  private async listTree(commit: string, paths: readonly string[], recursive: boolean): Promise<TreeEntry[]> {
    const out = await this.read(() =>
      this.git.run(['ls-tree', '-z', '--full-tree', ...(recursive ? ['-r'] : []), commit, '--', ...paths]),
    );
    const entries: TreeEntry[] = [];
    for (const record of out.split('\0')) {
      const match = /^([0-7]+) ([a-z]+) ([0-9a-f]+)\t([\s\S]+)$/.exec(record);
      if (match) {
        entries.push({
          mode: match[1] as string,
          type: match[2] as string,
          sha: match[3] as string,
          path: match[4] as string,
        });
      }
    }
    return entries;
  }

  private async readBlobs(commit: string, entries: readonly TreeEntry[]): Promise<GitObject[]> {
    const objects = await this.read(() => this.git.readObjects(entries.map((e) => e.sha)));
    return objects.map((object, i) => {
      const path = entries[i]?.path ?? '';
      if (!object || object.type !== 'blob') {
        throw corruptStateError(this.location(commit, path), 'not a readable file');
      }
      return object;
    });
  }

  private async readPath(commit: string, path: string): Promise<GitObject | undefined> {
    const [object] = await this.read(() => this.git.readObjects([`${commit}:${path}`]));
    if (object && object.type !== 'blob') throw corruptStateError(this.location(commit, path), 'not a file');
    return object;
  }

  async listServices(): Promise<string[]> {
    const tip = this.tip;
    if (!tip) return [];
    const entries = await this.listTree(tip, [`${SERVICES_DIR}/`], false);
    return entries
      .filter((e) => e.type === 'tree')
      .map((e) => e.path.slice(SERVICES_DIR.length + 1))
      .sort();
  }

  async readService(service: string): Promise<ServiceState> {
    assertServiceName(service);
    const state: ServiceState = { lastApplied: new Map() };
    const tip = this.tip;
    if (!tip) return state;
    const dir = serviceDir(service);
    const entries = (
      await this.listTree(tip, [`${dir}/inventory.json`, `${dir}/current.json`, `${dir}/last-applied/`], true)
    ).filter((e) => e.type === 'blob');
    const blobs = await this.readBlobs(tip, entries);
    entries.forEach((entry, i) => {
      const content = (blobs[i] as GitObject).content;
      const at = this.location(tip, entry.path);
      const where = classifyStatePath(entry.path);
      if (where.kind === 'inventory') {
        state.inventory = parseStateFile(InventorySchema, content, at);
        if (state.inventory.service !== service) {
          throw corruptStateError(at, `it belongs to service ${state.inventory.service}`);
        }
      } else if (where.kind === 'current') {
        state.current = parseStateFile(CurrentSchema, content, at);
        if (state.current.service !== service) {
          throw corruptStateError(at, `it belongs to service ${state.current.service}`);
        }
      } else if (where.kind === 'last-applied') {
        if (where.id === undefined) {
          throw corruptStateError(at, 'the file name is not an encoded resource id');
        }
        const lastApplied: LastApplied = parseStateFile(LastAppliedSchema, content, at);
        if (lastApplied.id !== where.id) {
          throw corruptStateError(at, `it holds ${lastApplied.id}, not ${where.id}`);
        }
        state.lastApplied.set(where.id, lastApplied);
      }
    });
    return state;
  }

  async listDeploys(service: string, options: { limit?: number } = {}): Promise<DeployRecord[]> {
    assertServiceName(service);
    const limit = options.limit ?? Infinity;
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
      throw new NopeaError('input', 'the deploy list limit must be a non-negative integer');
    }
    const tip = this.tip;
    if (!tip) return [];
    const dir = `${serviceDir(service)}/deploys/`;
    const entries = (await this.listTree(tip, [dir], false))
      .filter((e) => e.type === 'blob' && e.path.endsWith('.json') && isUlid(e.path.slice(dir.length, -5)))
      .sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0))
      .slice(0, limit);
    const blobs = await this.readBlobs(tip, entries);
    return entries.map((entry, i) =>
      this.parseDeploy(tip, entry.path, service, (blobs[i] as GitObject).content),
    );
  }

  async readDeploy(service: string, id: string): Promise<DeployRecord | undefined> {
    assertServiceName(service);
    assertDeployId(id);
    const tip = this.tip;
    if (!tip) return undefined;
    const path = `${serviceDir(service)}/deploys/${id}.json`;
    const object = await this.readPath(tip, path);
    return object && this.parseDeploy(tip, path, service, object.content);
  }

  private parseDeploy(commit: string, path: string, service: string, content: Buffer): DeployRecord {
    const at = this.location(commit, path);
    const record = parseStateFile(DeployRecordSchema, content, at);
    const id = path.slice(path.lastIndexOf('/') + 1, -'.json'.length);
    if (record.id !== id || record.service !== service) {
      throw corruptStateError(at, `it holds deploy ${record.id} of service ${record.service}`);
    }
    return record;
  }

  async readGraph(): Promise<Graph | undefined> {
    const tip = this.tip;
    if (!tip) return undefined;
    const object = await this.readPath(tip, GRAPH_PATH);
    return object && parseStateFile(GraphSchema, object.content, this.location(tip, GRAPH_PATH));
  }

  private async listFiles(commit: string, dirs: readonly string[]): Promise<string[]> {
    const out = await this.read(() =>
      this.git.run([
        'ls-tree',
        '-r',
        '-z',
        '--name-only',
        '--full-tree',
        commit,
        '--',
        ...dirs.map((d) => `${d}/`),
      ]),
    );
    return out.split('\0').filter((p) => p.length > 0);
  }

  private async publish(change: StateChange): Promise<CommitResult> {
    assertServiceName(change.service);
    if (!change.message.trim()) throw new NopeaError('internal', 'a state commit needs a message');
    const { attempts, totalMs, baseDelayMs } = this.settings.retry;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await this.load();
      const { commit: tip, tree, hasFormat } = this.state;
      const base = tip && tree ? { commit: tip, tree } : undefined;
      const derived = change.derive ? await change.derive(this) : {};
      const replaceDirs = change.replaceDirs ?? [];
      const baseFiles = base
        ? await this.listFiles(base.commit, directoriesToList(change.service, replaceDirs))
        : [];
      const resolved = resolveChange({
        service: change.service,
        writes: { ...(change.writes ?? {}), ...derived },
        deletes: change.deletes ?? [],
        replaceDirs,
        baseFiles,
        hasFormat,
        retention: this.settings.retention,
      });
      const built = await buildCommit({
        git: this.git,
        base,
        change: resolved,
        message: change.message,
        author: this.settings.author,
        committer: NOPEA_IDENTITY,
      }).catch((err: unknown) => {
        throw localGitError(this.target, 'build a commit for', err);
      });
      if (!built) return { commit: base?.commit ?? '', attempts: attempt };
      if (await publishCommit(this.target, built.commit, base?.commit, change.message)) {
        this.state = { commit: built.commit, tree: built.tree, format: STATE_FORMAT, hasFormat: true };
        return { commit: built.commit, attempts: attempt };
      }
      const delay = retryDelay(attempt, baseDelayMs);
      const elapsed = Date.now() - started;
      if (attempt >= attempts || elapsed + delay > totalMs) {
        throw new NopeaError('state', {
          message: `could not record "${change.message}" on ${describeTarget(this.target)}: other runs moved the branch first, ${attempt} times in ${Math.round(elapsed / 1000)} s`,
          hint: 'many runs are writing the state branch at once; retry, or spread the runs out',
        });
      }
      await sleep(delay);
    }
  }
}
