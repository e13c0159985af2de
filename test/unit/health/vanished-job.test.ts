import { describe, expect, it } from 'vitest';
import { assessVanishedJob, type VanishedJob } from '../../../src/health/kinds/job.js';
import type { KubeObject } from '../../../src/resources/object.js';

function completedEvent(extra: Record<string, unknown> = {}, about: Record<string, unknown> = {}): unknown {
  return {
    reason: 'Completed',
    message: 'Job completed',
    type: 'Normal',
    source: { component: 'job-controller' },
    involvedObject: { kind: 'Job', namespace: 'web', name: 'migrate', uid: 'uid-now', ...about },
    ...extra,
  };
}

function job(conditions: { type: string; status: string }[]): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', namespace: 'web', uid: 'uid-now' },
    status: { conditions },
  };
}

const gone = (over: Partial<VanishedJob>): VanishedJob => ({
  namespace: 'web',
  name: 'migrate',
  events: [],
  ...over,
});

describe('assessVanishedJob', () => {
  it('is ready when the job controller recorded Completed for the uid this sync applied', () => {
    expect(assessVanishedJob(gone({ uid: 'uid-now', events: [completedEvent()] }))).toEqual({
      state: 'ready',
      reason: 'DeletedAfterCompletion',
      message: 'completed, then deleted',
    });
  });

  it('reads events.k8s.io/v1 events too', () => {
    const e = {
      reason: 'Completed',
      note: 'Job completed',
      reportingController: 'job-controller',
      regarding: { kind: 'Job', namespace: 'web', name: 'migrate', uid: 'uid-now' },
    };
    expect(assessVanishedJob(gone({ uid: 'uid-now', events: [e] })).state).toBe('ready');
  });

  it('does not count the Completed event of an earlier Job of the same name', () => {
    const a = assessVanishedJob(
      gone({ uid: 'uid-now', events: [completedEvent({}, { uid: 'uid-before' })] }),
    );
    expect(a).toEqual({ state: 'progressing', reason: 'NotFound', message: 'not found' });
  });

  it('matches by name when the uid is not known', () => {
    expect(assessVanishedJob(gone({ events: [completedEvent({}, { uid: 'any' })] })).state).toBe('ready');
    expect(assessVanishedJob(gone({ events: [completedEvent({}, { name: 'other' })] })).state).toBe(
      'progressing',
    );
  });

  it('needs the job controller’s Completed, not another reason or reporter', () => {
    const events = [
      completedEvent({ reason: 'SuccessfulCreate' }),
      completedEvent({ source: { component: 'someone-else' } }),
      completedEvent({}, { kind: 'CronJob' }),
      'not an event',
    ];
    expect(assessVanishedJob(gone({ uid: 'uid-now', events })).state).toBe('progressing');
  });

  it('is ready when the last poll saw it complete or meet its success criteria', () => {
    for (const type of ['Complete', 'SuccessCriteriaMet']) {
      const lastSeen = job([{ type, status: 'True' }]);
      expect(assessVanishedJob(gone({ uid: 'uid-now', lastSeen })).state, type).toBe('ready');
    }
  });

  it('stays not found when it was last seen running and left no Completed event', () => {
    const lastSeen = job([]);
    expect(assessVanishedJob(gone({ uid: 'uid-now', lastSeen }))).toEqual({
      state: 'progressing',
      reason: 'NotFound',
      message: 'not found',
    });
  });
});
