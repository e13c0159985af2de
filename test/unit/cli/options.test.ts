import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { clusterOptionsFrom } from '../../../src/cli/options.js';

describe('clusterOptionsFrom', () => {
  it('takes the kubeconfig, the context and the request timeout, leaving out what was not given', () => {
    expect(clusterOptionsFrom({})).toEqual({});
    expect(clusterOptionsFrom({ kubeconfig: 'k', context: 'c', requestTimeout: '2s' })).toEqual({
      kubeconfig: 'k',
      context: 'c',
      requestTimeoutMs: 2000,
    });
  });

  it.each([
    ['soon', /--request-timeout "soon" is not a duration/],
    ['0s', /--request-timeout "0s" is too short for any API request/],
    ['50ms', /too short/],
  ])('refuses --request-timeout %s as a usage error', (value, says) => {
    let caught: unknown;
    try {
      clusterOptionsFrom({ requestTimeout: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NopeaError);
    expect((caught as NopeaError).kind).toBe('input');
    expect((caught as NopeaError).message).toMatch(says);
  });
});
