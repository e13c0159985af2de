/**
 * The table of broken inputs, `fixtures/invalid/cases.json` (its README documents the fields), shared
 * by the source stage's unit tests and the CLI's integration test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nopea repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One row of `fixtures/invalid/cases.json`. */
export interface InvalidCase {
  name: string;
  path: string;
  root?: string;
  paths?: string[];
  generate?: string;
  needs?: 'kubectl';
  expect: string;
  file: string | null;
  line: number | null;
  stage: 'source' | 'identify' | 'config';
}

/** Every case of the table. */
export const CASES: InvalidCase[] = JSON.parse(
  readFileSync(path.join(REPO, 'fixtures/invalid/cases.json'), 'utf8'),
) as InvalidCase[];
