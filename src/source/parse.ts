/**
 * Parsing one manifest file the way kubectl reads it: YAML 1.1 (`0644` is 420, `on` is true),
 * multi-document streams, empty documents skipped, `kind: List` flattened, JSON accepted. Every object
 * and every problem carries the file and line it came from.
 *
 * Two steps, which kustomize.ts also runs apart: reading the syntax into documents (read-yaml.ts,
 * read-json.ts), then checking each object of each document (limits.ts, validate.ts).
 */
import type { Problem } from '../errors.js';
import type { Manifest } from '../resources/object.js';
import { forEachItem, type RawDocument, type RawDocuments } from './documents.js';
import { objectLimitProblem } from './limits.js';
import { readJson } from './read-json.js';
import { readYaml } from './read-yaml.js';
import { checkObject } from './validate.js';

/** Which parser a file gets: YAML for `.yaml`/`.yml` and rendered output, strict JSON for `.json`. */
export type SourceFormat = 'yaml' | 'json';

/** Objects and problems found in one file; problems never stop the rest of the file from being read. */
export interface Parsed {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * Parses one file's text into manifests. `file` is the repository-relative path used in origins.
 * Documents that are empty or only comments are skipped, as kubectl does.
 */
export function parseManifests(text: string, file: string, format: SourceFormat): Parsed {
  const { documents, problems } = readDocuments(text, file, format);
  const checked = checkDocuments(documents);
  // One list in file order, however each problem was found, so annotations read top to bottom.
  const all = [...problems, ...checked.problems].sort(
    (a, b) => (a.origin?.line ?? 0) - (b.origin?.line ?? 0),
  );
  return { manifests: checked.manifests, problems: all };
}

/** Parses one file's text into its non-empty documents, without checking them as objects. */
export function readDocuments(text: string, file: string, format: SourceFormat): RawDocuments {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  return format === 'json' ? readJson(source, file) : readYaml(source, file);
}

/** Flattens `*List` documents and checks every object, keeping the order of the documents. */
export function checkDocuments(documents: RawDocument[]): Parsed {
  const manifests: Manifest[] = [];
  const problems: Problem[] = [];
  for (const doc of documents) collect(doc, manifests, problems);
  return { manifests, problems };
}

function collect(doc: RawDocument, manifests: Manifest[], problems: Problem[]): void {
  forEachItem(doc, (item) => check(item, manifests, problems));
}

function check({ value, at }: RawDocument, manifests: Manifest[], problems: Problem[]): void {
  const origin = at.origin([]);
  const refused = objectLimitProblem(value, origin);
  if (refused) {
    problems.push(refused);
    return;
  }
  const checked = checkObject(value, at);
  if (checked.ok) manifests.push({ object: checked.object, origin });
  else problems.push(...checked.problems);
}
