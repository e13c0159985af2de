import { describe, expect, it } from 'vitest';
import { monotonicFactory } from 'ulid';
import { resolveChange, selectExpired, type ResolveInput } from '../../../src/state/change.js';
import type { DeployRecord, LastApplied } from '../../../src/state/format.js';
import { statePaths } from '../../../src/state/layout.js';

const nextId = monotonicFactory();
const ids = Array.from({ length: 5 }, () => nextId());

function record(id: string): DeployRecord {
  return {
    format: 1,
    id,
    service: 'web',
    namespace: 'prod',
    source: {},
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:00:01.000Z',
    strategy: { name: 'direct', reason: 'default' },
    plan: { create: 0, update: 0, drift: 0, conflict: 0, unchanged: 0, prune: 0 },
    stages: [],
    outcome: 'succeeded',
  };
}

function lastApplied(id: string): LastApplied {
  const [, kind, namespace, name] = id.split('/') as [string, string, string, string];
  return {
    format: 1,
    id,
    apiVersion: 'v1',
    deployId: ids[0]!,
    appliedAt: '2026-11-27T10:00:00.000Z',
    object: { apiVersion: 'v1', kind, metadata: { name, namespace } },
  };
}

function input(overrides: Partial<ResolveInput>): ResolveInput {
  return {
    service: 'web',
    writes: {},
    deletes: [],
    replaceDirs: [],
    baseFiles: ['.nopea/format'],
    hasFormat: true,
    retention: { deploys: 50 },
    ...overrides,
  };
}

describe('selectExpired', () => {
  it('keeps the newest ids', () => {
    expect(selectExpired([ids[3]!, ids[0]!, ids[4]!, ids[1]!, ids[2]!], 2)).toEqual([ids[0], ids[1], ids[2]]);
  });

  it('expires nothing under the limit and ignores duplicates', () => {
    expect(selectExpired([ids[0]!, ids[1]!], 2)).toEqual([]);
    expect(selectExpired([ids[0]!, ids[0]!, ids[1]!], 2)).toEqual([]);
    expect(selectExpired([], 3)).toEqual([]);
  });
});

describe('resolveChange', () => {
  it('writes the format file on a first commit only', () => {
    const first = resolveChange(input({ baseFiles: [], hasFormat: false, writes: { 'notes.txt': 'x' } }));
    expect([...first.upserts.keys()].sort()).toEqual(['.nopea/format', '.nopea/services/web/notes.txt']);
    expect(first.upserts.get('.nopea/format')).toBe('1\n');
    const later = resolveChange(input({ writes: { 'notes.txt': 'x' } }));
    expect([...later.upserts.keys()]).toEqual(['.nopea/services/web/notes.txt']);
  });

  it('replaces a directory, keeping files written again', () => {
    const dir = '.nopea/services/web/last-applied';
    const keep = statePaths.lastApplied('/Service/web/api');
    const result = resolveChange(
      input({
        baseFiles: [
          `${dir}/~Service~web~old.json`,
          `.nopea/services/web/${keep}`,
          '.nopea/services/web/current.json',
        ],
        replaceDirs: [statePaths.lastAppliedDir],
        writes: { [keep]: lastApplied('/Service/web/api') },
      }),
    );
    expect(result.removals).toEqual([`${dir}/~Service~web~old.json`]);
    expect([...result.upserts.keys()]).toEqual([`.nopea/services/web/${keep}`]);
  });

  it('deletes only files the base has', () => {
    const result = resolveChange(
      input({
        baseFiles: ['.nopea/services/web/last-applied/a.json'],
        deletes: ['last-applied/a.json', 'last-applied/never-there.json'],
      }),
    );
    expect(result.removals).toEqual(['.nopea/services/web/last-applied/a.json']);
  });

  it('drops the oldest deploy records and their occurrences in the same change', () => {
    const baseFiles = ids
      .slice(0, 4)
      .flatMap((id) => [`.nopea/services/web/deploys/${id}.json`, `.nopea/occurrences/${id}.json`]);
    baseFiles.push(`.nopea/services/api/deploys/${ids[0]}.json`); // another service: untouched
    const result = resolveChange(
      input({
        baseFiles,
        retention: { deploys: 3 },
        writes: { [statePaths.deploy(ids[4]!)]: record(ids[4]!) },
      }),
    );
    expect(result.removals).toEqual(
      [
        `.nopea/occurrences/${ids[0]}.json`,
        `.nopea/occurrences/${ids[1]}.json`,
        `.nopea/services/web/deploys/${ids[0]}.json`,
        `.nopea/services/web/deploys/${ids[1]}.json`,
      ].sort(),
    );
    expect(result.upserts.has(`.nopea/services/web/deploys/${ids[4]}.json`)).toBe(true);
  });

  it('leaves files in the deploys directory that are not deploy records', () => {
    const result = resolveChange(
      input({ baseFiles: ['.nopea/services/web/deploys/README.md'], retention: { deploys: 1 } }),
    );
    expect(result.removals).toEqual([]);
  });

  it('moves last-applied files from over-long names unless the change writes, deletes or replaces them', () => {
    const dir = '.nopea/services/web/last-applied';
    const long = (name: string): string => `/ConfigMap/web/${name}${'x'.repeat(250)}`;
    const [kept, written, deleted] = [long('kept'), long('written'), long('deleted')];
    const legacy = (id: string): string => `${dir}/~ConfigMap~web~${id.slice('/ConfigMap/web/'.length)}.json`;
    const renamed = new Map([kept, written, deleted].map((id) => [legacy(id), lastApplied(id)]));
    const fresh = { ...lastApplied(written), appliedAt: '2026-11-28T10:00:00.000Z' };
    const result = resolveChange(
      input({
        baseFiles: [...renamed.keys()],
        renamed,
        writes: { [statePaths.lastApplied(written)]: fresh },
        deletes: [statePaths.lastApplied(deleted)],
      }),
    );
    expect(result.removals).toEqual([...renamed.keys()].sort());
    expect([...result.upserts.keys()].sort()).toEqual(
      [kept, written].map((id) => `.nopea/services/web/${statePaths.lastApplied(id)}`).sort(),
    );
    expect(result.upserts.get(`.nopea/services/web/${statePaths.lastApplied(written)}`)).toContain(
      '2026-11-28T10:00:00.000Z',
    );
    const replaced = resolveChange(
      input({ baseFiles: [...renamed.keys()], renamed, replaceDirs: [statePaths.lastAppliedDir] }),
    );
    expect(replaced.removals).toEqual([...renamed.keys()].sort());
    expect(replaced.upserts.size).toBe(0);
  });

  it('refuses paths outside .nopea', () => {
    expect(() => resolveChange(input({ writes: { '../../../etc/passwd': 'x' } }))).toThrow(
      /not a valid path/,
    );
  });
});
