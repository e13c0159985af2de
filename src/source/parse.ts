/**
 * Parsing one manifest file the way kubectl reads it: YAML 1.1 (`0644` is 420, `on` is true),
 * multi-document streams, empty documents skipped, `kind: List` flattened, JSON accepted. Every object
 * and every problem carries the file and line it came from.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  visit,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';
import type { Origin, Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import type { Manifest } from '../resources/object.js';
import { checkObject, describeObject, type FieldPath, type Locator } from './validate.js';

/**
 * Largest object nopea accepts, measured as JSON. The API server refuses request bodies over 3 MiB and
 * etcd stores at most about 1.5 MiB per object, so anything larger can never be applied.
 */
export const MAX_OBJECT_BYTES = 3 * 1024 * 1024;

/**
 * Deepest nesting accepted. Real objects, CRD schemas included, stay far below; the YAML parser recurses
 * per level and overflows the stack somewhere near 850, so deeper input is refused before parsing.
 */
export const MAX_DEPTH = 256;

/** How often one anchor may be expanded (nested aliases multiply); bounds "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;

/** Which parser a file gets: YAML for `.yaml`/`.yml` and rendered output, strict JSON for `.json`. */
export type SourceFormat = 'yaml' | 'json';

/** Objects and problems found in one file; problems never stop the rest of the file from being read. */
export interface Parsed {
  manifests: Manifest[];
  problems: Problem[];
}

// Tags kubectl's YAML reader (go-yaml v2 via sigs.k8s.io/yaml) does not resolve: timestamps stay strings,
// `1:20` is not base-60, and binary/set/omap would produce values JSON cannot carry.
const KUBECTL_UNSUPPORTED_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
]);

/**
 * Plain YAML 1.2 with unique keys, for text that is not a Kubernetes manifest read like kubectl:
 * nopea's own `nopea.yaml`, and JSON files (parsed as YAML only for node positions).
 */
export const STRICT_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  uniqueKeys: true,
  prettyErrors: false,
};

/** YAML options matching kubectl: version 1.1 scalars, merge keys, unique keys, no exotic tags. */
export const KUBECTL_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  merge: true,
  uniqueKeys: true,
  prettyErrors: false,
  // Problems are reported as values; the library must not print warnings of its own.
  logLevel: 'error',
  customTags: (tags) =>
    tags.filter((tag) => {
      if (typeof tag !== 'object' || !('tag' in tag)) return true;
      return !KUBECTL_UNSUPPORTED_TAGS.has(tag.tag) && tag.format !== 'TIME';
    }),
};

/** One top-level document before the object checks, with where its fields are. */
export interface RawDocument {
  value: unknown;
  at: Locator;
}

/** Documents read from one file, and the syntax problems that kept others from being read. */
export interface RawDocuments {
  documents: RawDocument[];
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

/** Calls `visit` for each object of a document, descending into `*List` items the way kubectl does. */
export function forEachItem(doc: RawDocument, visit: (item: RawDocument) => void): void {
  const { value, at } = doc;
  if (isListObject(value)) {
    value.items.forEach((item: unknown, i: number) =>
      forEachItem({ value: item, at: within(at, ['items', i]) }, visit),
    );
  } else {
    visit(doc);
  }
}

// kubectl treats any `*List` object with an `items` array as a list and applies the items.
function isListObject(value: unknown): value is { kind: string; items: unknown[] } {
  return (
    isPlainObject(value) &&
    typeof value.kind === 'string' &&
    value.kind.endsWith('List') &&
    Array.isArray(value.items)
  );
}

function collect(doc: RawDocument, manifests: Manifest[], problems: Problem[]): void {
  forEachItem(doc, (item) => check(item, manifests, problems));
}

function check({ value, at }: RawDocument, manifests: Manifest[], problems: Problem[]): void {
  const origin = at.origin([]);
  // Checked without recursion first: the size check and the object checks below recurse.
  if (depthExceeds(value, MAX_DEPTH)) {
    problems.push({
      message: `${describeObject(value) ?? 'this object'} is nested more than ${MAX_DEPTH} levels deep`,
      origin,
      hint: 'no Kubernetes object is this deep; check for a generator or template gone wrong',
    });
    return;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > MAX_OBJECT_BYTES) {
    const what = describeObject(value) ?? 'this object';
    problems.push({
      message: `${what} is ${mib(bytes)} as JSON; one object may be at most ${mib(MAX_OBJECT_BYTES)}`,
      origin,
      hint: 'the API server refuses larger requests and etcd stores at most about 1.5 MiB per object: split the data or mount it from elsewhere',
    });
    return;
  }
  const checked = checkObject(value, at);
  if (checked.ok) manifests.push({ object: checked.object, origin });
  else problems.push(...checked.problems);
}

/**
 * Refuses text nested deeper than `MAX_DEPTH` before any parser recurses into it. Flow brackets and
 * block indentation levels are counted and added up, an over-estimate for YAML (brackets inside plain
 * scalars count too) that no real manifest comes near. JSON strings are skipped exactly.
 */
function nestingProblem(text: string, file: string, json: boolean): Problem | undefined {
  let flow = 0;
  let block: number[] = [];
  let line = 1;
  let lineStart = true;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      lineStart = true;
      continue;
    }
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (lineStart && !json) {
      lineStart = false;
      block = blockLevels(text, i, block);
    }
    if (c === 0x22 && json) inString = true;
    else if (c === 0x5b || c === 0x7b) flow++;
    else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
    if (flow + block.length > MAX_DEPTH) {
      return {
        message: `nested more than ${MAX_DEPTH} levels deep`,
        origin: { file, line },
        hint: 'no Kubernetes object is this deep; check for a generator or template gone wrong',
      };
    }
  }
  return undefined;
}

// The indentation levels open at the line starting at `start`; `- - x` opens one level per dash.
function blockLevels(text: string, start: number, open: number[]): number[] {
  let i = start;
  while (text[i] === ' ') i++;
  if (text[i] === '\n' || text[i] === '\r' || text[i] === '#' || i >= text.length) return open;
  const indent = i - start;
  const levels = open.filter((level) => level < indent);
  levels.push(indent);
  while (text[i] === '-' && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
    i += 2;
    while (text[i] === ' ') i++;
    levels.push(i - start);
  }
  return levels;
}

function depthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(value)) for (const item of value) stack.push([item, depth + 1]);
    else if (isPlainObject(value)) for (const key of Object.keys(value)) stack.push([value[key], depth + 1]);
  }
  return false;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A locator for a sub-tree (a List item), so its paths and origin are relative to the item. */
function within(at: Locator, prefix: FieldPath): Locator {
  return {
    origin: (path) => at.origin([...prefix, ...path]),
    text: (path) => at.text([...prefix, ...path]),
  };
}

function readYaml(text: string, file: string): RawDocuments {
  const tooDeep = nestingProblem(text, file, false);
  if (tooDeep) return { documents: [], problems: [tooDeep] };
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...KUBECTL_YAML_OPTIONS, lineCounter: lines });
  const documents: RawDocument[] = [];
  const problems: Problem[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      // A broken document is reported and skipped; the documents after the next `---` are still read.
      for (const err of doc.errors) problems.push(yamlProblem(err, doc, file, lines));
      continue;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    const at = yamlLocator(doc, text, file, lines);
    const complexKeys = collectionKeys(doc, file, lines);
    if (complexKeys.length > 0) {
      problems.push(...complexKeys);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const unresolved = err instanceof Error ? /Unresolved alias[^:]*: (.*)$/.exec(err.message) : null;
      const offset = unresolved ? aliasOffset(doc, unresolved[1]!) : undefined;
      const origin = offset === undefined ? at.origin([]) : { file, line: lines.linePos(offset).line };
      problems.push(aliasProblem(err, origin));
      continue;
    }
    if (value === null || value === undefined) continue;
    documents.push({ value, at });
  }
  return { documents, problems };
}

function readJson(text: string, file: string): RawDocuments {
  // An empty .json file is treated like an empty YAML file: no objects, not an error.
  if (text.trim() === '') return { documents: [], problems: [] };
  const tooDeep = nestingProblem(text, file, true);
  if (tooDeep) return { documents: [], problems: [tooDeep] };
  const lines = new LineCounter();
  // The YAML parse only supplies node positions and duplicate-key detection; JSON.parse decides validity
  // (YAML would accept trailing commas and comments, kubectl's JSON reader does not).
  const doc = parseDocument(text, { ...STRICT_YAML_OPTIONS, lineCounter: lines });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : doc.errors[0]?.pos[0];
    const line = offset === undefined ? 1 : lines.linePos(offset).line;
    const detail = message.replace(/ in JSON at position \d+.*$|, ".*$/s, '');
    return {
      documents: [],
      problems: [
        {
          message: `JSON syntax error: ${detail}`,
          origin: { file, line },
          hint: 'JSON allows no trailing commas, comments or single quotes; use a .yaml file for those',
        },
      ],
    };
  }
  const problems = doc.errors
    .filter((err) => err.code === 'DUPLICATE_KEY')
    .map((err) => yamlProblem(err, doc, file, lines));
  if (problems.length > 0) return { documents: [], problems };
  const at: Locator =
    doc.errors.length === 0
      ? yamlLocator(doc, text, file, lines)
      : { origin: () => ({ file, line: 1 }), text: () => undefined };
  return { documents: [{ value, at }], problems: [] };
}

/** Resolves field paths of a parsed YAML document to the line of the key (or list item) in its source. */
export function yamlLocator(doc: Document, text: string, file: string, lines: LineCounter): Locator {
  const find = (path: FieldPath): { offset: number; text?: string } => {
    let node: unknown = doc.contents;
    let offset = nodeStart(node) ?? 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        // Keys the lookup cannot see (merged in with `<<`) fall back to the enclosing mapping.
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return { offset };
        offset = nodeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
        offset = nodeStart(node) ?? offset;
      } else {
        return { offset };
      }
    }
    if (isScalar(node) && node.range) return { offset, text: text.slice(node.range[0], node.range[1]) };
    return { offset };
  };
  return {
    origin: (path) => ({ file, line: lines.linePos(find(path).offset).line }),
    text: (path) => find(path).text,
  };
}

// `{a: 1}: x` or `? [a]` keys are legal YAML but not JSON; typically an unquoted `{{ template }}`.
function collectionKeys(doc: Document, file: string, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (isCollection(pair.key)) {
        problems.push({
          message:
            'a mapping key is itself a mapping or a list, which JSON and the API server cannot represent',
          origin: { file, line: lines.linePos(nodeStart(pair.key) ?? 0).line },
          hint: 'quote the key; an unquoted "{{ ... }}" template is read as a mapping (render templates before nopea reads them)',
        });
      }
    },
  });
  return problems;
}

function nodeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
    const start: unknown = node.range[0];
    if (typeof start === 'number') return start;
  }
  return undefined;
}

/** A YAML parse error as a problem with file, line and, for the common mistakes, a hint. */
export function yamlProblem(err: YAMLError, doc: Document, file: string, lines: LineCounter): Problem {
  const at = (offset: number): Origin => ({ file, line: lines.linePos(offset).line });
  const detail = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.message;
  if (/Maximum call stack/.test(detail)) {
    return { message: 'YAML error: the document is nested too deeply to parse', origin: at(err.pos[0]) };
  }
  switch (err.code) {
    case 'TAB_AS_INDENT':
      return {
        message: 'YAML syntax error: a tab is used for indentation; YAML allows only spaces',
        origin: at(err.pos[0]),
        hint: 'replace the tabs at the start of the line with spaces',
      };
    case 'DUPLICATE_KEY': {
      const key = scalarStartingAt(doc, err.pos[0]);
      const name = key === undefined ? 'a key' : `key ${JSON.stringify(key)}`;
      return {
        message: `duplicate ${name} in the same mapping`,
        origin: at(err.pos[0]),
        hint: 'kubectl would silently keep the last value; remove the duplicate',
      };
    }
    case 'MISSING_CHAR':
      if (/quote/.test(detail)) {
        // The parser notices the missing quote at the end of the file; the useful line is where it opened.
        const opened = quotedStart(doc, err.pos[0]);
        return {
          message: `YAML syntax error: missing closing quote for the string that starts here`,
          origin: at(opened ?? err.pos[0]),
          hint: 'close the quote on the same value, or remove the stray quote',
        };
      }
      return { message: `YAML syntax error: ${detail}`, origin: at(err.pos[0]) };
    case 'BAD_INDENT': {
      // An unclosed `{` or `[` is only noticed where the block structure resumes; point at the opening.
      const flow = /^Flow (map|sequence)/.exec(detail);
      const opened = flow ? unclosedFlowStart(doc, err.pos[0], flow[1] === 'map') : undefined;
      if (flow && opened !== undefined) {
        const close = flow[1] === 'map' ? '}' : ']';
        return {
          message: `YAML syntax error: the flow ${flow[1]} opened here is not closed with "${close}"`,
          origin: at(opened),
          hint: `add the closing "${close}", or indent its continuation lines more than the key`,
        };
      }
      return {
        message: `YAML syntax error: ${detail}`,
        origin: at(err.pos[0]),
        hint: 'check the indentation',
      };
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return {
        message: `YAML syntax error: ${detail}`,
        origin: at(err.pos[0]),
        hint: 'quote values that contain ": " or "#", and check the indentation',
      };
  }
  return { message: `YAML syntax error: ${detail}`, origin: at(err.pos[0]) };
}

function scalarStartingAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Scalar(_key, node) {
      if (node.range?.[0] === offset) {
        found = String(node.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function quotedStart(doc: Document, errorOffset: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range && node.range[0] < errorOffset && node.range[1] >= errorOffset)
        start = node.range[0];
    },
  });
  return start;
}

function unclosedFlowStart(doc: Document, errorOffset: number, wantMap: boolean): number | undefined {
  let start: number | undefined;
  const check = (node: { flow?: boolean; range?: [number, number, number] | null }): void => {
    if (node.flow && node.range && node.range[0] < errorOffset && node.range[1] >= errorOffset)
      start = node.range[0];
  };
  visit(doc, wantMap ? { Map: (_key, node) => check(node) } : { Seq: (_key, node) => check(node) });
  return start;
}

function aliasOffset(doc: Document, name: string): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.source === name && node.range) {
        offset = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
}

function aliasProblem(err: unknown, origin: Origin): Problem {
  const message = err instanceof Error ? err.message : String(err);
  if (/Excessive alias count/.test(message)) {
    return {
      message: `too many YAML aliases: an anchor is expanded more than ${MAX_ALIAS_COUNT} times (nested aliases multiply), as in a "billion laughs" attack`,
      origin,
      hint: 'write the repeated content out, or use fewer aliases',
    };
  }
  const unresolved = /Unresolved alias[^:]*: (.*)$/.exec(message);
  if (unresolved) {
    return {
      message: `YAML alias *${unresolved[1]} refers to an anchor &${unresolved[1]} that is not defined before it in this document`,
      origin,
    };
  }
  return { message: `YAML error: ${message}`, origin };
}
