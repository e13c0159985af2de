import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, NopeaError } from '../../../src/errors.js';
import {
  errorExitCode,
  errorStatus,
  exitCodeOf,
  serviceStatus,
  syncExitCode,
  syncStatus,
  worstStatus,
} from '../../../src/surface/outcome.js';
import { serviceResult as service } from './fixtures.js';

describe('what an error kind means', () => {
  it('gives every kind a status and an exit code', () => {
    const meanings = Object.fromEntries(
      ERROR_KINDS.map((kind) => {
        const err = new NopeaError(kind, 'x');
        return [kind, [errorStatus(err), errorExitCode(err)]];
      }),
    );
    expect(meanings).toEqual({
      input: ['invalid', 2],
      guard: ['refused', 2],
      cancelled: ['cancelled', 1],
      cluster: ['failed', 1],
      deploy: ['failed', 1],
      state: ['failed', 1],
      internal: ['failed', 1],
    });
  });

  it('treats anything that is not a NopeaError as a failure (a bug), never as a refusal', () => {
    expect(errorStatus(new Error('boom'))).toBe('failed');
    expect(errorExitCode('boom')).toBe(1);
  });
});

describe('what a service result means', () => {
  it('lets a refusal say so whatever the outcome', () => {
    expect(serviceStatus(service({ error: new NopeaError('guard', 'too many prunes') }))).toBe('refused');
    expect(serviceStatus(service({ error: new NopeaError('input', 'bad') }))).toBe('invalid');
  });

  it('follows the outcome otherwise, so a wait failing after a signal is a cancellation', () => {
    const s = service({ outcome: 'cancelled', error: new NopeaError('deploy', 'not healthy') });
    expect(serviceStatus(s)).toBe('cancelled');
    expect(exitCodeOf(serviceStatus(s))).toBe(1);
    expect(serviceStatus(service({ outcome: 'succeeded' }))).toBe('succeeded');
    expect(exitCodeOf(serviceStatus(service({ outcome: 'dry-run' })))).toBe(0);
  });

  it('gives a run the most severe meaning of its services', () => {
    const ok = service({ outcome: 'succeeded' });
    const refused = service({ error: new NopeaError('guard', 'x') });
    const failed = service({ error: new NopeaError('deploy', 'x') });
    expect(syncExitCode({ services: [ok, refused] })).toBe(2);
    expect(syncExitCode({ services: [refused, failed] })).toBe(1);
    expect(syncExitCode({ services: [ok] })).toBe(0);
    expect(syncStatus({ services: [ok, refused, failed] })).toBe('failed');
    expect(worstStatus(['succeeded', 'refused'])).toBe('refused');
    expect(worstStatus(['invalid', 'cancelled'])).toBe('cancelled');
    expect(worstStatus([])).toBe('succeeded');
  });
});
