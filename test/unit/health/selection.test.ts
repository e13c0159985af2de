import { describe, expect, it } from 'vitest';
import { countedPods, selectorString } from '../../../src/health/wait.js';
import type { KubeObject } from '../../../src/resources/object.js';

describe('selectorString', () => {
  it('joins matchLabels and matchExpressions in label-selector syntax', () => {
    expect(
      selectorString({
        matchLabels: { app: 'api', tier: 'web' },
        matchExpressions: [
          { key: 'track', operator: 'In', values: ['stable', 'canary'] },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'NotIn', values: ['a'] },
          { key: 'team', operator: 'Exists' },
        ],
      }),
    ).toBe('app=api,tier=web,track in (stable,canary),!legacy,zone notin (a),team');
  });

  it('handles expression-only selectors', () => {
    expect(selectorString({ matchExpressions: [{ key: 'app', operator: 'In', values: ['api'] }] })).toBe(
      'app in (api)',
    );
  });

  it('gives up on nothing to select or an unknown operator', () => {
    expect(selectorString(undefined)).toBeUndefined();
    expect(selectorString({})).toBeUndefined();
    expect(
      selectorString({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }),
    ).toBeUndefined();
  });
});

function podOf(name: string, ownerUid: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels,
      ownerReferences: [{ kind: 'X', name: 'owner', uid: ownerUid, controller: true }],
    },
  };
}

describe('countedPods', () => {
  it('counts only the pods of a Deployment’s newest ReplicaSet', () => {
    const dep: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', uid: 'd-1', annotations: { 'deployment.kubernetes.io/revision': '2' } },
    };
    const rs = (uid: string, revision: string, owner = 'd-1'): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `api-${uid}`,
        uid,
        annotations: { 'deployment.kubernetes.io/revision': revision },
        ownerReferences: [{ kind: 'Deployment', name: 'api', uid: owner, controller: true }],
      },
    });
    const pods = [podOf('old', 'rs-1'), podOf('new', 'rs-2'), podOf('foreign', 'rs-9')];
    const replicaSets = [rs('rs-1', '1'), rs('rs-2', '2'), rs('rs-9', '2', 'other-deployment')];
    expect(countedPods(dep, pods, replicaSets).map((p) => p.metadata.name)).toEqual(['new']);
    // Before the controller created the new ReplicaSet no pod counts.
    expect(countedPods(dep, pods, [rs('rs-1', '1')])).toEqual([]);
  });

  it('counts no pods while the controller has not observed the current spec', () => {
    const dep: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        uid: 'd-1',
        generation: 3,
        annotations: { 'deployment.kubernetes.io/revision': '2' },
      },
      status: { observedGeneration: 2 },
    };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'api-old',
        uid: 'rs-2',
        annotations: { 'deployment.kubernetes.io/revision': '2' },
        ownerReferences: [{ kind: 'Deployment', name: 'api', uid: 'd-1', controller: true }],
      },
    };
    // The previous rollout's crash-looping pod must not fail the new one.
    expect(countedPods(dep, [podOf('crashing', 'rs-2')], [rs])).toEqual([]);
  });

  it('counts a StatefulSet’s pods of the update revision', () => {
    const sts: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', uid: 's-1' },
      status: { updateRevision: 'db-2' },
    };
    const pods = [
      podOf('db-0', 's-1', { 'controller-revision-hash': 'db-1' }),
      podOf('db-1', 's-1', { 'controller-revision-hash': 'db-2' }),
    ];
    expect(countedPods(sts, pods).map((p) => p.metadata.name)).toEqual(['db-1']);
  });

  it('counts a DaemonSet’s pods of the current template generation', () => {
    const ds: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', uid: 'ds-1', generation: 3 },
    };
    const pods = [
      podOf('a', 'ds-1', { 'pod-template-generation': '2' }),
      podOf('b', 'ds-1', { 'pod-template-generation': '3' }),
    ];
    expect(countedPods(ds, pods).map((p) => p.metadata.name)).toEqual(['b']);
  });

  it('counts the pods a Job or ReplicaSet controls', () => {
    const job: KubeObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'm', uid: 'j-1' } };
    expect(countedPods(job, [podOf('m-1', 'j-1'), podOf('x', 'j-2')]).map((p) => p.metadata.name)).toEqual([
      'm-1',
    ]);
  });
});
