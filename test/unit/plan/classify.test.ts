import { describe, expect, it } from 'vitest';
import { planService, type ObservedObject } from '../../../src/plan/classify.js';
import { hasChanges, releasedFromInventory, withPruningOff } from '../../../src/plan/types.js';
import { redactSecret } from '../../../src/resources/secrets.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { deploymentIntent, desiredOf, dryRun, live, nopeaFields } from './fixtures.js';

function observe(intent: KubeObject, extra: Partial<ObservedObject> = {}): ObservedObject {
  return { desired: desiredOf(intent), intent, ...extra };
}

function cluster(o: ObservedObject) {
  return planService({ service: 'web', mode: 'cluster', objects: [o], prune: [] }).entries[0]!;
}

describe('cluster plan', () => {
  it('is create when the object does not exist', () => {
    const intent = deploymentIntent();
    const e = cluster(observe(intent, { dryRun: live(intent, []) }));
    expect(e.action).toBe('create');
    expect(e.before).toBeUndefined();
    expect(e.after?.metadata.name).toBe('api');
    expect(e.origin).toEqual({ file: 'deploy/api.yaml', line: 1 });
  });

  it('is unchanged when dry-run equals live, server defaults and status included', () => {
    const intent = deploymentIntent();
    const l = live(intent, [{ manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields() }]);
    const e = cluster(observe(intent, { lastApplied: intent, live: l, dryRun: dryRun(intent, l) }));
    expect(e.action).toBe('unchanged');
    expect(e.changes).toEqual([]);
  });

  it('is update when git changed the image, with a field-level diff', () => {
    const before = deploymentIntent('registry.local/api:v1');
    const now = deploymentIntent('registry.local/api:v2');
    const l = live(before, [{ manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields() }]);
    const e = cluster(observe(now, { lastApplied: before, live: l, dryRun: dryRun(now, l) }));
    expect(e.action).toBe('update');
    expect(e.changes).toEqual([
      {
        path: 'spec.template.spec.containers[0].image',
        op: 'change',
        before: 'registry.local/api:v1',
        after: 'registry.local/api:v2',
      },
    ]);
    expect(e.drift).toBeUndefined();
  });

  it('is drift naming the manager when someone else changed a field nopea applied', () => {
    const intent = deploymentIntent('registry.local/api:v1');
    const edited = deploymentIntent('registry.local/api:hotfix');
    const fields = nopeaFields();
    // kubectl edit took the image over: it left nopea's set.
    type Set = Record<
      string,
      Record<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>
    >;
    delete (fields as Set)['f:spec']!['f:template']!['f:spec']!['f:containers']!['k:{"name":"api"}']![
      'f:image'
    ];
    const l = live(edited, [
      { manager: 'nopea', operation: 'Apply', fieldsV1: fields },
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        fieldsV1: {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { 'f:image': {} } } } },
          },
        },
      },
    ]);
    const e = cluster(observe(intent, { lastApplied: intent, live: l, dryRun: dryRun(intent, l) }));
    expect(e.action).toBe('drift');
    expect(e.drift).toEqual([{ path: 'spec.template.spec.containers[0].image', managers: ['kubectl-edit'] }]);
    expect(e.changes[0]).toMatchObject({
      before: 'registry.local/api:hotfix',
      after: 'registry.local/api:v1',
    });
  });

  it('is drift with no manager when someone removed a field nopea applied', () => {
    const intent = deploymentIntent('registry.local/api:v1', { app: 'api', tier: 'web' });
    const l = live(deploymentIntent('registry.local/api:v1', { app: 'api' }), [
      { manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields(['app']) },
    ]);
    const e = cluster(observe(intent, { lastApplied: intent, live: l, dryRun: dryRun(intent, l) }));
    expect(e.action).toBe('drift');
    expect(e.drift).toEqual([{ path: 'metadata.labels.tier', managers: [] }]);
  });

  it('is conflict when git and someone else both changed it', () => {
    const before = deploymentIntent('registry.local/api:v1', { app: 'api', tier: 'web' });
    const now = deploymentIntent('registry.local/api:v2', { app: 'api', tier: 'web' });
    const l = live(deploymentIntent('registry.local/api:v1', { app: 'api' }), [
      { manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields(['app']) },
    ]);
    const e = cluster(observe(now, { lastApplied: before, live: l, dryRun: dryRun(now, l) }));
    expect(e.action).toBe('conflict');
    expect(e.drift?.map((d) => d.path)).toEqual(['metadata.labels.tier']);
  });

  it('puts a field both git and another manager changed into conflicts, not drift', () => {
    const before = deploymentIntent();
    const now = structuredClone(before);
    (now.spec as { replicas: number }).replicas = 5;
    const edited = structuredClone(before);
    (edited.spec as { replicas: number }).replicas = 3;
    const fields = nopeaFields();
    delete (fields['f:spec'] as Record<string, unknown>)['f:replicas'];
    const l = live(edited, [
      { manager: 'nopea', operation: 'Apply', fieldsV1: fields },
      { manager: 'other', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ]);
    const e = cluster(observe(now, { lastApplied: before, live: l, dryRun: dryRun(now, l) }));
    expect(e.action).toBe('conflict');
    expect(e.drift).toBeUndefined();
    expect(e.conflicts).toEqual([{ path: 'spec.replicas', managers: ['other'] }]);
  });

  it('flags fields owned by another manager that nopea never applied as needing --force-conflicts', () => {
    const before = deploymentIntent();
    const now = structuredClone(before);
    (now.spec as { replicas: number }).replicas = 5;
    const fields = nopeaFields();
    delete (fields['f:spec'] as Record<string, unknown>)['f:replicas'];
    const l = live(before, [
      { manager: 'nopea', operation: 'Apply', fieldsV1: fields },
      { manager: 'hpa-controller', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ]);
    const lastApplied = structuredClone(before);
    delete (lastApplied.spec as Record<string, unknown>).replicas;
    const e = cluster(observe(now, { lastApplied, live: l, dryRun: dryRun(now, l) }));
    expect(e.action).toBe('conflict');
    expect(e.conflicts).toEqual([{ path: 'spec.replicas', managers: ['hpa-controller'] }]);
    expect(e.note).toMatch(/--force-conflicts/);
  });

  it('is update for an adopted object nopea has no record of, when it owns nothing conflicting', () => {
    const intent = deploymentIntent('registry.local/api:v2');
    const l = live(deploymentIntent('registry.local/api:v1'), []);
    const e = cluster(observe(intent, { live: l, dryRun: dryRun(intent, l) }));
    expect(e.action).toBe('update');
  });

  it('masks Secret values in changes and documents', () => {
    const secret = (v: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'web' },
      data: { password: Buffer.from(v).toString('base64'), user: 'YWRtaW4=' },
    });
    const l = {
      ...secret('old-secret-value'),
      metadata: {
        name: 'db',
        namespace: 'web',
        managedFields: [
          {
            manager: 'nopea',
            operation: 'Apply',
            fieldsV1: { 'f:data': { 'f:password': {}, 'f:user': {} } },
          },
        ],
      },
    };
    const e = cluster(
      observe(secret('new-secret-value'), {
        lastApplied: redactSecret(secret('old-secret-value')),
        live: l,
        dryRun: secret('new-secret-value'),
      }),
    );
    expect(e.action).toBe('update');
    const text = JSON.stringify(e);
    expect(text).not.toContain(Buffer.from('new-secret-value').toString('base64'));
    expect(text).not.toContain(Buffer.from('old-secret-value').toString('base64'));
    expect(text).not.toContain('YWRtaW4=');
    expect(e.changes).toEqual([
      { path: 'data.password', op: 'change', before: '*** (before)', after: '*** (after)' },
    ]);
    expect((e.after as KubeObject & { data: Record<string, string> }).data.user).toBe('***');
  });
});

describe('offline plan', () => {
  const offline = (objects: ObservedObject[], prune: Parameters<typeof planService>[0]['prune'] = []) =>
    planService({ service: 'web', mode: 'offline', objects, prune });

  it('classifies against last-applied only', () => {
    const a = deploymentIntent('registry.local/api:v1');
    const b = deploymentIntent('registry.local/api:v2');
    const plan = offline([observe(a), observe(b, { lastApplied: a })]);
    expect(plan.entries.map((e) => e.action)).toEqual(['create', 'update']);
    expect(offline([observe(a, { lastApplied: a })]).entries[0]!.action).toBe('unchanged');
  });

  it('treats an unchanged Secret as unchanged although only a hash was stored', () => {
    const s: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'web' },
      stringData: { p: 'hunter2' },
    };
    expect(offline([observe(s, { lastApplied: redactSecret(s) })]).entries[0]!.action).toBe('unchanged');
    const changed = { ...s, stringData: { p: 'hunter3' } };
    const e = offline([observe(changed, { lastApplied: redactSecret(s) })]).entries[0]!;
    expect(e.action).toBe('update');
    expect(JSON.stringify(e)).not.toContain('hunter');
  });

  it('lists prune candidates last and honours the opt-out annotation', () => {
    const keep: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'keep', namespace: 'web', annotations: { 'nopea.dev/prune': 'disabled' } },
    };
    const plan = offline(
      [observe(deploymentIntent(), { lastApplied: deploymentIntent() })],
      [
        {
          id: '/ConfigMap/web/old',
          apiVersion: 'v1',
          lastApplied: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'web' } },
        },
        { id: '/ConfigMap/web/keep', apiVersion: 'v1', lastApplied: keep },
      ],
    );
    expect(plan.entries.map((e) => [e.id, e.action])).toEqual([
      ['apps/Deployment/web/api', 'unchanged'],
      ['/ConfigMap/web/old', 'prune'],
      ['/ConfigMap/web/keep', 'prune'],
    ]);
    expect(plan.entries[2]!.pruneDisabled).toBe(true);
    expect(plan.counts).toMatchObject({ prune: 2, unchanged: 1 });
  });
});

describe('cluster prune', () => {
  it('skips inventory entries that are already gone', () => {
    const plan = planService({
      service: 'web',
      mode: 'cluster',
      objects: [],
      prune: [{ id: '/ConfigMap/web/gone', apiVersion: 'v1' }],
    });
    expect(plan.entries).toEqual([]);
  });

  const liveConfigMap = (uid: string, managers: string[]): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'old',
      namespace: 'web',
      uid,
      resourceVersion: '42',
      managedFields: managers.map((manager) => ({ manager, operation: 'Apply', fieldsV1: {} })),
    },
  });
  const pruneOf = (live: KubeObject, uid?: string) =>
    planService({
      service: 'web',
      mode: 'cluster',
      objects: [],
      prune: [{ id: '/ConfigMap/web/old', apiVersion: 'v1', live, ...(uid ? { uid } : {}) }],
    }).entries[0]!;

  it('prunes an object nopea applied, with its uid and resourceVersion as the delete preconditions', () => {
    const e = pruneOf(liveConfigMap('u-1', ['nopea', 'kubectl-edit']), 'u-1');
    expect(e.notOwned).toBeUndefined();
    expect(e.live).toEqual({ uid: 'u-1', resourceVersion: '42' });
    expect(releasedFromInventory(e)).toBe(false);
  });

  it('keeps an object no field of which nopea manages, and releases it from the inventory', () => {
    const e = pruneOf(liveConfigMap('u-1', ['helm']));
    expect(e.notOwned).toBe(true);
    expect(e.note).toBe(
      'kept: not applied by nopea (its fields are managed by helm); nopea stops tracking it',
    );
    expect(releasedFromInventory(e)).toBe(true);
  });

  it('keeps an object re-created under another uid than the one nopea recorded', () => {
    const e = pruneOf(liveConfigMap('u-2', ['nopea']), 'u-1');
    expect(e.notOwned).toBe(true);
    expect(e.note).toMatch(/re-created since nopea applied it \(uid u-2, nopea applied u-1\)/);
  });

  it('falls back to the managedFields check for inventory entries recorded without a uid', () => {
    expect(pruneOf(liveConfigMap('u-2', ['nopea'])).notOwned).toBeUndefined();
  });

  it('prunes an object whose intent set no field at all (server-side apply records no manager then)', () => {
    const bare = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'web' } };
    const live = liveConfigMap('u-1', []);
    const prune = (lastApplied: KubeObject, uid?: string) =>
      planService({
        service: 'web',
        mode: 'cluster',
        objects: [],
        prune: [{ id: '/ConfigMap/web/old', apiVersion: 'v1', live, lastApplied, ...(uid ? { uid } : {}) }],
      }).entries[0]!;
    expect(prune(bare, 'u-1').notOwned).toBeUndefined();
    expect(prune(bare).notOwned).toBeUndefined();
    // An intent with any field would have left nopea in managedFields: its absence means foreign.
    expect(prune({ ...bare, data: { a: '1' } }).notOwned).toBe(true);
    // A recorded uid still has to match.
    expect(prune(bare, 'u-9').notOwned).toBe(true);
  });
});

describe('run-once Jobs removed by their TTL', () => {
  const job = (image: string): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', namespace: 'web' },
    spec: {
      ttlSecondsAfterFinished: 0,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image }] } },
    },
  });

  it('is unchanged, not re-created, when git left the spec alone and a deploy saw it complete', () => {
    const intent = job('migrate:1');
    const e = cluster(
      observe(intent, { lastApplied: intent, completedAt: '2026-12-01T10:00:00.000Z', dryRun: intent }),
    );
    expect(e.action).toBe('unchanged');
    expect(e.completedAt).toBe('2026-12-01T10:00:00.000Z');
    expect(e.note).toMatch(/completed at 2026-12-01T10:00:00.000Z and removed since/);
  });

  it('runs again when its spec changed, or when no deploy saw it complete', () => {
    const before = job('migrate:1');
    expect(
      cluster(observe(job('migrate:2'), { lastApplied: before, completedAt: '2026-12-01T10:00:00.000Z' }))
        .action,
    ).toBe('create');
    expect(cluster(observe(before, { lastApplied: before })).action).toBe('create');
  });
});

describe('services with pruning off', () => {
  const candidate = (name: string, annotations?: Record<string, string>) => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'web', ...(annotations ? { annotations } : {}) },
    };
    return { id: `/ConfigMap/web/${name}`, apiVersion: 'v1', lastApplied: obj, live: obj };
  };

  it('keeps prune entries, says why, and does not count them as pending', () => {
    const intent = deploymentIntent();
    const plan = planService({
      service: 'web',
      mode: 'offline',
      objects: [observe(intent, { lastApplied: intent })],
      prune: [candidate('old'), candidate('pinned', { 'nopea.dev/prune': 'disabled' })],
    });
    expect(hasChanges(plan)).toBe(true);
    const kept = withPruningOff(plan);
    expect(hasChanges(kept)).toBe(false);
    expect(kept.entries.filter((e) => e.action === 'prune').map((e) => [e.name, e.pruneOff, e.note])).toEqual(
      [
        [
          'pinned',
          true,
          'kept: annotated nopea.dev/prune: disabled; kept: pruning is off for this service (prune: false in nopea.yaml)',
        ],
        ['old', true, 'kept: pruning is off for this service (prune: false in nopea.yaml)'],
      ],
    );
    // Anything else pending still counts.
    const changed = withPruningOff(
      planService({
        service: 'web',
        mode: 'offline',
        objects: [observe(deploymentIntent('registry.local/api:v2'), { lastApplied: intent })],
        prune: [candidate('old')],
      }),
    );
    expect(hasChanges(changed)).toBe(true);
  });
});
