/**
 * Parsing manifest files on a second thread. Reading YAML is most of the main thread's work in a sync
 * of many files before the plan, and the main thread is busy meanwhile with the state branch, the
 * Kubernetes client and discovery: the files of a load go to the parse thread as one batch and parse
 * on the other core. (The main thread takes no share of them: measured, that only slowed what it does
 * meanwhile, and the run with it.)
 *
 * The thread runs from the bundle's `parse-worker.js` (the build sets `NOPEA_PARSE_WORKER` to its path
 * next to the code that starts it); from the TypeScript sources there is none and files parse on the
 * main thread. `NOPEA_PARSE_WORKER=off` keeps them there too; `on` gives the thread every file of any
 * load and fails when it cannot run, rather than parse them on the main thread (tests use it to know
 * the thread did the work). By default the thread is used from `AUTO_MIN_FILES` files on, and a thread
 * that cannot start, or stops, leaves its files to the main thread: the result is the same either way.
 */
import { Worker } from 'node:worker_threads';
import { inputError } from '../errors.js';
import type { Parsed } from './parse.js';
import type { ParseBatch, ParseReply } from './parse-worker.js';
import { readManifestFileSync, type FileInput } from './read-file.js';

/** Set by the build: the parse thread's entry, relative to the module holding this code. */
declare const NOPEA_PARSE_WORKER: string | undefined;

/** Below this many files a thread's start (tens of milliseconds) costs more than it saves. */
export const AUTO_MIN_FILES = 32;

type Mode = 'auto' | 'on' | 'off';

function modeOf(value: string | undefined): Mode {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'on' || value === 'off') return value;
  throw inputError({
    message: `NOPEA_PARSE_WORKER=${JSON.stringify(value)} is not one of auto, on, off`,
    hint: 'unset it to let nopea choose, or set off to parse manifests on the main thread',
  });
}

/** The one parse thread of the process, while it has work. */
let current: ParseThread | undefined;

/**
 * Reads the files of one load through the parse thread: one promise per file, in the files' order.
 * Undefined when the thread does not pay (or is turned off): the caller reads them itself.
 */
export function parseOnThread(files: FileInput[]): Promise<Parsed>[] | undefined {
  const mode = modeOf(process.env.NOPEA_PARSE_WORKER);
  if (mode === 'off' || files.length === 0 || (mode === 'auto' && files.length < AUTO_MIN_FILES)) {
    return undefined;
  }
  const entry = typeof NOPEA_PARSE_WORKER === 'string' ? NOPEA_PARSE_WORKER : undefined;
  if (!entry) {
    if (mode === 'on') throw threadFailed('this build of nopea has none (it runs from its sources)');
    return undefined;
  }
  if (!current) {
    let worker: Worker;
    try {
      worker = new Worker(new URL(entry, import.meta.url), { name: 'nopea-parse' });
    } catch (err) {
      if (mode === 'on') throw threadFailed(err);
      return undefined;
    }
    current = new ParseThread(worker);
  }
  return current.add(files, mode === 'on');
}

function threadFailed(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return inputError({
    message: `NOPEA_PARSE_WORKER=on, but the parse thread failed: ${message}`,
    hint: 'unset NOPEA_PARSE_WORKER to parse on the main thread when the thread cannot run; a missing parse-worker.js means an incomplete install of nopea',
  });
}

/** The files of one load and the promise of each file's result. */
class Batch {
  readonly promises: Promise<Parsed>[];
  private readonly settlers: { resolve: (p: Parsed) => void; reject: (err: unknown) => void }[] = [];
  private readonly settled: boolean[];
  private left: number;

  constructor(
    readonly files: FileInput[],
    /** Only the parse thread reads these files (NOPEA_PARSE_WORKER=on). */
    readonly threadOnly: boolean,
  ) {
    this.promises = files.map(
      () => new Promise<Parsed>((resolve, reject) => this.settlers.push({ resolve, reject })),
    );
    this.settled = files.map(() => false);
    this.left = files.length;
  }

  get done(): boolean {
    return this.left === 0;
  }

  settle(index: number, outcome: { parsed: Parsed } | { error: unknown }): void {
    if (this.settled[index]) return;
    this.settled[index] = true;
    this.left--;
    if ('parsed' in outcome) this.settlers[index]!.resolve(outcome.parsed);
    else this.settlers[index]!.reject(outcome.error);
  }

  /** Reads one file here on the main thread. */
  readHere(index: number): void {
    let outcome: { parsed: Parsed } | { error: unknown };
    try {
      outcome = { parsed: readManifestFileSync(this.files[index]!) };
    } catch (error) {
      outcome = { error };
    }
    this.settle(index, outcome);
  }

  /** The parse thread is gone: the files it has not answered are read here. */
  recover(err: Error): void {
    for (let i = 0; i < this.files.length; i++) {
      if (this.settled[i]) continue;
      if (this.threadOnly) this.settle(i, { error: threadFailed(err) });
      else this.readHere(i);
    }
  }
}

class ParseThread {
  private readonly batches = new Map<number, Batch>();
  private nextBatch = 0;
  private gone = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ParseReply) => this.answered(reply));
    worker.on('error', (err) => this.lost(err));
    worker.on('exit', (code) => this.lost(new Error(`the parse thread exited with code ${code}`)));
  }

  add(files: FileInput[], threadOnly: boolean): Promise<Parsed>[] {
    const batch = new Batch(files, threadOnly);
    if (this.gone) {
      batch.recover(new Error('the parse thread has ended'));
      return batch.promises;
    }
    const id = this.nextBatch++;
    this.batches.set(id, batch);
    const message: ParseBatch = { batch: id, files };
    this.worker.postMessage(message);
    return batch.promises;
  }

  private answered(reply: ParseReply): void {
    const batch = this.batches.get(reply.batch);
    if (!batch) return;
    // A bug in reading one file: read it here, which meets (and reports) the same bug.
    if ('error' in reply) batch.readHere(reply.index);
    else batch.settle(reply.index, { parsed: reply.parsed });
    this.finished(reply.batch, batch);
  }

  private finished(id: number, batch: Batch): void {
    if (!batch.done) return;
    this.batches.delete(id);
    // Nothing left to do: the thread ends, and the next load that needs one starts another.
    if (this.batches.size === 0) this.end();
  }

  /** The thread failed to start, crashed or exited: the files it has not answered are read here. */
  private lost(err: Error): void {
    if (this.gone) return;
    this.end();
    for (const batch of this.batches.values()) batch.recover(err);
    this.batches.clear();
  }

  private end(): void {
    this.gone = true;
    if (current === this) current = undefined;
    void this.worker.terminate();
  }
}
