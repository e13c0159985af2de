/**
 * Reads `fixtures/invalid/cases.json` and runs one case through the source stage, so the case table and
 * its tests share one definition of what "running a case" means.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/source/config.js';
import { loadManifests } from '../../../src/source/load.js';
import type { Manifest } from '../../../src/resources/object.js';
import { CASES, REPO, type InvalidCase } from '../../helpers/invalid-cases.js';
import { CORPUS } from '../../helpers/corpus.js';

export { CASES, CORPUS, REPO, type InvalidCase };

const run = promisify(execFile);

/** Runs a case through `loadManifests` (or `loadConfig`), returning what it threw or loaded. */
export async function runCase(c: InvalidCase, kubectl?: string): Promise<unknown> {
  let temp: string | undefined;
  try {
    let root = path.resolve(REPO, c.root ?? '.');
    let paths = c.paths ?? [path.relative(root, path.resolve(REPO, c.path)) || '.'];
    if (c.generate) {
      temp = await mkdtemp(path.join(tmpdir(), 'nopea-case-'));
      await run(process.execPath, [path.join(REPO, c.generate), temp]);
      root = temp;
      paths = ['.'];
    }
    if (c.stage === 'config') return await loadConfig(root);
    const opts = kubectl ? { repoRoot: root, paths, kubectl } : { repoRoot: root, paths };
    return await loadManifests(opts);
  } catch (err) {
    return err;
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

/** The fake credential of the fixtures that hold one (a git config's extraheader); never quoted back. */
export const FIXTURE_CREDENTIAL = 'bm9wZWEtdGVzdDpub3QtYS1yZWFsLXRva2Vu';

/**
 * Asserts a case failed with an input error whose problems include the expected file, line and
 * message, and that no problem quotes the fixtures' fake credential.
 */
export function expectCaseProblem(c: InvalidCase, outcome: unknown): void {
  expect(outcome, `${c.name} should fail`).toBeInstanceOf(NopeaError);
  const err = outcome as NopeaError;
  expect(err.kind).toBe('input');
  expect(JSON.stringify(err.problems)).not.toContain(FIXTURE_CREDENTIAL);
  const match = err.problems.find(
    (p) =>
      p.message.includes(c.expect) &&
      (c.file === null ? p.origin === undefined : p.origin?.file === c.file && p.origin.line === c.line),
  );
  expect(
    match,
    `${c.name}: no problem at ${c.file}:${c.line} containing "${c.expect}" in:\n${err.message}`,
  ).toBeDefined();
}

/** Whether a case loaded (the identify stage must reject it later). */
export function loadedManifests(outcome: unknown): Manifest[] {
  if (outcome instanceof Error) throw outcome;
  return outcome as Manifest[];
}
