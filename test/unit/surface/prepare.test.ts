import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import type { Manifest } from '../../../src/resources/object.js';
import { identifyService, repoPath, StageTimer, type RunContext } from '../../../src/surface/prepare.js';

describe('repoPath', () => {
  const root = '/home/runner/work/shop';

  it('makes command-line paths relative to the repository root, so messages name them like origins', () => {
    expect(repoPath(root, root, 'deploy/app')).toBe('deploy/app');
    expect(repoPath(root, `${root}/deploy`, 'app')).toBe('deploy/app');
    expect(repoPath(root, `${root}/deploy`, './app/')).toBe('deploy/app');
    expect(repoPath(root, `${root}/deploy`, `${root}/deploy/app`)).toBe('deploy/app');
    expect(repoPath(root, `${root}/deploy`, '..')).toBe('.');
  });

  it('keeps paths outside the repository absolute, for the loader to refuse by name', () => {
    expect(repoPath(root, `${root}/deploy`, '../../elsewhere')).toBe('/home/runner/work/elsewhere');
    expect(repoPath(root, root, '/etc/kubernetes')).toBe('/etc/kubernetes');
    // A sibling whose name starts with the root's name is still outside.
    expect(repoPath(root, root, '../shop-other/app')).toBe('/home/runner/work/shop-other/app');
  });
});

describe('identifyService', () => {
  const spec = { name: 'web', paths: ['app'], namespace: 'web', prune: true };
  const manifest = (name: string): Manifest => ({
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } },
    origin: { file: 'app/cm.yaml', line: 1 },
  });

  function ctx(manifests: Promise<Manifest[]>): RunContext & { reads: number } {
    const c = {
      repoRoot: '/repo',
      cwd: '/repo',
      reads: 0,
      store: {
        readService: async () => {
          c.reads++;
          return { inventory: undefined, lastApplied: new Map() };
        },
      } as unknown as RunContext['store'],
      catalog: builtinCatalog(),
      timer: new StageTimer(),
      services: [spec],
      manifests: new Map([[spec.name, manifests]]),
    };
    return c;
  }

  it('identifies a service once per run, however often a sync asks (strategy, plan, plan under the lock)', async () => {
    const run = ctx(Promise.resolve([manifest('a'), manifest('b')]));
    const first = await identifyService(run, spec, {});
    const again = await identifyService(run, spec, {});
    expect(again).toBe(first);
    expect(first.map((d) => d.id)).toEqual(['/ConfigMap/web/a', '/ConfigMap/web/b']);
    // One `source` stage, and the service's state asked for (ahead of the plan) once.
    expect(run.timer.stages.map((s) => s.name)).toEqual(['source']);
    expect(run.reads).toBe(1);
  });

  it('gives the same manifest error each time it is asked', async () => {
    const broken = Promise.reject(new Error('app/cm.yaml:3: bad indentation'));
    broken.catch(() => undefined);
    const run = ctx(broken);
    await expect(identifyService(run, spec, {})).rejects.toThrow('bad indentation');
    await expect(identifyService(run, spec, {})).rejects.toThrow('bad indentation');
  });
});
