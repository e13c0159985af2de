/**
 * The state store: reads and writes `.nopea/` on the state branch (DESIGN.md, "State branch" and
 * "Concurrency"). Reads go to a reader of the fetched tip (`tip.ts`: plumbing only, never a work
 * tree); a commit is built on that tip with plumbing and published with compare-and-swap, and when
 * another run moved the branch first the tip is fetched again and the change built again on it: its
 * fixed files applied again, its derived files (`StateChange.derive`) computed again from the new tip.
 * A push whose answer was lost in transit is settled the same way: the tip is fetched again and the
 * change offered again, and a change that already landed changes nothing there (every file it writes
 * is the same, so the tree is too): never a second commit, never a lost one.
 * Retries follow the one bounded loop (`poll.ts`). The user's checkout, index, HEAD and branches are
 * left untouched.
 *
 * Opening (repository, remote, auth, author) is `open.ts`; fetch and publish are `remote.ts`; what a
 * read yields is `reader.ts`. Secrets: the store does not know what a Secret is; callers must pass
 * objects whose Secret values are already masked. Layout, file names and schemas: `layout.ts` and
 * `format.ts`.
 */
import { NopeaError } from '../errors.js';
import { poll } from '../poll.js';
import { buildCommit, NOPEA_IDENTITY, type BuiltCommit, type Identity } from './build-commit.js';
import { directoriesToList, resolveChange, type Retention, type StateChange } from './change.js';
import { STATE_FORMAT, type DeployRecord, type Graph } from './format.js';
import type { Git } from './git.js';
import { assertServiceName } from './layout.js';
import type { ServiceState, StateReader } from './reader.js';
import {
  describeTarget,
  localGitError,
  publishCommit,
  type BranchTarget,
  type PublishOutcome,
} from './remote.js';
import { NO_TIP, readTip, TipReader } from './tip.js';

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

/**
 * How often and how fast a change lost to another run is rebuilt and offered again: at most `attempts`
 * times within `totalMs`, the first retry after about `baseDelayMs` (jittered), doubling up to 8 times it.
 */
export interface RetrySettings {
  attempts: number;
  totalMs: number;
  baseDelayMs: number;
}

/**
 * The store over one branch target; `openState` (`open.ts`) builds it from the options and refreshes it
 * before handing it out.
 */
export class GitStateStore implements StateStore {
  readonly branch: string;
  readonly remote: string | undefined;
  private reader: TipReader;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly target: BranchTarget,
    private readonly git: Git,
    private readonly settings: { retention: Retention; retry: RetrySettings; author: Identity },
  ) {
    this.branch = target.branch;
    this.remote = target.remote;
    this.reader = new TipReader(target, git, NO_TIP);
  }

  // The tip moves; reads go to the reader of whichever tip was fetched or published last.
  get tip(): string | undefined {
    return this.reader.tip;
  }

  get format(): number {
    return this.reader.format;
  }

  listServices(): Promise<string[]> {
    return this.reader.listServices();
  }

  readService(service: string): Promise<ServiceState> {
    return this.reader.readService(service);
  }

  listDeploys(service: string, options?: { limit?: number }): Promise<DeployRecord[]> {
    return this.reader.listDeploys(service, options);
  }

  readDeploy(service: string, id: string): Promise<DeployRecord | undefined> {
    return this.reader.readDeploy(service, id);
  }

  readGraph(): Promise<Graph | undefined> {
    return this.reader.readGraph();
  }

  // Refresh and commit both move the tip; running them one at a time keeps reads and writes consistent.
  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  refresh(): Promise<string | undefined> {
    return this.serialize(async () => {
      this.reader = await readTip(this.target, this.git);
      return this.reader.tip;
    });
  }

  commit(change: StateChange): Promise<CommitResult> {
    return this.serialize(() => this.publish(change));
  }

  private async publish(change: StateChange): Promise<CommitResult> {
    assertServiceName(change.service);
    if (!change.message.trim()) throw new NopeaError('internal', 'a state commit needs a message');
    const { attempts, totalMs, baseDelayMs } = this.settings.retry;
    let lost: string | undefined;
    const result = await poll<CommitResult>(
      async (attempt) => {
        if (attempt > 1) this.reader = await readTip(this.target, this.git);
        const offered = await this.offer(change, this.reader);
        lost = undefined;
        if (offered === 'raced') return { done: false, reason: 'another run moved the branch first' };
        if (typeof offered === 'string') return { done: true, value: { commit: offered, attempts: attempt } };
        lost = offered.lost;
        return { done: false, reason: 'the push was cut short' };
      },
      {
        timeoutMs: totalMs,
        maxAttempts: attempts,
        backoff: { initialMs: baseDelayMs, maxMs: 8 * baseDelayMs },
      },
    );
    if (result.ok) return result.value;
    const where = describeTarget(this.target);
    const tries = `${result.attempts} times in ${Math.round(result.elapsedMs / 1000)} s`;
    if (lost !== undefined) {
      // The last push may have landed after all: the branch says whether it did.
      this.reader = await readTip(this.target, this.git);
      const { parent, built } = await this.build(change, this.reader);
      if (!built) return { commit: parent?.commit ?? '', attempts: result.attempts };
      throw new NopeaError('state', {
        message: `could not record "${change.message}" on ${where}: the push was cut short ${tries} (${lost}), and the branch does not have it`,
        hint: `check that remote ${this.target.remote} is reachable and healthy, then run again: the next run records what this one could not`,
      });
    }
    throw new NopeaError('state', {
      message: `could not record "${change.message}" on ${where}: other runs moved the branch first, ${tries}`,
      hint: 'many runs are writing the state branch at once; retry, or spread the runs out',
    });
  }

  /** The change built as a commit on `base`, or no commit when it changes nothing there. */
  private async build(
    change: StateChange,
    base: TipReader,
  ): Promise<{ parent?: { commit: string; tree: string }; built?: BuiltCommit }> {
    const { commit: tip, tree, hasFormat } = base.state;
    const parent = tip && tree ? { commit: tip, tree } : undefined;
    const derived = change.derive ? await change.derive(base) : {};
    const replaceDirs = change.replaceDirs ?? [];
    const baseFiles = await base.listFiles(directoriesToList(change.service, replaceDirs));
    const resolved = resolveChange({
      service: change.service,
      writes: { ...(change.writes ?? {}), ...(derived.writes ?? {}) },
      deletes: [...(change.deletes ?? []), ...(derived.deletes ?? [])],
      replaceDirs,
      baseFiles,
      hasFormat,
      retention: this.settings.retention,
      renamed: await base.overlongLastApplied(change.service, baseFiles),
    });
    const built = await buildCommit({
      git: this.git,
      base: parent,
      change: resolved,
      message: change.message,
      author: this.settings.author,
      committer: NOPEA_IDENTITY,
    }).catch((err: unknown) => {
      throw localGitError(this.target, 'build a commit for', err);
    });
    return { ...(parent ? { parent } : {}), ...(built ? { built } : {}) };
  }

  /**
   * Builds the change on `base` and offers it: the new tip, the unchanged tip (or '' on an empty
   * branch) when the change changes nothing there, else why it is not published (another run moved
   * the branch first, or the push was lost in transit).
   */
  private async offer(
    change: StateChange,
    base: TipReader,
  ): Promise<string | Exclude<PublishOutcome, 'published'>> {
    const { parent, built } = await this.build(change, base);
    if (!built) return parent?.commit ?? '';
    const outcome = await publishCommit(this.target, built.commit, parent?.commit, change.message);
    if (outcome !== 'published') return outcome;
    const state = { commit: built.commit, tree: built.tree, format: STATE_FORMAT, hasFormat: true };
    this.reader = new TipReader(this.target, this.git, state);
    return built.commit;
  }
}
