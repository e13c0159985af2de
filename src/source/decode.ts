/**
 * Turning a file's bytes into text, refusing what is not a UTF-8 text file so a stray binary or UTF-16
 * file gives one clear message instead of pages of YAML errors.
 */
import type { Problem } from '../errors.js';

/** Largest manifest file nopea reads; far above any real manifest, low enough to keep memory bounded. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** The decoded text, or the problem that stops the file from being read. */
export type Decoded = { ok: true; text: string } | { ok: false; problem: Problem };

/** Decodes UTF-8 (a leading BOM is dropped), refusing NUL bytes and invalid byte sequences. */
export function decodeManifest(bytes: Uint8Array, file: string): Decoded {
  if (bytes.length > MAX_FILE_BYTES) return { ok: false, problem: tooLarge(bytes.length, file) };
  if (bytes.includes(0)) {
    return {
      ok: false,
      problem: {
        message:
          'not a text file: it contains NUL bytes (binary data or UTF-16 text), so it is no YAML or JSON manifest',
        origin: { file, line: 1 },
        hint: 'remove the file from the manifest paths, or save it as UTF-8 text',
      },
    };
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return {
      ok: false,
      problem: {
        message: 'not valid UTF-8 text (this line holds the first invalid byte)',
        origin: { file, line: firstInvalidLine(bytes) },
        hint: 'save the file as UTF-8 (Kubernetes manifests must be UTF-8)',
      },
    };
  }
}

/** The problem for a file over `MAX_FILE_BYTES`, reported before reading it. */
export function tooLarge(size: number, file: string): Problem {
  return {
    message: `file is ${(size / 1024 / 1024).toFixed(1)} MiB; manifest files may be at most ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
    origin: { file, line: 1 },
    hint: 'split it into several files, or keep large data out of the manifests',
  };
}

// TextDecoder does not say where decoding failed; decoding line by line finds the first bad line.
function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  let line = 1;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
    line++;
  }
  return 1;
}
