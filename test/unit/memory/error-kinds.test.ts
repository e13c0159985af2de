import { describe, expect, it } from 'vitest';
import { ERROR_KINDS } from '../../../src/errors.js';
import { errorKindOfReason, errorKindsOf, REASON_ERROR_KINDS } from '../../../src/memory/error-kinds.js';
import { MEMORY_ERROR_KINDS } from '../../../src/memory/types.js';

describe('errorKindsOf', () => {
  it.each([
    ['ErrImagePull', 'ImagePullBackOff'],
    ['ImagePullBackOff', 'ImagePullBackOff'],
    ['InvalidImageName', 'ImagePullBackOff'],
    ['ErrImageNeverPull', 'ImagePullBackOff'],
    ['CrashLoopBackOff', 'CrashLoopBackOff'],
    ['RunContainerError', 'CrashLoopBackOff'],
    ['CreateContainerConfigError', 'CrashLoopBackOff'],
    ['ProgressDeadlineExceeded', 'ProgressDeadlineExceeded'],
    ['BackoffLimitExceeded', 'JobFailed'],
    ['DeadlineExceeded', 'JobFailed'],
    ['JobFailed', 'JobFailed'],
    ['HealthTimeout', 'HealthTimeout'],
    ['Conflict', 'ApplyConflict'],
    ['Immutable', 'ImmutableField'],
    ['Forbidden', 'Forbidden'],
    ['Unauthorized', 'Forbidden'],
    ['Invalid', 'ApplyRejected'],
    ['RolloutFailed', 'RolloutFailed'],
    ['RolledBack', 'RolledBack'],
  ])('maps the reason %s to %s', (reason, kind) => {
    expect(errorKindsOf({ kind: 'deploy', reasons: [reason] }, 'failed')).toEqual([kind]);
  });

  it('maps every reason of the table into the vocabulary', () => {
    for (const kind of Object.values(REASON_ERROR_KINDS)) expect(MEMORY_ERROR_KINDS).toContain(kind);
  });

  it('deduplicates and keeps the vocabulary order, whatever order the reasons came in', () => {
    const reasons = [
      'HealthTimeout',
      'ImagePullBackOff',
      'ErrImagePull',
      'CrashLoopBackOff',
      'ImagePullBackOff',
    ];
    const expected = ['ImagePullBackOff', 'CrashLoopBackOff', 'HealthTimeout'];
    expect(errorKindsOf({ kind: 'deploy', reasons }, 'failed')).toEqual(expected);
    expect(errorKindsOf({ kind: 'deploy', reasons: [...reasons].reverse() }, 'failed')).toEqual(expected);
  });

  it('a rollback is RolledBack besides its causes', () => {
    expect(errorKindsOf({ kind: 'deploy', reasons: ['CrashLoopBackOff'] }, 'rolled-back')).toEqual([
      'CrashLoopBackOff',
      'RolledBack',
    ]);
    expect(errorKindsOf(undefined, 'rolled-back')).toEqual(['RolledBack']);
  });

  it('a failure with no known reason is Other, whatever its error kind', () => {
    for (const kind of ERROR_KINDS.filter((k) => k !== 'cancelled')) {
      expect(errorKindsOf({ kind }, 'failed')).toEqual(['Other']);
    }
    expect(errorKindsOf({ kind: 'deploy', reasons: ['SomethingNew'] }, 'failed')).toEqual(['Other']);
    expect(errorKindsOf({ kind: 'deploy', reasons: ['SomethingNew', 'Conflict'] }, 'failed')).toEqual([
      'ApplyConflict',
    ]);
    expect(errorKindsOf(undefined, 'failed')).toEqual(['Other']);
  });

  it('a success or a cancellation has none', () => {
    expect(errorKindsOf(undefined, 'succeeded')).toEqual([]);
    expect(errorKindsOf({ kind: 'deploy', reasons: ['CrashLoopBackOff'] }, 'succeeded')).toEqual([]);
    expect(errorKindsOf({ kind: 'cancelled' }, 'cancelled')).toEqual([]);
    expect(errorKindsOf({ kind: 'cancelled', reasons: ['HealthTimeout'] }, 'failed')).toEqual([]);
  });

  it('does not take inherited object keys for reasons', () => {
    expect(errorKindOfReason('constructor')).toBeUndefined();
    expect(errorKindOfReason('toString')).toBeUndefined();
    expect(errorKindsOf({ kind: 'deploy', reasons: ['__proto__'] }, 'failed')).toEqual(['Other']);
  });
});
