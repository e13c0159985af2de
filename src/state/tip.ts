/**
 * Reading the state branch at one commit: fetching the tip and checking its format (`readTip`), then
 * every read a `StateReader` offers, with plumbing only (`ls-tree`, one `cat-file --batch` per read).
 * A `TipReader` never moves: the store replaces it when the tip moves, and a change's `derive` gets the
 * one of the exact commit it is built on. Every file is validated as it is read, and a corrupt one is
 * a state error naming branch, commit and path.
 */
import { NopeaError } from '../errors.js';
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
  fitsFileName,
  FORMAT_PATH,
  GRAPH_PATH,
  isIdFileName,
  isUlid,
  serviceDir,
  SERVICES_DIR,
  STATE_ROOT,
  statePaths,
  DEFAULT_STATE_BRANCH,
} from './layout.js';
import type { ServiceState, StateReader } from './reader.js';
import { fetchTip, localGitError, type BranchTarget } from './remote.js';

/** What is known about a tip: the commit, its tree, and its format. */
export interface TipState {
  commit: string | undefined;
  tree: string | undefined;
  format: number;
  /** Whether the tip has `.nopea/format` (the first commit writes it). */
  hasFormat: boolean;
}

/** The tip of a branch that does not exist yet. */
export const NO_TIP: TipState = {
  commit: undefined,
  tree: undefined,
  format: STATE_FORMAT,
  hasFormat: false,
};

interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  path: string;
}

/** Fetches the branch tip and returns a reader of it (of empty state when the branch does not exist). */
export async function readTip(target: BranchTarget, git: Git): Promise<TipReader> {
  const tip = await fetchTip(target);
  if (!tip) return new TipReader(target, git, NO_TIP);
  const at = (path: string): StateLocation => ({
    branch: target.branch,
    remote: target.remote,
    commit: tip,
    path,
  });
  const [tree, formatFile, root] = await readLocal(target, () =>
    git.readObjects([`${tip}^{tree}`, `${tip}:${FORMAT_PATH}`, `${tip}:${STATE_ROOT}`]),
  );
  if (!tree) {
    throw new NopeaError('state', `${describeLocation(at(''))} cannot be read: its tree is missing`);
  }
  // A branch without .nopea/ at all (say, created empty by hand) is empty state; the next commit adds it.
  // Unless it holds other files: then it is a source branch named by mistake (`--state-branch main`),
  // and the first deploy would commit its state onto it.
  if (!root) {
    const others = topLevelNames(tree.content, tip.length / 2).filter((n) => !BESIDE_STATE.test(n));
    if (others.length > 0) {
      const shown = others.slice(0, 5).map((n) => JSON.stringify(n));
      throw new NopeaError('input', {
        message: `${describeLocation(at(''))} is not a nopea state branch: it holds ${shown.join(', ')}${others.length > 5 ? ` and ${others.length - 5} more` : ''} and no ${STATE_ROOT}/`,
        hint: `nopea would commit its state onto this branch; name a branch of its own (--state-branch, stateBranch in nopea.yaml, the Action's state-branch input; default ${DEFAULT_STATE_BRANCH})`,
      });
    }
  }
  let format = STATE_FORMAT;
  if (formatFile) {
    if (formatFile.type !== 'blob') throw corruptStateError(at(FORMAT_PATH), 'not a file');
    format = parseFormatFile(formatFile.content, at(FORMAT_PATH));
  } else if (root) {
    throw corruptStateError(at(FORMAT_PATH), `missing, although ${STATE_ROOT}/ exists`);
  }
  return new TipReader(target, git, {
    commit: tip,
    tree: tree.sha,
    format,
    hasFormat: formatFile !== undefined,
  });
}

/** What a branch made by hand for the state may hold besides `.nopea/`. */
const BESIDE_STATE = /^(README|LICENSE)(\.[\w.-]*)?$|^\.git(ignore|attributes)$/i;

/** The names of a raw tree object's entries (`<mode> <name>\0<hash>`), hashes `hashBytes` long. */
function topLevelNames(tree: Buffer, hashBytes: number): string[] {
  const names: string[] = [];
  let pos = 0;
  while (pos < tree.length) {
    const space = tree.indexOf(0x20, pos);
    const nul = tree.indexOf(0, space + 1);
    if (space < 0 || nul < 0) break;
    names.push(tree.toString('utf8', space + 1, nul));
    pos = nul + 1 + hashBytes;
  }
  return names;
}

// Local plumbing failures become state errors naming the branch.
async function readLocal<T>(target: BranchTarget, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw localGitError(target, 'read', err);
  }
}

/** The state at one commit, as a `StateReader`. */
export class TipReader implements StateReader {
  private readonly services = new Map<string, Promise<ServiceState>>();

  constructor(
    private readonly target: BranchTarget,
    private readonly git: Git,
    readonly state: TipState,
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

  private location(commit: string, path: string): StateLocation {
    return { branch: this.target.branch, remote: this.target.remote, commit, path };
  }

  private read<T>(work: () => Promise<T>): Promise<T> {
    return readLocal(this.target, work);
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

  /**
   * A service's state at this tip. Read once per tip (a commit never changes), so a run may start the
   * read early and pick it up where it plans; callers must not change what it returns.
   */
  readService(service: string): Promise<ServiceState> {
    assertServiceName(service);
    let reading = this.services.get(service);
    if (!reading) {
      reading = this.readServiceAt(service);
      this.services.set(service, reading);
      // A failed read is not kept: asking again reads again.
      reading.catch(() => this.services.delete(service));
    }
    return reading;
  }

  private async readServiceAt(service: string): Promise<ServiceState> {
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
        const lastApplied = parseLastApplied(content, at, where.name);
        if (state.lastApplied.has(lastApplied.id)) {
          throw corruptStateError(at, `another file of the service holds ${lastApplied.id} too`);
        }
        state.lastApplied.set(lastApplied.id, lastApplied);
      }
    });
    return state;
  }

  /**
   * The service's last-applied files still under the over-long names an older nopea wrote, by full
   * path, with the object each holds; a commit for the service moves them to their bounded names.
   */
  async overlongLastApplied(
    service: string,
    baseFiles: readonly string[],
  ): Promise<Map<string, LastApplied>> {
    const tip = this.tip;
    const dir = `${serviceDir(service)}/${statePaths.lastAppliedDir}/`;
    const found = new Map<string, LastApplied>();
    if (!tip) return found;
    const paths = baseFiles.filter(
      (p) => p.startsWith(dir) && p.endsWith('.json') && !fitsFileName(p.slice(dir.length)),
    );
    const objects = await this.read(() => this.git.readObjects(paths.map((p) => `${tip}:${p}`)));
    paths.forEach((path, i) => {
      const at = this.location(tip, path);
      const object = objects[i];
      if (!object || object.type !== 'blob') throw corruptStateError(at, 'not a readable file');
      found.set(path, parseLastApplied(object.content, at, path.slice(dir.length, -'.json'.length)));
    });
    return found;
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

  /** Full paths of the files under `dirs` at this tip (none when the branch does not exist yet). */
  async listFiles(dirs: readonly string[]): Promise<string[]> {
    const tip = this.tip;
    if (!tip) return [];
    const out = await this.read(() =>
      this.git.run([
        'ls-tree',
        '-r',
        '-z',
        '--name-only',
        '--full-tree',
        tip,
        '--',
        ...dirs.map((d) => `${d}/`),
      ]),
    );
    return out.split('\0').filter((p) => p.length > 0);
  }
}

/** A last-applied file, whose name must be one nopea writes (or wrote) for the id it holds. */
function parseLastApplied(content: Buffer, at: StateLocation, name: string): LastApplied {
  const lastApplied: LastApplied = parseStateFile(LastAppliedSchema, content, at);
  if (!isIdFileName(name, lastApplied.id)) {
    throw corruptStateError(
      at,
      `it holds ${lastApplied.id}, which nopea stores as ${statePaths.lastApplied(lastApplied.id)}`,
    );
  }
  return lastApplied;
}
