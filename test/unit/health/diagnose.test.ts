import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ObjectHealth } from '../../../src/health/decide.js';
import {
  formatDiagnosis,
  planDiagnosis,
  summarizeEvents,
  type Diagnosis,
} from '../../../src/health/diagnose.js';
import { podProblems } from '../../../src/health/pods.js';
import type { KubeObject } from '../../../src/resources/object.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pods = parse(fs.readFileSync(path.join(here, 'testdata', 'pods.yaml'), 'utf8')) as KubeObject[];
const pod = (name: string): KubeObject => pods.find((p) => p.metadata.name === name)!;

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'web', uid: 'd-1' },
};
const replicaSet: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'api-5f6b', namespace: 'web', uid: 'rs-new' },
};
const ref = { group: 'apps', kind: 'Deployment', namespace: 'web', name: 'api' };

describe('events', () => {
  const events = [
    {
      involvedObject: { kind: 'Pod', name: 'api-x', uid: 'uid-1' },
      type: 'Warning',
      reason: 'Failed',
      message: 'Error: ImagePullBackOff',
      count: 7,
      lastTimestamp: '2026-05-01T10:03:00Z',
    },
    {
      involvedObject: { kind: 'Pod', name: 'api-x', uid: 'uid-1' },
      type: 'Normal',
      reason: 'Scheduled',
      message: 'Successfully assigned web/api-x to node-1',
      eventTime: '2026-05-01T10:00:00.000000Z',
      metadata: { creationTimestamp: '2026-05-01T10:00:00Z' },
    },
    {
      involvedObject: { kind: 'Pod', name: 'api-x', uid: 'uid-OLD' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'from an earlier pod of the same name',
      lastTimestamp: '2026-05-01T10:04:00Z',
    },
    {
      regarding: { kind: 'Pod', name: 'api-x', uid: 'uid-1' },
      type: 'Normal',
      reason: 'Pulling',
      note: 'Pulling image "x:fail-pull"',
      series: { count: 3, lastObservedTime: '2026-05-01T10:02:00.000000Z' },
    },
  ];

  it('keeps the object’s own events, newest last, in both API shapes', () => {
    expect(summarizeEvents(events, 'uid-1')).toEqual([
      {
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned web/api-x to node-1',
        count: 1,
        lastTimestamp: '2026-05-01T10:00:00.000000Z',
      },
      {
        type: 'Normal',
        reason: 'Pulling',
        message: 'Pulling image "x:fail-pull"',
        count: 3,
        lastTimestamp: '2026-05-01T10:02:00.000000Z',
      },
      {
        type: 'Warning',
        reason: 'Failed',
        message: 'Error: ImagePullBackOff',
        count: 7,
        lastTimestamp: '2026-05-01T10:03:00Z',
      },
    ]);
  });

  it('orders events within one second by write order, whatever their timestamp precision', () => {
    const sameSecond = [
      {
        type: 'Warning',
        reason: 'Failed',
        message: 'Error: ImagePullBackOff',
        lastTimestamp: '2026-05-01T10:00:36Z',
        metadata: { resourceVersion: '1207' },
      },
      {
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned',
        eventTime: '2026-05-01T10:00:36.144758Z',
        metadata: { resourceVersion: '1199' },
      },
    ];
    expect(summarizeEvents(sameSecond).map((e) => e.reason)).toEqual(['Scheduled', 'Failed']);
  });

  it('keeps only the last few', () => {
    const many = Array.from({ length: 9 }, (_, i) => ({
      type: 'Normal',
      reason: `R${i}`,
      message: '',
      lastTimestamp: `2026-05-01T10:0${i}:00Z`,
    }));
    expect(summarizeEvents(many.reverse(), undefined, 5).map((e) => e.reason)).toEqual([
      'R4',
      'R5',
      'R6',
      'R7',
      'R8',
    ]);
  });
});

describe('planDiagnosis', () => {
  it('names the failing pod and container, and asks for the pod’s events first', () => {
    const failure = podProblems([pod('api-5f6b-pull')])[0]!;
    const health: ObjectHealth = {
      id: 'apps/Deployment/web/api',
      state: 'failed',
      reason: 'ImagePullBackOff',
      message: 'pod api-5f6b-pull container api: ImagePullBackOff',
      failure,
    };
    const { diagnosis, sources } = planDiagnosis(health, {
      ref,
      object: deployment,
      pods: [pod('api-5f6b-pull')],
      replicaSet,
    });
    expect(diagnosis).toMatchObject({
      id: 'apps/Deployment/web/api',
      state: 'failed',
      pod: 'api-5f6b-pull',
      container: 'api',
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "registry.local/api:fail-pull"',
      warnings: [],
    });
    expect(sources.map((s) => `${s.kind}/${s.name}/${s.uid}`)).toEqual([
      'Pod/api-5f6b-pull/uid-pull',
      'ReplicaSet/api-5f6b/rs-new',
      'Deployment/api/d-1',
    ]);
  });

  it('on timeout, names a not-ready pod and keeps the workload status as context', () => {
    const notReady: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-5f6b-a', namespace: 'web', uid: 'p-1' },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [{ name: 'api', ready: false, restartCount: 0, state: { running: {} } }],
      },
    };
    const health: ObjectHealth = {
      id: 'apps/Deployment/web/api',
      state: 'progressing',
      message: '0/1 replicas available',
    };
    const { diagnosis } = planDiagnosis(health, { ref, object: deployment, pods: [notReady] });
    expect(diagnosis).toMatchObject({
      state: 'progressing',
      pod: 'api-5f6b-a',
      container: 'api',
      reason: 'NotReady',
      warnings: ['Deployment status: 0/1 replicas available'],
    });
  });

  it('on timeout, prefers an unschedulable pod as the explanation', () => {
    const health: ObjectHealth = {
      id: 'apps/StatefulSet/web/big',
      state: 'progressing',
      message: '0/1 replicas ready',
    };
    const { diagnosis } = planDiagnosis(health, {
      ref: { group: 'apps', kind: 'StatefulSet', namespace: 'web', name: 'big' },
      pods: [pod('big-0')],
    });
    expect(diagnosis).toMatchObject({ pod: 'big-0', reason: 'Unschedulable' });
    expect(diagnosis.message).toMatch(/Insufficient cpu/);
  });

  it('keeps an object’s own failure as the headline and asks for its events first', () => {
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'web', uid: 'j-1' },
    };
    const failedPod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'migrate-abc', namespace: 'web', uid: 'p-9' },
      status: { phase: 'Failed', reason: 'Error', message: 'exit 1' },
    };
    const health: ObjectHealth = {
      id: 'batch/Job/web/migrate',
      state: 'failed',
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    };
    const { diagnosis, sources } = planDiagnosis(health, {
      ref: { group: 'batch', kind: 'Job', namespace: 'web', name: 'migrate' },
      object: job,
      pods: [failedPod],
    });
    expect(diagnosis).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
      warnings: ['pod migrate-abc: Error: exit 1'],
    });
    expect(diagnosis.pod).toBeUndefined();
    expect(sources.map((s) => s.kind)).toEqual(['Job', 'Pod']);
  });

  it('diagnoses a missing object from its id alone; cluster-scoped events have no namespace', () => {
    const health: ObjectHealth = {
      id: 'apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com',
      state: 'progressing',
      reason: 'NotFound',
      message: 'not found',
    };
    const { diagnosis, sources } = planDiagnosis(health, {
      ref: {
        group: 'apiextensions.k8s.io',
        kind: 'CustomResourceDefinition',
        namespace: '',
        name: 'widgets.example.com',
      },
      pods: [],
    });
    expect(diagnosis).toMatchObject({ reason: 'NotFound', message: 'not found', events: [] });
    expect(sources).toEqual([
      { kind: 'CustomResourceDefinition', namespace: '', name: 'widgets.example.com' },
    ]);
  });
});

describe('formatDiagnosis', () => {
  it('prints the headline, details, warnings and indented events', () => {
    const d: Diagnosis = {
      id: 'apps/Deployment/web/api',
      state: 'failed',
      reason: 'CrashLoopBackOff',
      message: 'back-off 40s restarting failed container=api',
      pod: 'api-7d9c-xk2',
      container: 'api',
      restartCount: 4,
      lastExit: 'Error, exit code 1',
      warnings: ['pod api-7d9c-zz9: Unschedulable: 0/1 nodes are available'],
      eventsFor: 'Pod api-7d9c-xk2',
      events: [
        {
          type: 'Normal',
          reason: 'Pulled',
          message: 'Container image "api:v2" already present',
          count: 1,
          lastTimestamp: '2026-05-01T10:00:00Z',
        },
        {
          type: 'Warning',
          reason: 'BackOff',
          message: 'Back-off restarting failed container',
          count: 12,
          lastTimestamp: '2026-05-01T10:04:00Z',
        },
      ],
    };
    expect(formatDiagnosis(d)).toBe(
      [
        'apps/Deployment/web/api: pod api-7d9c-xk2 container api: CrashLoopBackOff: back-off 40s restarting failed container=api',
        '  restarts: 4, last exit: Error, exit code 1',
        '  pod api-7d9c-zz9: Unschedulable: 0/1 nodes are available',
        '  events of Pod api-7d9c-xk2:',
        '    2026-05-01T10:00:00Z Normal Pulled: Container image "api:v2" already present',
        '    2026-05-01T10:04:00Z Warning BackOff: Back-off restarting failed container (x12)',
      ].join('\n'),
    );
  });

  it('prints an object-level failure on one line when there is nothing else', () => {
    expect(
      formatDiagnosis({
        id: 'batch/Job/web/migrate',
        state: 'failed',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
        events: [],
        warnings: [],
      }),
    ).toBe('batch/Job/web/migrate: BackoffLimitExceeded: Job has reached the specified backoff limit');
  });

  it('says init container for init containers', () => {
    const text = formatDiagnosis({
      id: '/Pod/web/worker',
      state: 'failed',
      reason: 'CreateContainerConfigError',
      message: 'secret "db" not found',
      pod: 'worker',
      container: 'migrate',
      initContainer: true,
      events: [],
      warnings: [],
    });
    expect(text).toBe(
      '/Pod/web/worker: pod worker init container migrate: CreateContainerConfigError: secret "db" not found',
    );
  });
});
