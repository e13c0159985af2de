import { describe, expect, it } from 'vitest';
import { repoPath } from '../../../src/surface/prepare.js';

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
