/**
 * The shared corpus of real-world manifests (`../shared/corpus` next to the repository, or
 * NOPEA_CORPUS). Tests read it in place; a missing corpus fails loudly instead of skipping.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './invalid-cases.js';

/** The corpus root. */
export const CORPUS = path.resolve(process.env.NOPEA_CORPUS ?? path.join(REPO, '../shared/corpus'));

/** Absolute path of a corpus entry; throws with the fix when the corpus is not there. */
export function corpus(entry: string): string {
  const full = path.join(CORPUS, entry);
  if (!existsSync(full)) {
    throw new Error(
      `corpus entry ${entry} not found at ${full}: check out the shared corpus next to the repository (../shared/corpus) or set NOPEA_CORPUS`,
    );
  }
  return full;
}
