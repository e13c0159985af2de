/**
 * Turning the manifest paths a user gives into the list of files and kustomizations to read: paths
 * and symlinks stay inside the repository boundary (boundary.ts: inside the root, never into `.git`),
 * directories are walked in a stable byte order, hidden entries are skipped, and a directory with a
 * kustomization is rendered rather than walked.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from '../errors.js';
import { forbiddenPath, forbiddenProblem, isInside, repoRelative, symlinkProblem } from './boundary.js';
import { excerpt } from '../resources/excerpt.js';
import type { SourceFormat } from './parse.js';

/** Extensions read when walking a directory, and the only ones accepted for explicit files. */
export const MANIFEST_EXTENSIONS: Readonly<Record<string, SourceFormat>> = {
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.json': 'json',
};

/** File names that make a directory a kustomization (kustomize's own list). */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/** Something to read: a manifest file, or a kustomization directory to render. */
export type Input =
  | { type: 'file'; path: string; file: string; format: SourceFormat }
  | { type: 'kustomization'; dir: string; file: string };

/** The inputs in read order, plus the problems with the paths themselves. */
export interface Inputs {
  inputs: Input[];
  problems: Problem[];
}

/**
 * Resolves `paths` (relative to `root` or absolute) into inputs. `root` must already be a real path.
 * A file reached twice (listed twice, or through a symlink) is read once, at its first position.
 */
export async function collectInputs(root: string, paths: string[]): Promise<Inputs> {
  const walker = new Walker(root);
  for (const p of paths) await walker.explicit(p);
  return { inputs: walker.inputs, problems: walker.problems };
}

function formatOf(name: string): SourceFormat | undefined {
  return MANIFEST_EXTENSIONS[path.extname(name).toLowerCase()];
}

// Byte order of the UTF-8 names, the order `ls` uses with LC_ALL=C and the same on every machine.
function byteOrder(a: Dirent, b: Dirent): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

class Walker {
  readonly inputs: Input[] = [];
  readonly problems: Problem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly root: string) {}

  async explicit(given: string): Promise<void> {
    const lexical = path.resolve(this.root, given);
    const lexicallyInside = isInside(this.root, lexical);
    const origin = lexicallyInside ? { file: repoRelative(this.root, lexical), line: 1 } : undefined;
    let real: string;
    try {
      real = await realpath(lexical);
    } catch {
      this.problems.push(
        lexicallyInside
          ? {
              message: `manifest path "${given}" does not exist`,
              hint: 'paths on the command line are relative to the current directory, paths in nopea.yaml to the repository root',
            }
          : forbiddenProblem(this.root, named(given), lexical, 'outside'),
      );
      return;
    }
    const forbidden = forbiddenPath(this.root, real);
    if (forbidden) {
      const link = origin && lexical !== real ? origin : undefined;
      this.problems.push(forbiddenProblem(this.root, named(given), real, forbidden, link));
      return;
    }
    const info = await stat(real).catch((err: unknown) => this.unreadable(real, err));
    if (!info) return;
    if (info.isDirectory()) {
      await this.directory(real);
    } else if (!info.isFile()) {
      this.problems.push({ message: `manifest path "${given}" is neither a file nor a directory` });
    } else if ((KUSTOMIZATION_FILES as readonly string[]).includes(path.basename(real))) {
      // Naming the kustomization file means "render this kustomization", not "apply the Kustomization".
      this.add({ type: 'kustomization', dir: path.dirname(real), file: repoRelative(this.root, real) });
    } else {
      const format = formatOf(real);
      if (format) this.add({ type: 'file', path: real, file: repoRelative(this.root, real), format });
      else {
        this.problems.push({
          message: `manifest file "${given}" has an extension nopea does not read`,
          hint: `nopea reads ${Object.keys(MANIFEST_EXTENSIONS).join(', ')} files and kustomization directories`,
        });
      }
    }
  }

  private add(input: Input): void {
    const key = input.type === 'file' ? input.path : `${input.dir}${path.sep}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.inputs.push(input);
  }

  /** Walks a real directory, or queues it for rendering when it holds a kustomization. */
  private async directory(dir: string): Promise<void> {
    // The seen set also stops symlink cycles (a link to an ancestor directory).
    if (this.seen.has(`${dir}${path.sep}`)) return;
    const listed = await readdir(dir, { withFileTypes: true }).catch((err: unknown) =>
      this.unreadable(dir, err),
    );
    if (!listed) return;
    const entries = listed.sort(byteOrder);
    const kustomization = entries.find((e) => (KUSTOMIZATION_FILES as readonly string[]).includes(e.name));
    if (kustomization) {
      this.add({
        type: 'kustomization',
        dir,
        file: repoRelative(this.root, path.join(dir, kustomization.name)),
      });
      return;
    }
    this.seen.add(`${dir}${path.sep}`);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) await this.link(full);
      else if (entry.isDirectory()) await this.directory(full);
      else if (entry.isFile()) this.file(full, full);
    }
  }

  /** Records a path that exists but cannot be read (permissions, a vanished file) as a problem. */
  private unreadable(target: string, err: unknown): undefined {
    const file = repoRelative(this.root, target);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    this.problems.push({ message: `cannot read ${file}: ${code}`, origin: { file, line: 1 } });
    return undefined;
  }

  private file(real: string, shownAs: string): void {
    const format = formatOf(shownAs);
    if (format) this.add({ type: 'file', path: real, file: repoRelative(this.root, real), format });
  }

  private async link(full: string): Promise<void> {
    const origin = { file: repoRelative(this.root, full), line: 1 };
    let target: string;
    try {
      target = await realpath(full);
    } catch {
      // A dangling link only matters if it would have been read.
      if (formatOf(full)) {
        this.problems.push({
          message: 'broken symlink: its target does not exist',
          origin,
          hint: 'fix or remove the link',
        });
      }
      return;
    }
    const info = await stat(target).catch((err: unknown) => this.unreadable(full, err));
    if (!info) return;
    if (!info.isDirectory() && !(info.isFile() && formatOf(full))) return;
    const forbidden = forbiddenPath(this.root, target);
    if (forbidden) {
      this.problems.push(await symlinkProblem(this.root, full, target, forbidden));
      return;
    }
    if (info.isDirectory()) await this.directory(target);
    else this.file(target, full);
  }
}

function named(given: string): string {
  return `manifest path "${excerpt(given)}"`;
}
