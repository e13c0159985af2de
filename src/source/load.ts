/**
 * The source stage: reads every desired object from the manifest paths of a repository, in a stable
 * order, and fails once with every problem found so CI can annotate every bad file in one run.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputError, type Problem } from '../errors.js';
import { decodeManifest, MAX_FILE_BYTES, tooLarge } from './decode.js';
import { renderKustomization, type KustomizeOptions } from './kustomize.js';
import { parseManifests, type Parsed } from './parse.js';
import type { Manifest } from '../resources/object.js';
import { collectInputs, type Input } from './walk.js';

/** Where to read manifests from. */
export interface LoadOptions {
  /** Repository root; origins are relative to it and no path may leave it. */
  repoRoot: string;
  /** Files or directories, relative to `repoRoot` or absolute. */
  paths: string[];
  /** kubectl used to render kustomizations; default `kubectl` on PATH (the caller resolves NOPEA_KUBECTL). */
  kubectl?: string;
  /** How kustomizations render: the service's `kustomize` of nopea.yaml (remote bases are refused by default). */
  kustomize?: KustomizeOptions | undefined;
}

// Enough to overlap file reads and kubectl processes without starting hundreds of either.
const CONCURRENCY = 8;

/**
 * Loads the desired objects in path order, then document order. Throws one `input` NopeaError listing
 * every problem (each with file and line) when anything is wrong.
 */
export async function loadManifests(opts: LoadOptions): Promise<Manifest[]> {
  let root: string;
  try {
    root = await realpath(path.resolve(opts.repoRoot));
  } catch {
    throw inputError({ message: `repository root ${opts.repoRoot} does not exist` });
  }
  if (opts.paths.length === 0) {
    throw inputError({ message: 'no manifest paths given', hint: 'name the files or directories to deploy' });
  }
  const { inputs, problems } = await collectInputs(root, opts.paths);
  const kubectl = opts.kubectl ?? 'kubectl';
  const results = await mapBounded(inputs, CONCURRENCY, (input) =>
    readInput(root, input, kubectl, opts.kustomize),
  );
  const manifests: Manifest[] = [];
  for (const result of results) {
    manifests.push(...result.manifests);
    problems.push(...result.problems);
  }
  if (problems.length > 0) throw inputError(problems);
  // An empty file, or an empty directory next to others, is fine. But when nothing at all is found the
  // paths are almost certainly wrong (a typo, a missing checkout), and carrying on would plan to prune
  // every object of the service; deleting everything has to be done on purpose, not by accident.
  if (manifests.length === 0) {
    throw inputError({
      message: `no objects found in ${opts.paths.join(', ')}`,
      hint: `nopea reads .yaml, .yml and .json files and kustomization directories; check the paths`,
    });
  }
  return manifests;
}

async function readInput(
  root: string,
  input: Input,
  kubectl: string,
  options: KustomizeOptions | undefined,
): Promise<Parsed> {
  if (input.type === 'kustomization') {
    return renderKustomization({ root, dir: input.dir, file: input.file, kubectl, options });
  }
  const problem = (p: Problem): Parsed => ({ manifests: [], problems: [p] });
  let bytes: Buffer;
  try {
    const info = await stat(input.path);
    // Checked before reading so a huge file is never loaded into memory.
    if (info.size > MAX_FILE_BYTES) return problem(tooLarge(info.size, input.file));
    bytes = await readFile(input.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return problem({ message: `cannot read the file: ${code}`, origin: { file: input.file, line: 1 } });
  }
  const decoded = decodeManifest(bytes, input.file);
  if (!decoded.ok) return problem(decoded.problem);
  await parseTurn();
  return parseManifests(decoded.text, input.file, input.format);
}

let lastTurn: Promise<void> = Promise.resolve();

/**
 * Waits for a turn of the event loop to itself: files parse one per turn, so what else the run is
 * doing meanwhile (the state branch's git commands, discovery) is answered between two files rather
 * than after a burst of them. Parsing is the main thread's largest work before the plan; git's answers
 * are what the rest waits on.
 */
function parseTurn(): Promise<void> {
  const turn = lastTurn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  lastTurn = turn;
  return turn;
}

/** Maps with at most `limit` calls in flight, keeping results in input order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
