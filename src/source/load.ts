/**
 * The source stage: reads every desired object from the manifest paths of a repository, in a stable
 * order, and fails once with every problem found so CI can annotate every bad file in one run.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../errors.js';
import { renderKustomization, type KustomizeOptions } from './kustomize.js';
import type { Parsed } from './parse.js';
import { parseOnThread } from './parse-thread.js';
import { readManifestFile, type FileInput } from './read-file.js';
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
  // With a parse thread, the files parse there (and here, in turns); kustomizations still render
  // here, a few at a time.
  const files = inputs.filter((input): input is FileInput => input.type === 'file');
  const threaded = new Map<Input, Promise<Parsed>>();
  parseOnThread(files)?.forEach((parsing, i) => {
    // Awaited in order below; this keeps a failure from being unhandled until its turn comes.
    parsing.catch(() => undefined);
    threaded.set(files[i]!, parsing);
  });
  const results = await mapBounded(
    inputs,
    CONCURRENCY,
    (input) => threaded.get(input) ?? readInput(root, input, kubectl, opts.kustomize),
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

function readInput(
  root: string,
  input: Input,
  kubectl: string,
  options: KustomizeOptions | undefined,
): Promise<Parsed> {
  if (input.type === 'kustomization') {
    return renderKustomization({ root, dir: input.dir, file: input.file, kubectl, options });
  }
  return readManifestFile(input);
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
