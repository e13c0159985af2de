/**
 * What a kustomization may refer to, checked before kubectl renders it. kubectl's default load
 * restrictor (`LoadRestrictionsRootOnly`) keeps the files one kustomization reads under its own
 * directory, but lets `resources` and `components` name any directory, so a base at `../../outside`
 * or behind a symlink is rendered; it knows nothing of the repository, and its only alternative
 * (`LoadRestrictionsNone`) is looser still, while tightening it would break the usual `../base`
 * layouts inside a repository. kustomize also fetches remote bases (git URLs) and files (http URLs)
 * by itself. So nopea follows every kustomization reachable from the one it renders, as kustomize
 * will, and checks each entry that names a file, a directory or a URL: a local one must resolve
 * (symlinks followed) inside the repository boundary (boundary.ts), a remote one is refused unless
 * the service opts in (`kustomize: { allowRemote: true }` in nopea.yaml). A refusal names the
 * kustomization file, the line of the entry and the entry. An entry that does not exist is left to
 * kustomize, which reports it in its own words.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { forbiddenPath, forbiddenProblem, repoRelative, symlinkProblem } from './boundary.js';
import { decodeManifest, MAX_FILE_BYTES, tooLarge } from './decode.js';
import type { RawDocument } from './documents.js';
import { quoted } from '../resources/excerpt.js';
import { formatFieldPath } from './locate.js';
import { readDocuments } from './parse.js';
import type { FieldPath } from './validate.js';
import { KUSTOMIZATION_FILES } from './walk.js';

/**
 * What an entry names: `any` is a file, a kustomization directory or a remote base (`resources`,
 * `components`, ...); `file` is a file, local or an http URL (patches, generator sources, ...);
 * `plugin` is like `any`, and a file or inline text is a generator or transformer configuration, whose
 * own file fields are read by kustomize relative to the kustomization.
 */
type Expect = 'any' | 'file' | 'plugin';

interface Entry {
  /** Where the entry stands in its document, to report its line. */
  at: FieldPath;
  value: string;
  expect: Expect;
}

/**
 * The problems with every entry of the kustomization in `dir` (a real path inside `root`, itself a
 * real path) and of every local kustomization it reaches; empty when kubectl may render it.
 */
export async function checkReferences(root: string, dir: string, allowRemote: boolean): Promise<Problem[]> {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const queue = [dir];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    const kustomization = await kustomizationFile(root, next, problems);
    if (!kustomization) continue;
    const [doc] = await readYamlFile(root, kustomization, problems);
    if (!doc || !isPlainObject(doc.value)) continue;
    const check = new EntryCheck(root, next, allowRemote, problems);
    for (const entry of kustomizationEntries(doc.value)) {
      if (/\n/.test(entry.value)) {
        // An inline generator or transformer configuration: its file fields stand on the entry's line.
        const origin = doc.at.origin(entry.at);
        const inline = readDocuments(entry.value, origin.file, 'yaml');
        problems.push(...inline.problems.map((p) => ({ ...p, origin })));
        for (const config of inline.documents) {
          await check.plugin({ value: config.value, at: { origin: () => origin, text: () => undefined } });
        }
        continue;
      }
      const local = await check.entry(doc, entry);
      if (!local) continue;
      if (local.directory && entry.expect !== 'file') queue.push(local.real);
      else if (!local.directory && entry.expect === 'plugin') {
        for (const config of await readYamlFile(root, local.real, problems)) await check.plugin(config);
      }
    }
  }
  return problems;
}

/** The kustomization file of `dir` in kustomize's order of names, refused when it links out of bounds. */
async function kustomizationFile(
  root: string,
  dir: string,
  problems: Problem[],
): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    const real = await realpath(file).catch(() => undefined);
    if (real === undefined) continue;
    const forbidden = forbiddenPath(root, real);
    if (forbidden) {
      problems.push(await symlinkProblem(root, file, real, forbidden));
      return undefined;
    }
    return real;
  }
  return undefined;
}

/**
 * The documents of a kustomization or plugin configuration file. kustomize reads these as kubectl reads
 * manifests (go-yaml v2, YAML 1.1) and refuses an entry that is not a string (`resources: [on]`), so the
 * check skips such entries. A file nopea cannot read adds its problems: a render nopea cannot check
 * does not run (kubectl would keep the last of two `resources:` keys, which nopea refuses to guess).
 */
async function readYamlFile(root: string, real: string, problems: Problem[]): Promise<RawDocument[]> {
  const file = repoRelative(root, real);
  let bytes: Buffer;
  try {
    const info = await stat(real);
    if (info.size > MAX_FILE_BYTES) {
      problems.push(tooLarge(info.size, file));
      return [];
    }
    bytes = await readFile(real);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    problems.push({ message: `cannot read the file: ${code}`, origin: { file, line: 1 } });
    return [];
  }
  const decoded = decodeManifest(bytes, file);
  if (!decoded.ok) {
    problems.push(decoded.problem);
    return [];
  }
  const read = readDocuments(decoded.text, file, 'yaml');
  problems.push(...read.problems);
  return read.documents;
}

/** Every entry of a kustomization that names a file, a directory or a URL. */
function kustomizationEntries(k: Record<string, unknown>): Entry[] {
  const entries: Entry[] = [];
  const strings = (at: FieldPath, value: unknown, expect: Expect): void => {
    if (typeof value === 'string') entries.push({ at, value, expect });
  };
  const each = (field: string, visit: (item: unknown, at: FieldPath) => void): void => {
    const list = k[field];
    if (Array.isArray(list)) list.forEach((item, i) => visit(item, [field, i]));
  };
  for (const field of ['resources', 'bases', 'components']) each(field, (v, at) => strings(at, v, 'any'));
  for (const field of ['generators', 'transformers', 'validators']) {
    each(field, (v, at) => strings(at, v, 'plugin'));
  }
  for (const field of ['patchesStrategicMerge', 'crds', 'configurations']) {
    each(field, (v, at) => strings(at, v, 'file'));
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    each(field, (v, at) => isPlainObject(v) && strings([...at, 'path'], v.path, 'file'));
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    each(field, (v, at) => isPlainObject(v) && entries.push(...sourceFiles(v, at)));
  }
  if (isPlainObject(k.openapi)) strings(['openapi', 'path'], k.openapi.path, 'file');
  // Inline patches are text, not paths; inline plugin configurations are checked like files.
  return entries.filter((e) => e.expect === 'plugin' || !/\n/.test(e.value));
}

/**
 * The files a generator (`configMapGenerator` entry, or a ConfigMapGenerator, SecretGenerator or
 * patch transformer configuration) reads: `files` (`[key=]path`), `envs`, `env`, `path`, `paths`, and
 * `replacements[].path`.
 */
function sourceFiles(g: Record<string, unknown>, base: FieldPath): Entry[] {
  const entries: Entry[] = [];
  const add = (at: FieldPath, value: unknown, pick = (s: string) => s): void => {
    if (typeof value === 'string' && !/\n/.test(value))
      entries.push({ at, value: pick(value), expect: 'file' });
  };
  const list = (field: string, pick?: (s: string) => string): void => {
    const value = g[field];
    if (Array.isArray(value)) value.forEach((v, i) => add([...base, field, i], v, pick));
  };
  // kustomize splits a files entry at its first "=" into key and path.
  list('files', (s) => (s.includes('=') ? s.slice(s.indexOf('=') + 1) : s));
  list('envs');
  list('paths');
  add([...base, 'env'], g.env);
  add([...base, 'path'], g.path);
  const replacements = g.replacements;
  if (Array.isArray(replacements)) {
    replacements.forEach((r, i) => isPlainObject(r) && add([...base, 'replacements', i, 'path'], r.path));
  }
  return entries;
}

/** Checks the entries of the kustomization in `dir`, collecting problems. */
class EntryCheck {
  constructor(
    private readonly root: string,
    private readonly dir: string,
    private readonly allowRemote: boolean,
    private readonly problems: Problem[],
  ) {}

  /** Checks one entry; returns where a local entry resolves to, when it exists and may be read. */
  async entry(doc: RawDocument, entry: Entry): Promise<{ real: string; directory: boolean } | undefined> {
    const origin = doc.at.origin(entry.at);
    const where = formatFieldPath(entry.at);
    const target = path.resolve(this.dir, entry.value);
    if (await isRemote(entry.value, entry.expect, target)) {
      if (!this.allowRemote) {
        this.problems.push({
          message: `${where} ${quoted(entry.value)} is remote: kustomize would fetch it from outside the repository`,
          origin,
          hint: 'remote bases and files are refused unless the service opts in with "kustomize: { allowRemote: true }" in nopea.yaml; or copy what it refers to into the repository',
        });
      }
      return undefined;
    }
    const real = await realpath(target).catch(() => undefined);
    if (real === undefined) return undefined;
    const forbidden = forbiddenPath(this.root, real);
    if (forbidden) {
      this.problems.push(
        forbiddenProblem(this.root, `${where} ${quoted(entry.value)}`, real, forbidden, origin),
      );
      return undefined;
    }
    const info = await stat(real).catch(() => undefined);
    return info ? { real, directory: info.isDirectory() } : undefined;
  }

  /** Checks the file fields of a generator or transformer configuration. */
  async plugin(config: RawDocument): Promise<void> {
    if (!isPlainObject(config.value)) return;
    for (const entry of sourceFiles(config.value, [])) await this.entry(config, entry);
  }
}

/**
 * Whether kustomize would fetch an entry rather than read a local path, following its loader: an
 * http(s) URL is downloaded wherever a file is read; a directory entry that parses as a git URL
 * (`https://`, `ssh://`, `file://`, `git::`, `user@host:`, `github.com/...`) is cloned, unless a local
 * file of that name exists (kustomize tries files first).
 */
async function isRemote(value: string, expect: Expect, local: string): Promise<boolean> {
  if (/^https?:\/\//i.test(value)) return true;
  if (expect === 'file' || !isGitUrl(value)) return false;
  const info = await stat(local).catch(() => undefined);
  return !info?.isFile();
}

// kustomize's NewRepoSpecFromURL: a scheme it clones, a user for scp-like syntax, or GitHub's host.
function isGitUrl(value: string): boolean {
  if (path.isAbsolute(value)) return false;
  const spec = value.split('?', 1)[0]!.replace(/^git::/i, '');
  return (
    /^(?:ssh|https?|file):\/\//i.test(spec) ||
    /^[a-zA-Z][a-zA-Z0-9-]*@/.test(spec) ||
    /^github\.com[/:]/i.test(spec)
  );
}
