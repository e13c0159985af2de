/**
 * Reading one manifest file: its size checked before it is read (a huge file is never loaded), its
 * bytes decoded as UTF-8, then parsed and checked (parse.ts). The same steps run on the main thread
 * and on the parse thread (parse-thread.ts); the thread's file reads are synchronous, the main
 * thread's are not.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Problem } from '../errors.js';
import { decodeManifest, MAX_FILE_BYTES, tooLarge } from './decode.js';
import { parseManifests, type Parsed } from './parse.js';
import type { Input } from './walk.js';

/** A manifest file to read (a kustomization is rendered instead: kustomize.ts). */
export type FileInput = Extract<Input, { type: 'file' }>;

/** Reads and parses one manifest file; every problem, a read error included, is in the result. */
export async function readManifestFile(input: FileInput): Promise<Parsed> {
  let bytes: Buffer;
  try {
    const info = await stat(input.path);
    if (info.size > MAX_FILE_BYTES) return problem(tooLarge(info.size, input.file));
    bytes = await readFile(input.path);
  } catch (err) {
    return problem(readProblem(err, input));
  }
  return parsed(input, bytes);
}

/** `readManifestFile` with blocking reads: for the parse thread, which has nothing else to do meanwhile. */
export function readManifestFileSync(input: FileInput): Parsed {
  let bytes: Buffer;
  try {
    const info = statSync(input.path);
    if (info.size > MAX_FILE_BYTES) return problem(tooLarge(info.size, input.file));
    bytes = readFileSync(input.path);
  } catch (err) {
    return problem(readProblem(err, input));
  }
  return parsed(input, bytes);
}

function parsed(input: FileInput, bytes: Buffer): Parsed {
  const decoded = decodeManifest(bytes, input.file);
  if (!decoded.ok) return problem(decoded.problem);
  return parseManifests(decoded.text, input.file, input.format);
}

function problem(p: Problem): Parsed {
  return { manifests: [], problems: [p] };
}

function readProblem(err: unknown, input: FileInput): Problem {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return { message: `cannot read the file: ${code}`, origin: { file: input.file, line: 1 } };
}
