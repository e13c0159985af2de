import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CASES, expectCaseProblem, loadedManifests, REPO, runCase } from './cases.js';

describe('fixtures/invalid/cases.json', () => {
  it('lists at least 30 distinct cases, one per fixture folder', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    const folders = readdirSync(path.join(REPO, 'fixtures/invalid'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    const listed = new Set(CASES.map((c) => path.basename(c.path)));
    for (const folder of folders) expect(listed.has(folder), `${folder} is not in cases.json`).toBe(true);
  });

  // Cases that need kubectl run in kustomize.test.ts, which locates one.
  const local = CASES.filter((c) => (c.stage === 'source' || c.stage === 'config') && !c.needs);
  // Some cases generate and parse megabytes (object-too-large, alias bombs): on a loaded 2-core
  // machine that alone can pass vitest's 5 s default, which says nothing about nopea.
  it.each(local.map((c) => [c.name, c] as const))(
    '%s fails with its file, line and message',
    async (_name, c) => {
      expectCaseProblem(c, await runCase(c));
    },
    30_000,
  );

  const later = CASES.filter((c) => c.stage === 'identify');
  it.each(later.map((c) => [c.name, c] as const))(
    '%s loads; the identify stage rejects it',
    async (_name, c) => {
      const manifests = loadedManifests(await runCase(c));
      expect(manifests.map((m) => m.origin)).toContainEqual({ file: c.file, line: c.line });
    },
  );
});
