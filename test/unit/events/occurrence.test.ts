import { describe, expect, it } from 'vitest';
import { buildOccurrence } from '../../../src/events/occurrence.js';
import { OccurrenceSchema, type DeployRecord } from '../../../src/state/format.js';

const ID = '01J9Z8Q4W3M6N2P5R7T9V1X3Y5';

function record(extra: Partial<DeployRecord> = {}): DeployRecord {
  return {
    format: 1,
    id: ID,
    service: 'web',
    namespace: 'staging',
    source: { commit: 'abc123' },
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:01:00.000Z',
    strategy: { name: 'direct', reason: 'default', by: 'default' },
    plan: { create: 1, update: 0, drift: 0, conflict: 0, unchanged: 2, prune: 0 },
    objects: [{ id: 'apps/Deployment/staging/web', action: 'created' }],
    stages: [
      { name: 'source', ms: 3 },
      { name: 'plan', ms: 40 },
      { name: 'lock', ms: 5 },
      { name: 'apply', ms: 30 },
      { name: 'wait', ms: 20_000 },
    ],
    outcome: 'succeeded',
    ...extra,
  };
}

const touched = [{ kind: 'Deployment', name: 'web', namespace: 'staging', uid: 'u-1', resourceVersion: '9' }];

describe('buildOccurrence', () => {
  it('describes a completed deploy: the objects touched, the steps and the counts', () => {
    const o = buildOccurrence({ record: record(), touched, problems: [] })!;
    expect(OccurrenceSchema.parse({ ...o })).toEqual(o);
    expect(o).toMatchObject({
      protocol_version: '1.0',
      id: ID,
      source: 'nopea',
      type: 'deploy.run.completed',
      severity: 'info',
      outcome: 'success',
      context: {
        service: 'web',
        namespace: 'staging',
        entities: [{ type: 'Deployment', id: 'u-1', name: 'web', namespace: 'staging', version: '9' }],
      },
      data: { deploy_id: ID, strategy: 'direct', chosen_by: 'default', counts: { created: 1, unchanged: 2 } },
    });
    expect(o.history.steps.map((s) => [s.name, s.status])).toEqual([
      ['plan', 'ok'],
      ['lock', 'ok'],
      ['apply', 'ok'],
      ['wait', 'ok'],
    ]);
    expect(o.error).toBeUndefined();
    expect(o.reasoning).toBeUndefined();
  });

  it('is not written while a rollout waits at a gate', () => {
    expect(buildOccurrence({ record: record({ outcome: 'paused' }), touched, problems: [] })).toBeUndefined();
  });

  it('names what failed, in which step, and the remembered patterns it matched', () => {
    const failed = record({
      outcome: 'failed',
      error: {
        kind: 'deploy',
        message: 'service web failed its health check',
        reasons: ['ImagePullBackOff'],
      },
    });
    const o = buildOccurrence({
      record: failed,
      touched,
      problems: [{ message: 'apps/Deployment/staging/web: pod web-1 container web: ImagePullBackOff' }],
      memory: {
        service: 'web',
        namespace: 'staging',
        asOf: failed.startedAt,
        known: true,
        failurePatterns: [
          {
            errorKind: 'ImagePullBackOff',
            namespace: 'staging',
            confidence: 0.75,
            observations: 2,
            lastSeen: failed.startedAt,
            sameNamespace: true,
          },
          {
            errorKind: 'CrashLoopBackOff',
            namespace: 'staging',
            confidence: 0.4,
            observations: 1,
            lastSeen: failed.startedAt,
            sameNamespace: true,
          },
        ],
        recentOutcomes: ['failed', 'failed'],
        deployedWith: [],
        recommendations: [],
      },
    })!;
    expect(o).toMatchObject({ type: 'deploy.run.failed', severity: 'error', outcome: 'failure' });
    expect(o.history.steps.at(-1)).toMatchObject({
      name: 'wait',
      status: 'failed',
      error: { code: 'ImagePullBackOff' },
    });
    expect(o.error).toMatchObject({ code: 'ImagePullBackOff', what_failed: 'deploy of web (direct)' });
    expect(o.reasoning).toEqual({
      summary: 'web failed — ImagePullBackOff',
      patterns_matched: [{ pattern_name: 'ImagePullBackOff', confidence: 0.75, times_seen: 2 }],
      confidence: 0.75,
    });
  });
});
