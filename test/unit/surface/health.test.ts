// The pure parts of `nopea health`: which services it checks, how a Kulta Rollout's phase reads, how
// what the wait saw becomes the answer (missing objects, run-once Jobs, diagnostics), the status and
// exit code, and the text form.
import { describe, expect, it } from 'vitest';
import { healthText } from '../../../src/cli/commands/health.js';
import { NopeaError } from '../../../src/errors.js';
import type { Diagnosis } from '../../../src/health/wait.js';
import type { KubeObject } from '../../../src/resources/object.js';
import type { Inventory, LastApplied } from '../../../src/state/format.js';
import {
  assessRollout,
  healthStatus,
  rolloutSides,
  serviceHealth,
  withSides,
  type ObjectHealthResult,
} from '../../../src/surface/health.js';
import { selectServicesOnBranch } from '../../../src/surface/history.js';
import { exitCodeOf } from '../../../src/surface/outcome.js';
import { HealthRequest, HealthResultJson, OPERATIONS } from '../../../src/surface/api.js';

describe('selectServicesOnBranch', () => {
  it('checks every service on the branch without a name', () => {
    expect(selectServicesOnBranch(['api', 'web'], 'nopea-state')).toEqual(['api', 'web']);
    expect(selectServicesOnBranch([], 'nopea-state')).toEqual([]);
  });

  it('checks the service named', () => {
    expect(selectServicesOnBranch(['api', 'web'], 'nopea-state', 'web')).toEqual(['web']);
  });

  it('refuses an unknown service as input, naming it and the known ones', () => {
    let error: unknown;
    try {
      selectServicesOnBranch(['api', 'web'], 'nopea-state', 'wbe');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NopeaError);
    const e = error as NopeaError;
    expect(e.kind).toBe('input');
    expect(e.problems[0]?.message).toBe('service wbe has no deploys on nopea-state');
    expect(e.problems[0]?.hint).toBe('services on the branch: api, web');
    expect(() => selectServicesOnBranch([], 'b', 'web')).toThrow(/no deploys on b/);
  });

  it('refuses a name that cannot be a service', () => {
    expect(() => selectServicesOnBranch(['web'], 'nopea-state', '../etc')).toThrow(NopeaError);
  });
});

function rollout(
  status: Record<string, unknown> | undefined,
  strategy: 'canary' | 'blue-green' = 'canary',
): KubeObject {
  const spec =
    strategy === 'canary'
      ? {
          canary: {
            steps: [
              { setWeight: 20, pause: { duration: '5s' } },
              { setWeight: 50, pause: {} },
              { setWeight: 100 },
            ],
          },
        }
      : { blueGreen: { activeService: 'web-active', previewService: 'web-preview' } };
  return {
    apiVersion: 'kulta.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web', namespace: 'demo' },
    spec: { replicas: 4, strategy: spec },
    ...(status ? { status } : {}),
  };
}

describe('assessRollout', () => {
  it('is healthy when Completed', () => {
    const a = assessRollout(rollout({ phase: 'Completed', currentStepIndex: -1, currentWeight: 0 }));
    expect(a.state).toBe('ready');
    expect(a.message).toBe('canary Completed (weight 0%)');
  });

  it('is progressing, not failed, at a manual gate', () => {
    const a = assessRollout(
      rollout({
        phase: 'Progressing',
        currentStepIndex: 1,
        currentWeight: 50,
        pauseStartTime: '2026-12-01T10:00:00Z',
      }),
    );
    expect(a).toEqual({
      state: 'progressing',
      reason: 'AtGate',
      message: 'canary waiting at a gate (step 2/3, weight 50%): promote or roll it back',
    });
  });

  it("is progressing at blue-green's preview", () => {
    const a = assessRollout(rollout({ phase: 'Preview' }, 'blue-green'));
    expect(a.state).toBe('progressing');
    expect(a.reason).toBe('AtGate');
    expect(a.message).toContain('blue-green preview, waiting at a gate');
  });

  it('is progressing between steps and before Kulta wrote a phase', () => {
    expect(assessRollout(rollout({ phase: 'Progressing', currentStepIndex: 0, currentWeight: 20 }))).toEqual({
      state: 'progressing',
      reason: 'Progressing',
      message: 'canary phase Progressing (step 1/3, weight 20%)',
    });
    expect(assessRollout(rollout(undefined)).message).toBe('canary phase none yet');
  });

  it('fails on Failed, with Kulta message', () => {
    const a = assessRollout(
      rollout({ phase: 'Failed', currentStepIndex: 1, currentWeight: 50, message: 'error-rate above 5' }),
    );
    expect(a).toEqual({
      state: 'failed',
      reason: 'RolloutFailed',
      message: 'canary phase Failed (step 2/3, weight 50%): error-rate above 5',
    });
  });

  it("is healthy in nopea's rolled-back rest: stable holds every replica", () => {
    const a = assessRollout(rollout({ phase: 'Failed', currentStepIndex: -1, currentWeight: 0 }));
    expect(a.state).toBe('ready');
    expect(a.reason).toBe('RolledBack');
  });
});

const NS = 'shop';
const DEPLOY = `apps/Deployment/${NS}/web`;
const CONFIG = `/ConfigMap/${NS}/web-settings`;
const JOB = `batch/Job/${NS}/migrate`;
const ROLLOUT = `kulta.io/Rollout/${NS}/web`;
const WIDGET = `example.com/Widget/${NS}/w`;

function inventory(...ids: string[]): Inventory {
  const apiVersion: Record<string, string> = {
    apps: 'apps/v1',
    '': 'v1',
    batch: 'batch/v1',
    'kulta.io': 'kulta.io/v1alpha1',
    'example.com': 'example.com/v1',
  };
  return {
    format: 1,
    service: 'web',
    namespace: NS,
    objects: ids.map((id) => ({ id, apiVersion: apiVersion[id.split('/')[0]!]! })),
  };
}

const pullFailure: Diagnosis = {
  id: DEPLOY,
  state: 'failed',
  reason: 'ImagePullBackOff',
  message: 'Back-off pulling image "registry.example/web:fail-pull"',
  pod: 'web-5d8f-abcde',
  container: 'web',
  events: [{ type: 'Warning', reason: 'Failed', message: 'Error: ImagePullBackOff', count: 3 }],
  eventsFor: 'Pod web-5d8f-abcde',
  warnings: [],
};

describe('serviceHealth', () => {
  it('is healthy when every object is ready', () => {
    const s = serviceHealth(
      inventory(CONFIG, DEPLOY),
      { lastApplied: new Map() },
      {
        objects: [
          { id: CONFIG, state: 'ready', message: 'applied' },
          { id: DEPLOY, state: 'ready', message: '2/2 replicas available' },
        ],
        failures: [],
      },
      new Map(),
      new Set(),
    );
    expect(s).toEqual({
      service: 'web',
      namespace: NS,
      healthy: true,
      objects: [
        {
          id: CONFIG,
          kind: 'ConfigMap',
          name: 'web-settings',
          namespace: NS,
          state: 'healthy',
          message: 'applied',
        },
        {
          id: DEPLOY,
          kind: 'Deployment',
          name: 'web',
          namespace: NS,
          state: 'healthy',
          message: '2/2 replicas available',
        },
      ],
    });
  });

  it('carries the diagnosis of a failed object, without repeating its id and state', () => {
    const s = serviceHealth(
      inventory(DEPLOY),
      { lastApplied: new Map() },
      {
        objects: [
          { id: DEPLOY, state: 'failed', reason: 'ImagePullBackOff', message: 'pod web: ImagePullBackOff' },
        ],
        failures: [pullFailure],
      },
      new Map(),
      new Set(),
    );
    expect(s.healthy).toBe(false);
    const o = s.objects[0]!;
    expect(o.state).toBe('failed');
    expect(o.reason).toBe('ImagePullBackOff');
    expect(o.diagnostics?.pod).toBe('web-5d8f-abcde');
    expect(o.diagnostics?.events).toHaveLength(1);
    expect(o.diagnostics).not.toHaveProperty('id');
    expect(o.diagnostics).not.toHaveProperty('state');
  });

  it('reports objects gone from the cluster, or of a kind no longer served, as missing', () => {
    const s = serviceHealth(
      inventory(CONFIG, DEPLOY, WIDGET),
      { lastApplied: new Map() },
      {
        objects: [
          { id: CONFIG, state: 'ready', message: 'applied' },
          { id: DEPLOY, state: 'progressing', reason: 'NotFound', message: 'not found' },
        ],
        failures: [],
      },
      new Map(),
      new Set([WIDGET]),
    );
    expect(s.healthy).toBe(false);
    expect(s.objects.map((o) => [o.state, o.reason])).toEqual([
      ['healthy', undefined],
      ['missing', 'NotFound'],
      ['missing', 'NotServed'],
    ]);
    expect(s.objects[2]?.message).toBe('the cluster no longer serves example.com/v1');
  });

  it('takes a run-once Job a deploy saw complete, and that is gone since, as healthy', () => {
    const completed: Partial<LastApplied> = { completedAt: '2026-12-01T10:00:00Z' };
    const s = serviceHealth(
      inventory(JOB),
      { lastApplied: new Map([[JOB, completed as LastApplied]]) },
      {
        objects: [{ id: JOB, state: 'progressing', reason: 'NotFound', message: 'not found' }],
        failures: [],
      },
      new Map(),
      new Set(),
    );
    expect(s.healthy).toBe(true);
    expect(s.objects[0]?.message).toBe('completed at 2026-12-01T10:00:00Z, removed since');
  });

  it('judges a Rollout by its phase, and a gone one as missing', () => {
    const atGate = rollout({
      phase: 'Progressing',
      currentStepIndex: 1,
      currentWeight: 50,
      pauseStartTime: '2026-12-01T10:00:00Z',
    });
    const s = serviceHealth(
      inventory(ROLLOUT),
      { lastApplied: new Map() },
      { objects: [], failures: [] },
      new Map([[ROLLOUT, atGate]]),
      new Set(),
    );
    expect(s.objects[0]).toMatchObject({ kind: 'Rollout', state: 'progressing', reason: 'AtGate' });
    expect(s.healthy).toBe(false);
    const gone = serviceHealth(
      inventory(ROLLOUT),
      { lastApplied: new Map() },
      { objects: [], failures: [] },
      new Map([[ROLLOUT, undefined]]),
      new Set(),
    );
    expect(gone.objects[0]?.state).toBe('missing');
  });

  it('is healthy with an empty inventory', () => {
    const s = serviceHealth(
      inventory(),
      { lastApplied: new Map() },
      { objects: [], failures: [] },
      new Map(),
      new Set(),
    );
    expect(s).toEqual({ service: 'web', namespace: NS, healthy: true, objects: [] });
  });
});

describe("a Rollout's side ReplicaSets", () => {
  it('are named after the Rollout and its strategy', () => {
    expect(rolloutSides(rollout({ phase: 'Completed' }))).toEqual([
      'apps/ReplicaSet/demo/web-stable',
      'apps/ReplicaSet/demo/web-canary',
    ]);
    expect(rolloutSides(rollout({ phase: 'Preview' }, 'blue-green'))).toEqual([
      'apps/ReplicaSet/demo/web-active',
      'apps/ReplicaSet/demo/web-preview',
    ]);
  });

  const atGate: ObjectHealthResult = {
    id: ROLLOUT,
    kind: 'Rollout',
    name: 'web',
    namespace: NS,
    state: 'progressing',
    reason: 'AtGate',
    message: 'canary waiting at a gate (step 1, weight 50%): promote or roll it back',
  };
  const side = (
    name: string,
    state: ObjectHealthResult['state'],
    more: Partial<ObjectHealthResult> = {},
  ) => ({
    id: `apps/ReplicaSet/${NS}/${name}`,
    kind: 'ReplicaSet',
    name,
    namespace: NS,
    state,
    ...more,
  });

  it('leave the Rollout as its phase says when they are healthy or do not exist', () => {
    expect(withSides(atGate, [side('web-stable', 'healthy'), undefined])).toEqual(atGate);
  });

  it('fail the Rollout, at a gate or not, with the pod diagnosis of the side that failed', () => {
    const broken = side('web-canary', 'failed', {
      reason: 'ImagePullBackOff',
      message: 'pod web-canary-x container web: ImagePullBackOff',
      diagnostics: {
        reason: 'ImagePullBackOff',
        message: 'Back-off',
        pod: 'web-canary-x',
        events: [],
        warnings: [],
      },
    });
    const r = withSides(atGate, [side('web-stable', 'healthy'), broken]);
    expect(r).toMatchObject({ id: ROLLOUT, kind: 'Rollout', state: 'failed', reason: 'ImagePullBackOff' });
    expect(r.message).toBe(
      'canary waiting at a gate (step 1, weight 50%): promote or roll it back; ReplicaSet web-canary: pod web-canary-x container web: ImagePullBackOff',
    );
    expect(r.diagnostics?.pod).toBe('web-canary-x');
  });

  it('keep a Completed Rollout progressing while a side is not ready', () => {
    const completed: ObjectHealthResult = { ...atGate, state: 'healthy', message: 'canary Completed' };
    delete completed.reason;
    const r = withSides(completed, [side('web-stable', 'progressing', { message: '3/4 replicas ready' })]);
    expect(r.state).toBe('progressing');
    expect(r.message).toBe('canary Completed; ReplicaSet web-stable: 3/4 replicas ready');
  });

  it('are judged with the Rollout in serviceHealth', () => {
    const completed = rollout({ phase: 'Completed', currentStepIndex: -1, currentWeight: 0 });
    const s = serviceHealth(
      inventory(ROLLOUT),
      { lastApplied: new Map() },
      {
        objects: [
          {
            id: `apps/ReplicaSet/demo/web-stable`,
            state: 'failed',
            reason: 'CrashLoopBackOff',
            message: 'crash',
          },
          {
            id: `apps/ReplicaSet/demo/web-canary`,
            state: 'progressing',
            reason: 'NotFound',
            message: 'not found',
          },
        ],
        failures: [],
      },
      new Map([[ROLLOUT, completed]]),
      new Set(),
    );
    expect(s.objects).toHaveLength(1);
    expect(s.objects[0]).toMatchObject({ kind: 'Rollout', state: 'failed', reason: 'CrashLoopBackOff' });
  });
});

describe('status and exit code', () => {
  it('is succeeded (exit 0) when healthy, failed (exit 1) when not', () => {
    expect(healthStatus({ healthy: true })).toBe('succeeded');
    expect(exitCodeOf(healthStatus({ healthy: true }))).toBe(0);
    expect(healthStatus({ healthy: false })).toBe('failed');
    expect(exitCodeOf(healthStatus({ healthy: false }))).toBe(1);
  });
});

describe('the health operation', () => {
  it('reads only, and takes an optional service and nothing else', () => {
    const op = OPERATIONS.health;
    expect(op.readOnly).toBe(true);
    expect(op.destructive).toBe(false);
    expect(op.idempotent).toBe(true);
    expect(op.writes()).toBe(false);
    expect(HealthRequest.safeParse({}).success).toBe(true);
    expect(HealthRequest.safeParse({ service: 'web' }).success).toBe(true);
    expect(HealthRequest.safeParse({ service: 'web', kubeconfig: '/etc/x' }).success).toBe(false);
    expect(HealthRequest.safeParse({ service: '' }).success).toBe(false);
  });

  it("validates the surface's result", () => {
    const s = serviceHealth(
      inventory(DEPLOY, CONFIG),
      { lastApplied: new Map() },
      {
        objects: [
          { id: DEPLOY, state: 'failed', reason: 'ImagePullBackOff', message: 'pod web: ImagePullBackOff' },
        ],
        failures: [pullFailure],
      },
      new Map(),
      new Set(),
    );
    const parsed = HealthResultJson.safeParse(JSON.parse(JSON.stringify({ services: [s], healthy: false })));
    expect(parsed.success).toBe(true);
  });
});

describe('healthText', () => {
  it('prints a headline per service and a line per object, with the diagnosis of a failed one', () => {
    const s = serviceHealth(
      inventory(CONFIG, DEPLOY, JOB),
      { lastApplied: new Map() },
      {
        objects: [
          { id: CONFIG, state: 'ready', message: 'applied' },
          { id: DEPLOY, state: 'failed', reason: 'ImagePullBackOff', message: 'pod web: ImagePullBackOff' },
        ],
        failures: [pullFailure],
      },
      new Map(),
      new Set(),
    );
    expect(healthText({ services: [s], healthy: false })).toBe(
      [
        'web (shop): NOT HEALTHY (1 healthy, 1 failed, 1 missing)',
        '  healthy     /ConfigMap/shop/web-settings: applied',
        '  failed      apps/Deployment/shop/web: pod web-5d8f-abcde container web: ImagePullBackOff: Back-off pulling image "registry.example/web:fail-pull"',
        '                events of Pod web-5d8f-abcde:',
        '                  Warning Failed: Error: ImagePullBackOff (x3)',
        '  missing     batch/Job/shop/migrate: not found in the cluster',
        '',
      ].join('\n'),
    );
  });

  it('says so when the branch has no services', () => {
    expect(healthText({ services: [], healthy: true })).toBe('no services on the state branch yet\n');
  });
});
