/**
 * The state store: reads and writes `.nopea/` on the state branch (DESIGN.md, "State branch" and
 * "Concurrency"). Only the branch tip is read, with plumbing (`ls-tree`, one `cat-file --batch` per
 * read), never through a work tree; a commit is built on the fetched tip with plumbing and published
 * with compare-and-swap, and when another run moved the branch first the same change is rebuilt on the
 * new tip and tried again. The user's checkout, index, HEAD and branches are left untouched.
 *
 * Opening (repository, remote, auth, author) is `open.ts`; fetch and publish are `remote.ts`; what a
 * read yields is `reader.ts`. Secrets: the store does not know what a Secret is; callers must pass
 * objects whose Secret values are already masked. Layout, file names and schemas: `layout.ts` and
 * `format.ts`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NopeaError } from '../errors.js';
import { buildCommit, NOPEA_IDENTITY, type Identity } from './build-commit.js';
import { directoriesToList, resolveChange, type Retention, type StateChange } from './change.js';
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
  type DeployRecord,
  type Graph,
  type LastApplied,
  type StateLocation,
} from './format.js';
import type { Git, GitObject } from './git.js';
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
import type { ServiceState, StateReader } from './reader.js';
import { describeTarget, fetchTip, localGitError, publishCommit, type BranchTarget } from './remote.js';

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

/** How often and how fast a change lost to another run is rebuilt and offered again. */
export interface RetrySettings {
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

/**
 * The store over one branch target; `openState` (`open.ts`) builds it from the options and refreshes it
 * before handing it out.
 */
export class GitStateStore implements StateStore {
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
