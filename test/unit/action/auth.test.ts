import { describe, expect, it } from 'vitest';
import { gitAuthHeader, tokenSecrets } from '../../../src/action/auth.js';

describe('gitAuthHeader', () => {
  it('is the basic header actions/checkout uses', () => {
    const header = gitAuthHeader('ghs_token123');
    expect(header).toMatch(/^AUTHORIZATION: basic /);
    const credential = Buffer.from(header.slice('AUTHORIZATION: basic '.length), 'base64').toString();
    expect(credential).toBe('x-access-token:ghs_token123');
  });

  it('masks the token, the header and the encoded credential', () => {
    const header = gitAuthHeader('t0k');
    expect(tokenSecrets('t0k')).toEqual(['t0k', header, header.split(' ')[2]]);
  });
});
