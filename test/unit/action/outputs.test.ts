import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  diffOutputs,
  errorOutputs,
  failureMessage,
  moveOutputs,
  planCounts,
  syncOutputs,
} from '../../../src/action/outputs.js';
import { entry, plan, moved, synced, waitingRollout } from './fixtures.js';

describe('syncOutputs', () => {
  it('reports what a successful sync did', () => {
    expect(syncOutputs({ services: [synced()] })).toEqual({
      outputs: {
        'deploy-id': '01JDEPLOY0000000000000000A',
        status: 'succeeded',
        changed: 'true',
        created: '1',
        updated: '2',
        pruned: '0',
        drifted: '1',
        'rollout-phase': '',
        'rollout-step': '',
        'rollout-weight': '',
      },
      exitCode: 0,
    });
  });

  it('says unchanged when the sync wrote nothing', () => {
    const s = synced({
      plan: plan('web', [entry('d', 'unchanged')]),
      objects: [{ id: '/ConfigMap/web/d', action: 'unchanged' }],
    });
    const { outputs } = syncOutputs({ services: [s] });
    expect(outputs.changed).toBe('false');
    expect(outputs['deploy-id']).toBe(s.deployId);
  });

  it('reports what a dry run would do, without a deploy id', () => {
    const p = plan('web', [entry('a', 'create'), entry('p', 'prune'), entry('q', 'prune')]);
    const s = synced({
      outcome: 'dry-run',
      plan: p,
      objects: [],
      kept: [{ id: '/ConfigMap/web/q', reason: 'prune is off' }],
      stateCommit: undefined,
      health: undefined,
    });
    expect(syncOutputs({ services: [s] })).toEqual({
      outputs: {
        'deploy-id': '',
        status: 'dry-run',
        changed: 'true',
        created: '1',
        updated: '0',
        pruned: '1',
        drifted: '0',
        'rollout-phase': '',
        'rollout-step': '',
        'rollout-weight': '',
      },
      exitCode: 0,
    });
  });

  it('tells a refusal (exit 2) from a failure (exit 1)', () => {
    const refused = synced({
      outcome: 'failed',
      objects: [],
      stateCommit: undefined,
      health: undefined,
      error: new NopeaError('guard', 'would prune 12 objects'),
    });
    expect(syncOutputs({ services: [refused] })).toMatchObject({
      outputs: { status: 'refused', 'deploy-id': '', changed: 'false', created: '0' },
      exitCode: 2,
    });
    const invalid = { ...refused, error: new NopeaError('input', 'bad manifest') };
    expect(syncOutputs({ services: [invalid] }).outputs.status).toBe('invalid');

    const failed = synced({ outcome: 'failed', error: new NopeaError('deploy', 'not healthy') });
    expect(syncOutputs({ services: [failed] })).toMatchObject({
      outputs: { status: 'failed', 'deploy-id': failed.deployId },
      exitCode: 1,
    });
    // A failure wins over a refusal in a run of several services.
    const both = syncOutputs({ services: [refused, { ...failed, deployId: 'B' }] });
    expect(both.exitCode).toBe(1);
    expect(both.outputs.status).toBe('failed');
    expect(both.outputs['deploy-id']).toBe('B');
  });

  it('joins the deploy ids of several services and sums their counts', () => {
    const a = synced({ service: 'a', deployId: 'A' });
    const b = synced({ service: 'b', deployId: 'B' });
    const { outputs } = syncOutputs({ services: [a, b] });
    expect(outputs['deploy-id']).toBe('A,B');
    expect(outputs.created).toBe('2');
    expect(outputs.updated).toBe('4');
  });

  it('reports a cancelled sync', () => {
    const s = synced({
      outcome: 'cancelled',
      error: new NopeaError('cancelled', 'sync cancelled by a signal'),
    });
    expect(syncOutputs({ services: [s] })).toMatchObject({ outputs: { status: 'cancelled' }, exitCode: 1 });
  });
});

describe('progressive rollouts', () => {
  const rollout = waitingRollout();

  it('reports a sync paused at a gate as exit 4 with where the rollout stands', () => {
    const { outputs, exitCode } = syncOutputs({ services: [synced({ outcome: 'paused', rollout })] });
    expect(exitCode).toBe(4);
    expect(outputs).toMatchObject({
      status: 'paused',
      'rollout-phase': 'Progressing',
      'rollout-step': '1',
      'rollout-weight': '50',
    });
  });

  it('tells a promote that waits at the next gate, one that completed, and a rollback', () => {
    const base = moved('promote', rollout);
    expect(moveOutputs({ ...base, outcome: 'paused' })).toMatchObject({
      outputs: { status: 'paused', 'deploy-id': 'D1', 'rollout-weight': '50' },
      exitCode: 4,
    });
    expect(moveOutputs({ ...base, outcome: 'succeeded' }).exitCode).toBe(0);
    expect(moveOutputs({ ...moved('rollback', rollout), outcome: 'rolled-back' })).toMatchObject({
      outputs: { status: 'succeeded' },
      exitCode: 0,
    });
    // A promote whose analysis failed was rolled back: the promote failed.
    expect(moveOutputs({ ...base, outcome: 'rolled-back' })).toMatchObject({
      outputs: { status: 'rolled-back' },
      exitCode: 1,
    });
  });
});

describe('diffOutputs', () => {
  it('counts what a sync would do over every plan', () => {
    const p1 = plan('a', [
      entry('x', 'create'),
      entry('y', 'conflict'),
      entry('z', 'prune', { pruneDisabled: true }),
    ]);
    const p2 = plan('b', [entry('u', 'unchanged'), entry('v', 'drift'), entry('w', 'prune')]);
    expect(planCounts(p1)).toEqual({ created: 1, updated: 1, pruned: 0, drifted: 1 });
    expect(diffOutputs({ plans: [p1, p2] })).toEqual({
      outputs: {
        'deploy-id': '',
        status: 'planned',
        changed: 'true',
        created: '1',
        updated: '2',
        pruned: '1',
        drifted: '2',
        'rollout-phase': '',
        'rollout-step': '',
        'rollout-weight': '',
      },
      exitCode: 0,
    });
  });

  it('says unchanged when nothing is pending', () => {
    expect(diffOutputs({ plans: [plan('a', [entry('u', 'unchanged')])] }).outputs.changed).toBe('false');
  });
});

describe('errorOutputs', () => {
  it('maps error kinds to status and exit code', () => {
    expect(errorOutputs(new NopeaError('input', 'x'))).toMatchObject({
      outputs: { status: 'invalid' },
      exitCode: 2,
    });
    expect(errorOutputs(new NopeaError('guard', 'x'))).toMatchObject({
      outputs: { status: 'refused' },
      exitCode: 2,
    });
    expect(errorOutputs(new NopeaError('cluster', 'x'))).toMatchObject({
      outputs: { status: 'failed' },
      exitCode: 1,
    });
    expect(errorOutputs(new NopeaError('cancelled', 'x'))).toMatchObject({
      outputs: { status: 'cancelled' },
      exitCode: 1,
    });
    expect(errorOutputs(new Error('boom'))).toMatchObject({ outputs: { status: 'failed' }, exitCode: 1 });
  });
});

describe('failureMessage', () => {
  it('names the exit-2 meaning', () => {
    expect(failureMessage('sync', 'invalid', new NopeaError('input', 'a.yaml:3: bad\nmore'))).toBe(
      'nopea sync invalid input or configuration; nothing was changed: a.yaml:3: bad',
    );
    expect(failureMessage('diff', 'failed')).toBe('nopea diff failed');
  });
});
