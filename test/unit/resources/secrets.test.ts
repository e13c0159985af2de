import { describe, expect, it } from 'vitest';
import { MASK, maskSecretPair, redactSecret } from '../../../src/resources/secrets.js';
import type { KubeObject } from '../../../src/resources/object.js';

function secret(fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'web' }, ...fields };
}

/** `data`/`stringData` that are not mappings: the API server refuses them, a plan still prints them. */
const MALFORMED: [string, Record<string, unknown>][] = [
  ['data as a string', { data: 'c2VjcmV0LXZhbHVl' }],
  ['stringData as a string', { stringData: 'secret-value' }],
  ['data as a list', { data: ['secret-value', { nested: 'secret-value' }] }],
  ['stringData as a number', { stringData: 123456789 }],
];

describe('maskSecretPair', () => {
  it.each([
    ['kind: secret', { kind: 'secret' }],
    ['apiVersion: core/v1', { apiVersion: 'core/v1' }],
  ])('masks a Secret spelt %s, which only an offline plan shows', (_, spelling) => {
    const s = { ...secret({ stringData: { pw: 'LEAK-value' } }), ...spelling } as KubeObject;
    expect(JSON.stringify(maskSecretPair(undefined, s))).not.toContain('LEAK-value');
    expect(JSON.stringify(redactSecret(s))).not.toContain('LEAK-value');
  });

  it.each(MALFORMED)('masks %s as one value', (_, fields) => {
    const s = secret(fields);
    const out = maskSecretPair(s, undefined);
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/secret-value|c2VjcmV0LXZhbHVl|123456789/);
    const [field] = Object.keys(fields);
    expect(out.before![field!]).toBe(`${MASK} (before)`);
  });

  it('tells equal from differing values when the field is not a mapping', () => {
    const same = maskSecretPair(secret({ data: ['a'] }), secret({ data: ['a'] }));
    expect([same.before!.data, same.after!.data]).toEqual([MASK, MASK]);
    const changed = maskSecretPair(secret({ data: { k: 'YQ==' } }), secret({ data: 'b' }));
    expect([changed.before!.data, changed.after!.data]).toEqual([`${MASK} (before)`, `${MASK} (after)`]);
  });

  it('masks nested values of a mapping whole and compares them by value', () => {
    const s = (v: unknown) => secret({ stringData: { k: v } });
    const out = maskSecretPair(s({ a: ['secret-value'] }), s({ a: ['secret-value'] }));
    expect(JSON.stringify(out)).not.toContain('secret-value');
    expect(out.before!.stringData).toEqual({ k: MASK });
    expect(out.after!.stringData).toEqual({ k: MASK });
  });

  it('does not touch the inputs, and leaves a null field alone', () => {
    const s = secret({ data: 'secret-value', stringData: null });
    const out = maskSecretPair(s, s);
    expect(s.data).toBe('secret-value');
    expect(out.after).toMatchObject({ data: MASK, stringData: null });
  });
});

describe('redactSecret', () => {
  it.each(MALFORMED)('hashes %s for the state branch', (_, fields) => {
    const first = redactSecret(secret(fields), undefined, '');
    expect(JSON.stringify(first)).not.toMatch(/secret-value|c2VjcmV0LXZhbHVl|123456789/);
    const [field] = Object.keys(fields);
    expect(first[field!]).toMatch(/^nopea-hmac:/);
    // The salt is found again, so an unchanged value hashes the same.
    expect(redactSecret(secret(fields), first, '')).toEqual(first);
  });

  it('hashes lists and nested values by content', () => {
    const a = redactSecret(secret({ data: { k: { x: 'one' } } }), undefined, '');
    const b = redactSecret(secret({ data: { k: { x: 'two' } } }), a, '');
    expect((a.data as Record<string, string>).k).not.toBe((b.data as Record<string, string>).k);
  });
});
