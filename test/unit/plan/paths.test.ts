import { describe, expect, it } from 'vitest';
import { diffValues, formatPath, getAt, pathsOverlap, toFieldChange } from '../../../src/plan/paths.js';

describe('paths', () => {
  it('formats keys, indexes and odd keys', () => {
    expect(formatPath(['spec', 'containers', 0, 'image'])).toBe('spec.containers[0].image');
    expect(formatPath(['metadata', 'labels', 'app.kubernetes.io/name'])).toBe(
      'metadata.labels["app.kubernetes.io/name"]',
    );
  });

  it('reads values and treats inherited keys as absent', () => {
    expect(getAt({ a: [{ b: 1 }] }, ['a', 0, 'b'])).toBe(1);
    expect(getAt({ a: {} }, ['a', 'toString'])).toBeUndefined();
    expect(getAt({ a: 1 }, ['a', 'b'])).toBeUndefined();
  });

  it('diffs leaves, whole scalar lists, added and removed fields', () => {
    const changes = diffValues(
      { a: 1, b: { c: 2 }, args: ['x', 'y'], list: [{ n: 1 }] },
      { a: 1, b: { d: 3 }, args: ['x'], list: [{ n: 2 }, { n: 3 }] },
    ).map(toFieldChange);
    expect(changes).toEqual([
      { path: 'args', op: 'change', before: ['x', 'y'], after: ['x'] },
      { path: 'b.c', op: 'remove', before: 2 },
      { path: 'b.d', op: 'add', after: 3 },
      { path: 'list[0].n', op: 'change', before: 1, after: 2 },
      { path: 'list[1]', op: 'add', after: { n: 3 } },
    ]);
  });

  it('tells overlapping paths', () => {
    expect(pathsOverlap(['a', 'b'], ['a', 'b', 'c'])).toBe(true);
    expect(pathsOverlap(['a', 'b', 'c'], ['a'])).toBe(true);
    expect(pathsOverlap(['a', 'b'], ['a', 'c'])).toBe(false);
  });
});
