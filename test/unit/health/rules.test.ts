import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  assess,
  notReadyContainer,
  podFailures,
  podProblems,
  podWarnings,
  READINESS_RULES,
  ruleFor,
  type Assessment,
  type Related,
  type RuleOptions,
} from '../../../src/health/rules.js';
import type { KubeObject } from '../../../src/resources/object.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function load<T>(file: string): T {
  return parse(fs.readFileSync(path.join(here, 'testdata', file), 'utf8')) as T;
}

interface RuleCase {
  name: string;
  object: KubeObject;
  related?: Related;
  options?: RuleOptions;
  expect: Partial<Assessment>;
}

const cases = load<RuleCase[]>('rules.yaml');
const pods = load<KubeObject[]>('pods.yaml');
const pod = (name: string): KubeObject => {
  const p = pods.find((x) => x.metadata.name === name);
  if (!p) throw new Error(`no pod ${name} in testdata`);
  return p;
};

describe('readiness rules', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = assess(c.object, c.related ?? {}, c.options ?? {});
    expect(a).toMatchObject(c.expect);
  });

  it('covers every kind the design names, in one table', () => {
    const kinds = READINESS_RULES.map((r) => `${r.group}/${r.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'apps/Deployment',
        'apps/StatefulSet',
        'apps/DaemonSet',
        'apps/ReplicaSet',
        'batch/Job',
        '/Pod',
        '/PersistentVolumeClaim',
        'apiextensions.k8s.io/CustomResourceDefinition',
        '/Service',
        'apiregistration.k8s.io/APIService',
      ]),
    );
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const r of READINESS_RULES) expect(r.ready.length).toBeGreaterThan(0);
    expect(ruleFor('apps', 'Deployment')?.fails).toMatch(/ProgressDeadlineExceeded/);
    expect(ruleFor('example.com', 'Widget')).toBeUndefined();
  });

  it('dispatches on the group: a custom Deployment kind gets the generic rule', () => {
    const custom: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Deployment',
      metadata: { name: 'x', generation: 1 },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    };
    expect(assess(custom)).toEqual({ state: 'ready', message: 'Ready' });
  });

  it('keeps the two-argument call the apply stage uses', () => {
    const crd = cases.find((c) => c.name === 'CRD established')!.object;
    expect(assess(crd, {}).state).toBe('ready');
  });
});

describe('pod failures', () => {
  it('reports image pull back-off with pod, container and kubelet message', () => {
    expect(podFailures([pod('api-5f6b-pull')])).toEqual([
      {
        pod: 'api-5f6b-pull',
        namespace: 'web',
        uid: 'uid-pull',
        container: 'api',
        reason: 'ImagePullBackOff',
        message: 'Back-off pulling image "registry.local/api:fail-pull"',
        restartCount: 0,
        scope: 'container',
      },
    ]);
  });

  it('reports a crash loop with its restart count and last exit', () => {
    expect(podFailures([pod('api-5f6b-crash')])).toEqual([
      expect.objectContaining({
        container: 'api',
        reason: 'CrashLoopBackOff',
        restartCount: 4,
        lastExit: 'Error, exit code 1',
      }),
    ]);
  });

  it('reports init containers as such', () => {
    expect(podFailures([pod('worker-init')])).toEqual([
      expect.objectContaining({
        container: 'migrate',
        initContainer: true,
        reason: 'CreateContainerConfigError',
        message: 'secret "db-credentials" not found',
      }),
    ]);
  });

  it('reports a failed pod with its reason', () => {
    expect(podFailures([pod('api-7d9c-evicted')])).toEqual([
      expect.objectContaining({ pod: 'api-7d9c-evicted', reason: 'Evicted', scope: 'pod' }),
    ]);
  });

  it('keeps Unschedulable out of failures and in warnings', () => {
    expect(podFailures([pod('big-0')])).toEqual([]);
    expect(podWarnings([pod('big-0')])).toEqual([
      expect.objectContaining({ pod: 'big-0', reason: 'Unschedulable', scope: 'scheduling' }),
    ]);
  });

  it('ignores normal start-up, completed and terminating pods', () => {
    expect(podProblems([pod('creating'), pod('done'), pod('going')])).toEqual([]);
  });

  it('handles each of the known waiting reasons', () => {
    const reasons = [
      'ImagePullBackOff',
      'ErrImagePull',
      'InvalidImageName',
      'CrashLoopBackOff',
      'CreateContainerConfigError',
      'CreateContainerError',
      'RunContainerError',
    ];
    const list: KubeObject[] = reasons.map((reason, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: 'n', uid: `u${i}` },
      status: {
        phase: 'Pending',
        containerStatuses: [{ name: 'c', state: { waiting: { reason, message: 'm' } } }],
      },
    }));
    expect(podFailures(list).map((f) => f.reason)).toEqual(reasons);
  });

  it('finds the first not-ready container for timeout diagnostics', () => {
    const running: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'n' },
      status: {
        phase: 'Running',
        initContainerStatuses: [
          { name: 'init', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
        containerStatuses: [
          { name: 'ok', ready: true, state: { running: {} } },
          { name: 'app', ready: false, state: { running: {} } },
        ],
      },
    };
    expect(notReadyContainer(running)).toEqual({
      container: 'app',
      initContainer: false,
      reason: 'NotReady',
      message: 'running but not ready (readiness probe not passing)',
    });
    expect(notReadyContainer(pod('api-5f6b-pull'))).toMatchObject({
      container: 'api',
      reason: 'ImagePullBackOff',
    });
  });
});
