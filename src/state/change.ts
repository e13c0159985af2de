/**
 * A change to the state branch, and the pure step that turns it into file updates on a given base tree.
 * A change is declarative (write these files, delete those, replace that directory) plus a `derive` step
 * for the files that depend on the base, so the store can build it again on a newer tip when its push
 * loses a race: the fixed part is applied again, the derived part is computed again from that tip.
 * Retention is applied here too, in the same commit: only the newest deploy records of the service are
 * kept, and an occurrence leaves together with the deploy record of the same id. Last-applied files
 * still under a name too long for a file system (written by an older nopea) move to their bounded name.
 */
import { FORMAT_PATH, OCCURRENCES_DIR, isUlid, resolveStatePath, serviceDir, statePaths } from './layout.js';
import { serializeFormatFile, serializeStateWrite, type LastApplied } from './format.js';
import type { StateReader } from './reader.js';

/**
 * One commit's worth of changes for one service. Paths follow the layout convention: relative to
 * `.nopea/services/<service>/`, or to `.nopea/` when they start with `/` (build them with `statePaths`).
 */
export interface StateChange {
  service: string;
  /** Commit message, e.g. `deploy web 01J9Z8Q4W3M6N2P5R7T9V1X3Y5 succeeded`. */
  message: string;
  /** Files to write: a JSON value (validated against the layout's schema for its path) or a string. */
  writes?: Record<string, unknown>;
  /** Files to delete, e.g. the last-applied files of pruned objects; a missing file is not an error. */
  deletes?: string[];
  /** Directories whose current files are all removed before `writes` apply (e.g. `last-applied`). */
  replaceDirs?: string[];
  /**
   * The files that depend on the base, computed from it. The store calls it once per attempt, the
   * first included, with a reader of exactly the commit that attempt builds on (`base.tip`, undefined
   * for the branch's first commit), and applies only that attempt's result: when the push loses a race,
   * the next attempt calls it again on the new tip. So shared files such as `/graph.json`, and a
   * service's inventory and last-applied files, are re-derived from what the tip holds instead of being
   * overwritten by whichever run pushes last. Its result must follow from the base and the run alone,
   * never from an earlier call. Its writes win over `writes` for the same path, its deletes add to
   * `deletes`, and a path both written and deleted is written. An error it throws ends the commit with
   * nothing written, e.g. to refuse when the base holds a deploy of the service that the run did not see.
   */
  derive?: (base: StateReader) => Promise<DerivedFiles> | DerivedFiles;
}

/** What `StateChange.derive` computed from one base, with paths in the same convention. */
export interface DerivedFiles {
  writes?: Record<string, unknown>;
  deletes?: string[];
}

/** How many deploy records to keep per service; occurrences follow their deploy records. */
export interface Retention {
  deploys: number;
}

/** Fifty deploy records per service. */
export const DEFAULT_RETENTION: Retention = { deploys: 50 };

/** The ids to drop so that only the newest `keep` remain (ULIDs sort lexically in time order). */
export function selectExpired(ids: readonly string[], keep: number): string[] {
  const sorted = [...new Set(ids)].sort();
  return sorted.slice(0, Math.max(0, sorted.length - Math.max(0, keep)));
}

/** What a change does to a base tree: full paths to write (with content) and to remove. */
export interface ResolvedChange {
  upserts: Map<string, string>;
  /** Only paths present in the base, sorted. */
  removals: string[];
}

/** Inputs of `resolveChange`; `baseFiles` must cover the service directory, occurrences and `replaceDirs`. */
export interface ResolveInput {
  service: string;
  writes: Record<string, unknown>;
  deletes: readonly string[];
  replaceDirs: readonly string[];
  /** Full paths of the files in the base under the directories the change touches. */
  baseFiles: readonly string[];
  /** Whether the base already has `.nopea/format` (a first commit writes it). */
  hasFormat: boolean;
  retention: Retention;
  /**
   * Last-applied files of the base under an over-long name, by full path, with the object each holds
   * (already validated): each is removed and, unless the change writes, deletes or replaces it, written
   * again under the name nopea now writes.
   */
  renamed?: ReadonlyMap<string, LastApplied>;
}

/** The directories whose base listing `resolveChange` needs for a change. */
export function directoriesToList(service: string, replaceDirs: readonly string[]): string[] {
  const dirs = new Set([serviceDir(service), OCCURRENCES_DIR]);
  for (const dir of replaceDirs) dirs.add(resolveStatePath(service, dir));
  return [...dirs].sort();
}

/** Applies a change to a base listing: replaced directories, deletes, writes, the format file, retention. */
export function resolveChange(input: ResolveInput): ResolvedChange {
  const base = new Set(input.baseFiles);
  const removals = new Set<string>();
  const replaced = input.replaceDirs.map((dir) => `${resolveStatePath(input.service, dir)}/`);
  for (const file of base) if (replaced.some((prefix) => file.startsWith(prefix))) removals.add(file);
  for (const path of input.deletes) removals.add(resolveStatePath(input.service, path));

  const upserts = new Map<string, string>();
  for (const [path, value] of Object.entries(input.writes)) {
    const full = resolveStatePath(input.service, path);
    upserts.set(full, serializeStateWrite(full, value));
    removals.delete(full);
  }
  for (const [from, lastApplied] of input.renamed ?? []) {
    removals.add(from);
    const to = resolveStatePath(input.service, statePaths.lastApplied(lastApplied.id));
    if (upserts.has(to) || removals.has(to) || replaced.some((prefix) => to.startsWith(prefix))) continue;
    upserts.set(to, serializeStateWrite(to, lastApplied));
  }
  if (!input.hasFormat) upserts.set(FORMAT_PATH, serializeFormatFile());

  const deploysDir = `${serviceDir(input.service)}/deploys/`;
  const deployIds: string[] = [];
  for (const file of new Set([...base, ...upserts.keys()])) {
    if (removals.has(file) || !file.startsWith(deploysDir) || !file.endsWith('.json')) continue;
    const id = file.slice(deploysDir.length, -'.json'.length);
    if (isUlid(id)) deployIds.push(id);
  }
  for (const id of selectExpired(deployIds, input.retention.deploys)) {
    for (const file of [`${deploysDir}${id}.json`, `${OCCURRENCES_DIR}/${id}.json`]) {
      upserts.delete(file);
      removals.add(file);
    }
  }
  return { upserts, removals: [...removals].filter((file) => base.has(file)).sort() };
}
