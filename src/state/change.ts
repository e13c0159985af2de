/**
 * A change to the state branch, and the pure step that turns it into file updates on a given base tree.
 * A change is declarative (write these files, delete those, replace that directory), so the store can
 * apply the same change again on a newer tip when its push loses a race. Retention is applied here too,
 * in the same commit: only the newest deploy records of the service are kept, and an occurrence leaves
 * together with the deploy record of the same id.
 */
import { FORMAT_PATH, OCCURRENCES_DIR, isUlid, resolveStatePath, serviceDir } from './layout.js';
import { serializeFormatFile, serializeStateWrite } from './format.js';
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
   * Writes computed from the base the commit is built on, called again on every retry: shared, derived
   * files such as `/graph.json` are re-derived from the latest records instead of being overwritten by
   * whichever run pushes last. The reader shows the base tip; do not call `commit` from here.
   */
  derive?: (base: StateReader) => Promise<Record<string, unknown>> | Record<string, unknown>;
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
  for (const dir of input.replaceDirs) {
    const prefix = `${resolveStatePath(input.service, dir)}/`;
    for (const file of base) if (file.startsWith(prefix)) removals.add(file);
  }
  for (const path of input.deletes) removals.add(resolveStatePath(input.service, path));

  const upserts = new Map<string, string>();
  for (const [path, value] of Object.entries(input.writes)) {
    const full = resolveStatePath(input.service, path);
    upserts.set(full, serializeStateWrite(full, value));
    removals.delete(full);
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
