/**
 * The parse thread's entry (see parse-thread.ts): reads and parses the files of each batch it is sent,
 * in order, and posts each result back. It never exits on its own; the main thread ends it.
 */
import { parentPort } from 'node:worker_threads';
import type { Parsed } from './parse.js';
import { readManifestFileSync, type FileInput } from './read-file.js';

export interface ParseBatch {
  batch: number;
  files: FileInput[];
}

/** A result, or the error of a bug in reading: the main thread then reads that file itself. */
export type ParseReply =
  { batch: number; index: number; parsed: Parsed } | { batch: number; index: number; error: string };

parentPort?.on('message', ({ batch, files }: ParseBatch) => {
  for (let index = 0; index < files.length; index++) {
    let reply: ParseReply;
    try {
      reply = { batch, index, parsed: readManifestFileSync(files[index]!) };
    } catch (err) {
      reply = { batch, index, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    parentPort?.postMessage(reply);
  }
});
