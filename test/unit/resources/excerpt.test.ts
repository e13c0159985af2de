import { describe, expect, it } from 'vitest';
import { EXCERPT_CHARS, excerpt, maskCredentials } from '../../../src/resources/excerpt.js';

describe('maskCredentials', () => {
  it.each([
    ['extraheader = AUTHORIZATION: basic eC1hY2Nlc3M6Z2hz', 'extraheader = AUTHORIZATION: ***'],
    ['"basic eC1hY2Nlc3MtdG9rZW46Z2hz"', '"basic ***"'],
    ['Authorization: Bearer abc.def.ghi-jkl', 'Authorization: ***'],
    ['header bearer abcdefghijkl', 'header bearer ***'],
    ['token: s3cr3t-value', 'token: ***'],
    ['GITHUB_TOKEN=ghs_x password="hunter22" api_key: k', 'GITHUB_TOKEN=*** password="***" api_key: ***'],
    ['https://x-access-token:ghs_abc@github.com/org/repo', 'https://***@github.com/org/repo'],
    [`clone ghp_${'a1B2'.repeat(9)} now`, 'clone *** now'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig', 'jwt ***'],
    [`blob ${'Zm9vYmFyQmF6MTIz'.repeat(3)}==`, 'blob ***'],
  ])('masks %s', (text, masked) => {
    expect(maskCredentials(text)).toBe(masked);
  });

  it('leaves ordinary manifest text alone', () => {
    for (const text of [
      'Nested mappings are not allowed in compact mappings',
      'image: registry.example.com/app@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
      'apiVersion: apps/v1 kind: Deployment name: web-frontend',
    ]) {
      expect(maskCredentials(text)).toBe(text);
    }
  });
});

describe('excerpt', () => {
  it('keeps the first line, at most EXCERPT_CHARS characters, marking what it left out', () => {
    expect(excerpt('short')).toBe('short');
    expect(excerpt('first\nsecond')).toBe('first…');
    expect(excerpt('first\n\n')).toBe('first');
    const long = excerpt('y'.repeat(500));
    expect(Array.from(long)).toHaveLength(EXCERPT_CHARS);
    expect(long.endsWith('…')).toBe(true);
    expect(excerpt('ab'.repeat(10), 5)).toBe('abab…');
  });

  it('masks before it cuts, so no prefix of a secret survives the cut', () => {
    expect(excerpt(`${'x'.repeat(60)} token: abcdefghijklmnopqrstuvwxyz`, 75)).toBe(
      `${'x'.repeat(60)} token: ***`,
    );
  });
});
