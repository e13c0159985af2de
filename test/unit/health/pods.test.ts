import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canFail } from '../../../src/health/decide.js';
import { notReadyContainer, podProblems } from '../../../src/health/pods.js';
import type { KubeObject } from '../../../src/resources/object.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pods = parse(fs.readFileSync(path.join(here, 'testdata', 'pods.yaml'), 'utf8')) as KubeObject[];
const pod = (name: string): KubeObject => {
  const p = pods.find((x) => x.metadata.name === name);
  if (!p) throw new Error(`no pod ${name} in testdata`);
  return p;
};

/** The StatefulSet big-0 belongs to: whether a problem fails the wait depends on the target. */
const STATEFUL_SET = 'apps/StatefulSet/web/big';

describe('pod failures', () => {
  it('reports image pull back-off with pod, container and kubelet message', () => {
    expect(podProblems([pod('api-5f6b-pull')])).toEqual([
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
    expect(podProblems([pod('api-5f6b-crash')])).toEqual([
      expect.objectContaining({
        container: 'api',
        reason: 'CrashLoopBackOff',
        restartCount: 4,
        lastExit: 'Error, exit code 1',
      }),
    ]);
  });

  it('reports init containers as such', () => {
    expect(podProblems([pod('worker-init')])).toEqual([
      expect.objectContaining({
        container: 'migrate',
        initContainer: true,
        reason: 'CreateContainerConfigError',
        message: 'secret "db-credentials" not found',
      }),
    ]);
  });

  it('reports a failed pod with its reason', () => {
    expect(podProblems([pod('api-7d9c-evicted')])).toEqual([
      expect.objectContaining({ pod: 'api-7d9c-evicted', reason: 'Evicted', scope: 'pod' }),
    ]);
  });

  it('keeps Unschedulable out of failures and in warnings', () => {
    const problems = podProblems([pod('big-0')]);
    expect(problems.filter((f) => canFail(f, STATEFUL_SET))).toEqual([]);
    expect(problems.filter((f) => !canFail(f, STATEFUL_SET))).toEqual([
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
    expect(podProblems(list).map((f) => f.reason)).toEqual(reasons);
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
