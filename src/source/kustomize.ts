/**
 * Rendering kustomization directories with `kubectl kustomize` and tracing each rendered object back to
 * the file it came from. kustomize records that trace only when asked (`buildMetadata:
 * [originAnnotations]`), so nopea renders a throw-away kustomization in a temp directory that includes
 * the user's one and asks for it; the user's kustomization is never modified. kubectl runs only once
 * kustomize-refs.ts has found every file the render reaches inside the repository, and no remote base
 * unless the service allows them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Origin, Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { forEachItem, type RawDocument } from './documents.js';
import { checkDocuments, readDocuments, type Parsed, type SourceFormat } from './parse.js';
import { MAX_FILE_BYTES } from './decode.js';
import { excerpt } from '../resources/excerpt.js';
import { MASK } from '../resources/secrets.js';
import { checkReferences } from './kustomize-refs.js';
import { isInside, repoRelative } from './boundary.js';
import { MANIFEST_EXTENSIONS } from './walk.js';

/** The annotation kustomize writes for `buildMetadata: [originAnnotations]`. */
export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

/** Remote bases can take a while to fetch; a render that takes longer than this is treated as hung. */
const RENDER_TIMEOUT_MS = 5 * 60 * 1000;

// kustomize's messages name paths and fields, longer than a quote of source text needs.
const STDERR_LINE_CHARS = 300;

// Rendered output is bounded like the files nopea reads, with room for many generated objects.
const MAX_OUTPUT_BYTES = 8 * MAX_FILE_BYTES;

/** How a service's kustomizations are rendered (`kustomize:` of the service in nopea.yaml). */
export interface KustomizeOptions {
  /** Whether kustomize may fetch remote bases and files (git and http URLs); default false. */
  allowRemote?: boolean | undefined;
}

/** What to render: the repository root, the kustomization directory and its file, and the kubectl to run. */
export interface RenderRequest {
  root: string;
  dir: string;
  /** Repository-relative path of the kustomization file, the fallback origin of every rendered object. */
  file: string;
  kubectl: string;
  options?: KustomizeOptions | undefined;
}

/** Renders one kustomization into checked manifests whose origins point at their source files. */
export async function renderKustomization(req: RenderRequest): Promise<Parsed> {
  const refused = await checkReferences(req.root, req.dir, req.options?.allowRemote ?? false);
  if (refused.length > 0) return { manifests: [], problems: refused };
  const fallback: Origin = { file: req.file, line: 1 };
  // A kustomization that asks for origin annotations itself keeps them, relative to its own directory.
  const userWantsOrigins = await asksForOrigins(path.join(req.root, req.file));
  let rendered: RunResult;
  // Directory that the paths in origin annotations are relative to; undefined when there are none.
  let base: string | undefined;
  if (userWantsOrigins) {
    rendered = await run(req, req.dir);
    base = req.dir;
  } else {
    const wrapped = await renderWithOrigins(req);
    rendered = wrapped.result;
    base = wrapped.base;
    if (!rendered.ok && rendered.kustomizeFailed) {
      // Render the directory directly for an error message about the user's files, not the wrapper;
      // this also covers a kubectl too old for buildMetadata, whose direct render may well succeed.
      rendered = await run(req, req.dir);
      base = undefined;
    }
  }
  if (!rendered.ok) return { manifests: [], problems: [rendered.problem] };

  const { documents, problems } = readDocuments(rendered.stdout, req.file, 'yaml');
  if (problems.length > 0) {
    // kubectl's own output does not parse: report it against the kustomization, once.
    return { manifests: [], problems: [{ ...problems[0]!, origin: fallback }] };
  }
  const sources = new SourceIndex();
  const located: RawDocument[] = [];
  for (const doc of documents) {
    const trace = takeOrigin(doc.value, !userWantsOrigins);
    const origin = await sources.locate(req.root, base, trace, doc.value, fallback);
    located.push({ value: doc.value, at: { origin: () => origin, text: () => undefined } });
  }
  return checkDocuments(located);
}

async function asksForOrigins(kustomization: string): Promise<boolean> {
  try {
    const parsed: unknown = parseYaml(await readFile(kustomization, 'utf8'));
    return (
      isPlainObject(parsed) &&
      Array.isArray(parsed.buildMetadata) &&
      parsed.buildMetadata.includes('originAnnotations')
    );
  } catch {
    // kustomize reports a kustomization it cannot read; this check must not fail first.
    return false;
  }
}

/** kubectl's output, or the problem; `kustomizeFailed` when kubectl ran and kustomize refused the input. */
type RunResult = { ok: true; stdout: string } | { ok: false; problem: Problem; kustomizeFailed: boolean };

async function renderWithOrigins(req: RenderRequest): Promise<{ result: RunResult; base: string }> {
  const temp = await realpath(await mkdtemp(path.join(tmpdir(), 'nopea-kustomize-')));
  try {
    // kustomize refuses absolute resource paths, so the wrapper points at the user's directory relatively.
    const target = path.relative(temp, req.dir).split(path.sep).join('/');
    const wrapper = `resources:\n  - ${JSON.stringify(target)}\nbuildMetadata: [originAnnotations]\n`;
    await writeFile(path.join(temp, 'kustomization.yaml'), wrapper);
    return { result: await run(req, temp), base: temp };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

function run(req: RenderRequest, dir: string): Promise<RunResult> {
  const origin: Origin = { file: req.file, line: 1 };
  return new Promise((resolve) => {
    execFile(
      req.kubectl,
      ['kustomize', dir],
      { maxBuffer: MAX_OUTPUT_BYTES, timeout: RENDER_TIMEOUT_MS, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, stdout });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          const why = code === 'ENOENT' ? 'was not found' : 'is not executable';
          return resolve({
            ok: false,
            kustomizeFailed: false,
            problem: {
              message: `kubectl is needed to render kustomizations, but "${req.kubectl}" ${why}`,
              origin,
              hint: 'install kubectl 1.14 or newer, or point --kubectl or NOPEA_KUBECTL at it',
            },
          });
        }
        if (code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return resolve({
            ok: false,
            kustomizeFailed: false,
            problem: {
              message: `kubectl kustomize produced more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB of output`,
              origin,
              hint: 'split the kustomization into several services',
            },
          });
        }
        if (err.killed) {
          return resolve({
            ok: false,
            kustomizeFailed: false,
            problem: {
              message: `kubectl kustomize did not finish within ${RENDER_TIMEOUT_MS / 1000} s`,
              origin,
            },
          });
        }
        const detail = cleanStderr(String(stderr), req.root) || err.message;
        resolve({
          ok: false,
          kustomizeFailed: true,
          problem: {
            message: `kustomize could not render ${repoRelative(req.root, req.dir)}: ${detail}`,
            origin,
            hint: `run "kubectl kustomize ${repoRelative(req.root, req.dir)}" to reproduce`,
          },
        });
      },
    );
  });
}

/**
 * kubectl's error output without logging noise: newer kubectl logs through klog
 * (`E1127 ... run.go:72] "command failed" err="..."`), older ones print `error: ...`. Absolute paths into
 * the repository are shortened to repository-relative ones, and each line is cut and masked like any
 * quote of user content (kustomize quotes the YAML it could not read).
 */
export function cleanStderr(stderr: string, root: string): string {
  let text = stderr.trim();
  const klog = /\berr="((?:[^"\\]|\\.)*)"/.exec(text);
  if (klog) {
    try {
      text = JSON.parse(`"${klog[1]}"`) as string;
    } catch {
      text = klog[1]!;
    }
  }
  text = text.replace(/^error:\s*/, '');
  text = text.split(`${root}${path.sep}`).join('').trim();
  // kustomize quotes a generator's sources when one is bad: every literal, key=value and all
  // (`literal sources [USER=admin PASS hunter2]: invalid literal source PASS hunter2, expected key=value`).
  text = text
    .replace(/\b(literal|file|env) sources \[[^\]\n]*\]?/g, `$1 sources [${MASK}]`)
    .replace(/(invalid literal source ).*?(, expected key=value|$)/gm, `$1${MASK}$2`);
  return text
    .split('\n')
    .map((line) => excerpt(line, STDERR_LINE_CHARS))
    .join('\n');
}

/** The parsed origin annotation of a rendered object, removed from the object unless `strip` is false. */
interface Trace {
  path?: string;
  repo?: string;
  configuredIn?: string;
  configuredBy?: { kind?: string; name?: string };
}

function takeOrigin(value: unknown, strip: boolean): Trace | undefined {
  if (!isPlainObject(value) || !isPlainObject(value.metadata)) return undefined;
  const meta = value.metadata;
  const annotations = meta.annotations;
  if (!isPlainObject(annotations)) return undefined;
  const raw = annotations[ORIGIN_ANNOTATION];
  if (typeof raw !== 'string') return undefined;
  if (strip) {
    delete annotations[ORIGIN_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete meta.annotations;
  }
  try {
    const parsed: unknown = parseYaml(raw);
    return isPlainObject(parsed) ? (parsed as Trace) : undefined;
  } catch {
    return undefined;
  }
}

interface SourceObject {
  kind: string;
  name: string;
  line: number;
}

/** Reads each source file once and finds the line where a rendered object is defined. */
class SourceIndex {
  private readonly files = new Map<string, Promise<RawDocument[]>>();

  async locate(
    root: string,
    base: string | undefined,
    trace: Trace | undefined,
    value: unknown,
    fallback: Origin,
  ): Promise<Origin> {
    if (!trace || base === undefined || trace.repo) return fallback;
    const kind = isPlainObject(value) && typeof value.kind === 'string' ? value.kind : '';
    const meta = isPlainObject(value) && isPlainObject(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (typeof trace.path === 'string') {
      const file = path.resolve(base, trace.path);
      if (!isInside(root, file)) return fallback;
      const line = pickLine(await this.objects(file), kind, name);
      return { file: repoRelative(root, file), line };
    }
    if (typeof trace.configuredIn === 'string') {
      const file = path.resolve(base, trace.configuredIn);
      if (!isInside(root, file)) return fallback;
      return {
        file: repoRelative(root, file),
        line: await this.generatorLine(file, trace.configuredBy?.kind, name),
      };
    }
    return fallback;
  }

  private documents(file: string, format: SourceFormat): Promise<RawDocument[]> {
    let docs = this.files.get(file);
    if (!docs) {
      docs = readFile(file, 'utf8').then(
        (text) => readDocuments(text, file, format).documents,
        () => [],
      );
      this.files.set(file, docs);
    }
    return docs;
  }

  private async objects(file: string): Promise<SourceObject[]> {
    const docs = await this.documents(file, MANIFEST_EXTENSIONS[path.extname(file).toLowerCase()] ?? 'yaml');
    const objects: SourceObject[] = [];
    for (const doc of docs) {
      forEachItem(doc, ({ value, at }) => {
        if (!isPlainObject(value)) return;
        const meta = isPlainObject(value.metadata) ? value.metadata : {};
        objects.push({
          kind: typeof value.kind === 'string' ? value.kind : '',
          name: typeof meta.name === 'string' ? meta.name : '',
          line: at.origin([]).line,
        });
      });
    }
    return objects;
  }

  /** Line of the generator entry (`configMapGenerator`, `secretGenerator`) that made the object. */
  private async generatorLine(file: string, generator: string | undefined, name: string): Promise<number> {
    const field = generator ? generator.charAt(0).toLowerCase() + generator.slice(1) : undefined;
    const [doc] = await this.documents(file, 'yaml');
    if (!doc || !field || !isPlainObject(doc.value)) return 1;
    const entries = doc.value[field];
    if (!Array.isArray(entries)) return 1;
    const index = bestMatch(
      entries.map((e) => (isPlainObject(e) && typeof e.name === 'string' ? e.name : '')),
      name,
    );
    return index === undefined ? doc.at.origin([field]).line : doc.at.origin([field, index]).line;
  }
}

/**
 * The source object a rendered one came from: same kind, and the name that the rendered name contains
 * (kustomize adds prefixes, suffixes and hashes), longest first; failing that, the only object of the kind.
 */
function pickLine(objects: SourceObject[], kind: string, name: string): number {
  const sameKind = objects.filter((o) => o.kind === kind);
  const index = bestMatch(
    sameKind.map((o) => o.name),
    name,
  );
  if (index !== undefined) return sameKind[index]!.line;
  if (sameKind.length === 1) return sameKind[0]!.line;
  return objects.length === 1 ? objects[0]!.line : 1;
}

function bestMatch(names: string[], rendered: string): number | undefined {
  let best: number | undefined;
  names.forEach((candidate, i) => {
    if (!candidate || !rendered.includes(candidate)) return;
    if (candidate === rendered || best === undefined || candidate.length > names[best]!.length) best = i;
  });
  return best;
}
