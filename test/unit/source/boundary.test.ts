import { describe, expect, it } from 'vitest';
import { forbiddenPath } from '../../../src/source/boundary.js';

describe('forbiddenPath', () => {
  it('allows what is inside the root, refuses .git directories at any depth and what is outside', () => {
    expect(forbiddenPath('/repo', '/repo/deploy/app.yaml')).toBeUndefined();
    expect(forbiddenPath('/repo', '/repo')).toBeUndefined();
    expect(forbiddenPath('/repo', '/repo/.github/x.yaml')).toBeUndefined();
    expect(forbiddenPath('/repo', '/repo/.git/config')).toBe('git');
    expect(forbiddenPath('/repo', '/repo/.git')).toBe('git');
    expect(forbiddenPath('/repo', '/repo/vendor/lib/.git/config')).toBe('git');
    expect(forbiddenPath('/repo', '/repository/x.yaml')).toBe('outside');
    expect(forbiddenPath('/repo', '/etc/hosts')).toBe('outside');
  });
});
