import { beforeEach, describe, expect, it, vi } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  RequestStats,
  type KubeClient,
  type RequestOptions,
  type Response,
} from '../../../src/cluster/client.js';
import { ApiError } from '../../../src/cluster/errors.js';
import { refusedBeforeWrite } from '../../../src/cluster/explain.js';
import { buildCheckpoint, buildStateChange } from '../../../src/surface/record.js';
import { errorExitCode } from '../../../src/surface/outcome.js';
import { LockRequests } from '../../../src/cluster/lease.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import type { DesiredObject } from '../../../src/resources/identify.js';
import { formatId, parseId, type KubeObject, type ResourceId } from '../../../src/resources/object.js';
import { countActions, type Action, type Plan, type PlanEntry } from '../../../src/plan/types.js';
import type { Inventory } from '../../../src/state/format.js';
import type { ServiceState, StateReader } from '../../../src/state/reader.js';
import { statePaths } from '../../../src/state/layout.js';
import type { ObjectResult } from '../../../src/apply/execute.js';
import { StageTimer, type PreparedService, type RunContext } from '../../../src/surface/prepare.js';

// lockAndPlan plans through prepareService; the tests hand it prepared services directly.
const prepareService = vi.hoisted(() => vi.fn());
vi.mock('../../../src/surface/prepare.js', async (original) => ({
  ...(await original<typeof import('../../../src/surface/prepare.js')>()),
  prepareService,
}));

const { applyItems, inSync, requestSummary } = await import('../../../src/surface/sync.js');
const { lockAndPlan } = await import('../../../src/surface/lock.js');

const catalog = builtinCatalog();

function desired(object: KubeObject): DesiredObject {
  const type = catalog.lookup(object.apiVersion, object.kind).found!;
  const ref = {
    group: type.group,
    kind: object.kind,
    namespace: type.namespaced ? (object.metadata.namespace ?? '') : '',
    name: object.metadata.name ?? '',
  };
  return { id: formatId(ref), ref, type, object, origin: { file: 'app.yaml', line: 1 }, crdPending: false };
}

const configMap = (name: string, ns = 'web'): DesiredObject =>
  desired({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: name } });
const namespace = (name: string): DesiredObject =>
  desired({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

function entry(id: ResourceId, action: Action, extra: Partial<PlanEntry> = {}): PlanEntry {
  const ref = parseId(id);
  return {
    id,
    apiVersion: 'v1',
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
    action,
    changes: [],
    ...extra,
  };
}

function plan(entries: PlanEntry[], mode: Plan['mode'] = 'cluster'): Plan {
  return { service: 'web', mode, entries, counts: countActions(entries) };
}

function prepared(objects: DesiredObject[], entries: PlanEntry[], inventory?: Inventory): PreparedService {
  const state: PreparedService['state'] = { lastApplied: new Map() };
  if (inventory) state.inventory = inventory;
  return {
    spec: { name: 'web', paths: ['app'], namespace: 'web', prune: true },
    desired: objects,
    state,
    plan: plan(entries),
    live: new Map(),
  };
}

describe('requestSummary', () => {
  it('takes the lock requests out of the object counts', () => {
    const stats = new RequestStats();
    Object.assign(stats.byVerb, {
      get: 5,
      list: 2,
      'dry-run': 3,
      create: 1,
      update: 1,
      delete: 1,
      discovery: 2,
    });
    const lock = new LockRequests();
    Object.assign(lock, { get: 1, create: 1, update: 1, delete: 1 });
    const s = requestSummary(stats, lock);
    expect(s.byVerb).toMatchObject({ get: 4, create: 0, update: 0, delete: 0, apply: 0, 'dry-run': 3 });
    expect(s.writes).toBe(0);
    expect(s.total).toBe(stats.total - 4);
    expect(s.lock).toEqual({ get: 1, create: 1, update: 1, delete: 1, total: 4, writes: 3 });
  });

  it('counts object writes that are not the lock', () => {
    const stats = new RequestStats();
    Object.assign(stats.byVerb, { apply: 3, create: 1, delete: 2 });
    const lock = new LockRequests();
    Object.assign(lock, { create: 1, delete: 1 });
    expect(requestSummary(stats, lock).writes).toBe(4);
  });
});

describe('refusedBeforeWrite', () => {
  const apiError = (status: number): ApiError => new ApiError(status, 'x', 'denied', [], 'GET /x');

  it('makes RBAC and credential refusals an input error (exit 2), keeping the message', () => {
    for (const status of [401, 403]) {
      const err = new NopeaError('cluster', { message: 'forbidden: no' }, { cause: apiError(status) });
      const out = refusedBeforeWrite(err);
      expect(out.kind).toBe('input');
      expect(errorExitCode(out)).toBe(2);
      expect(out.problems).toEqual(err.problems);
    }
  });

  it('leaves other failures as they are', () => {
    const notFound = new NopeaError('cluster', 'gone', { cause: apiError(404) });
    expect(refusedBeforeWrite(notFound)).toBe(notFound);
    const network = new NopeaError('cluster', 'refused', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    expect(errorExitCode(refusedBeforeWrite(network))).toBe(1);
    const lock = new NopeaError('deploy', 'locked by another run');
    expect(refusedBeforeWrite(lock)).toBe(lock);
  });
});

describe('applyItems', () => {
  it('leaves out what the run wrote before the lock, pairing the rest with their entries', () => {
    const ns = namespace('web');
    const cm = configMap('a');
    const p = prepared([ns, cm], [entry(ns.id, 'create'), entry(cm.id, 'create')]);
    const written: ObjectResult[] = [{ id: ns.id, action: 'created' }];
    const items = applyItems(p, written);
    expect(items.map((i) => [i.desired.id, i.entry.action])).toEqual([[cm.id, 'create']]);
    expect(applyItems(p, []).map((i) => i.desired.id)).toEqual([ns.id, cm.id]);
  });
});

describe('buildStateChange', () => {
  const a = configMap('a');
  const b = configMap('b');
  const gone = '/ConfigMap/web/gone';
  const inventory: Inventory = {
    format: 1,
    service: 'web',
    namespace: 'web',
    objects: [a.id, b.id, gone].map((id) => ({ id, apiVersion: 'v1' })),
  };

  function input(objects: DesiredObject[], entries: PlanEntry[], results: ObjectResult[]) {
    const p = prepared(objects, entries, inventory);
    p.plan = { ...plan(entries), stateCommit: 'planned-on' };
    return {
      prepared: p,
      guard: { prune: entries.filter((e) => e.action === 'prune'), kept: [] },
      result: {
        service: 'web',
        deployId: '01J9Z8Q4W3M6N2P5R7T9V1X3Y5',
        outcome: 'succeeded' as const,
        objects: results,
        kept: [],
        durationMs: 1,
      },
      startedAt: new Date(),
      finishedAt: new Date(),
      stages: [],
      source: {},
      provenance: {},
    };
  }

  /** The service's files as the commit writes them on a tip: the planned-on one, or a newer one. */
  async function derived(
    objects: DesiredObject[],
    entries: PlanEntry[],
    results: ObjectResult[],
    tip: { commit: string; state?: ServiceState } = { commit: 'planned-on' },
  ) {
    const change = buildStateChange(input(objects, entries, results));
    const reader = {
      tip: tip.commit,
      readService: async () => tip.state ?? { lastApplied: new Map() },
      readGraph: async () => undefined,
      listServices: async () => [],
      listDeploys: async () => [],
    } as unknown as StateReader;
    return change.derive!(reader);
  }

  it('drops inventory entries the plan found already gone from the cluster', async () => {
    const c = await derived(
      [a],
      [entry(a.id, 'unchanged'), entry(b.id, 'prune')],
      [
        { id: a.id, action: 'unchanged' },
        { id: b.id, action: 'pruned' },
      ],
    );
    const inv = c.writes?.[statePaths.inventory] as Inventory;
    expect(inv.objects.map((o) => o.id)).toEqual([a.id]);
    expect(c.deletes).toEqual(
      expect.arrayContaining([statePaths.lastApplied(gone), statePaths.lastApplied(b.id)]),
    );
  });

  it('keeps entries a refused or failed prune left in the cluster', async () => {
    const c = await derived(
      [a],
      [entry(a.id, 'unchanged'), entry(b.id, 'prune')],
      [
        { id: a.id, action: 'unchanged' },
        { id: b.id, action: 'failed' },
      ],
    );
    const inv = c.writes?.[statePaths.inventory] as Inventory;
    expect(inv.objects.map((o) => o.id)).toEqual([a.id, b.id]);
  });

  it('records the uid of what it applied, for the ownership check of a later prune', async () => {
    const applied: KubeObject = { ...a.object, metadata: { ...a.object.metadata, uid: 'uid-a' } };
    const c = await derived([a], [entry(a.id, 'create')], [{ id: a.id, action: 'created', applied }]);
    const inv = c.writes?.[statePaths.inventory] as Inventory;
    expect(inv.objects.find((o) => o.id === a.id)?.uid).toBe('uid-a');
  });

  it('marks a Job this deploy saw complete, and keeps the mark while the spec stays the same', async () => {
    const job = desired({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'web' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'm:1' }] } } },
    });
    const change = buildStateChange({
      ...input([job], [entry(job.id, 'create')], [{ id: job.id, action: 'created' }]),
      result: {
        ...input([job], [], []).result,
        objects: [{ id: job.id, action: 'created' }],
        health: {
          ok: true,
          timedOut: false,
          aborted: false,
          durationMs: 1,
          polls: 1,
          requests: 1,
          objects: [{ id: job.id, state: 'ready', message: 'complete' }],
          failures: [],
        },
      },
    });
    const files = await change.derive!({
      tip: 'planned-on',
      readGraph: async () => undefined,
      listServices: async () => [],
    } as unknown as StateReader);
    const written = files.writes?.[statePaths.lastApplied(job.id)] as { completedAt?: string };
    expect(written.completedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('re-derives the inventory on a newer tip, keeping what another run recorded meanwhile', async () => {
    const other = '/ConfigMap/web/other';
    const newer: ServiceState = {
      lastApplied: new Map(),
      inventory: { ...inventory, objects: [...inventory.objects, { id: other, apiVersion: 'v1', uid: 'u' }] },
    };
    const c = await derived(
      [a],
      [entry(a.id, 'unchanged'), entry(b.id, 'prune')],
      [
        { id: a.id, action: 'unchanged' },
        { id: b.id, action: 'pruned' },
      ],
      { commit: 'newer', state: newer },
    );
    const inv = c.writes?.[statePaths.inventory] as Inventory;
    expect(inv.objects.map((o) => o.id)).toEqual([a.id, other]);
  });

  it('checkpoints a progressive deploy as progressing: what it applied and its rollout, no outcome yet', async () => {
    const applied: KubeObject = { ...a.object, metadata: { ...a.object.metadata, uid: 'uid-a' } };
    const base = input([a], [entry(a.id, 'create')], [{ id: a.id, action: 'created', applied }]);
    const change = buildCheckpoint({
      ...base,
      result: {
        ...base.result,
        rollout: { name: 'web', namespace: 'web', strategy: 'canary', phase: 'Progressing', atGate: false },
      },
    });
    expect(change.message).toBe('deploy web 01J9Z8Q4W3M6N2P5R7T9V1X3Y5 progressing');
    expect(Object.keys(change.writes ?? {})).toEqual([statePaths.current]);
    expect(change.writes?.[statePaths.current]).toMatchObject({
      deployId: '01J9Z8Q4W3M6N2P5R7T9V1X3Y5',
      status: 'progressing',
      rollout: { strategy: 'canary', name: 'web', namespace: 'web', phase: 'Progressing' },
    });
    const files = await change.derive!({
      tip: 'planned-on',
      readGraph: async () => undefined,
    } as unknown as StateReader);
    const inv = files.writes?.[statePaths.inventory] as Inventory;
    expect(inv.objects.find((o) => o.id === a.id)?.uid).toBe('uid-a');
    expect(files.writes?.[statePaths.lastApplied(a.id)]).toBeDefined();
    // No deploy record, no occurrence, no memory: the deploy has not ended.
    expect(
      Object.keys(files.writes ?? {}).filter((k) => k.includes('deploys/') || k.includes('graph')),
    ).toEqual([]);
  });
});

describe('lockAndPlan', () => {
  type Handler = (o: RequestOptions) => Response | Promise<Response>;
  const res = (status: number, body: unknown = {}): Response => ({ status, body, headers: {} });

  function client(handler: Handler): { client: KubeClient; calls: RequestOptions[] } {
    const calls: RequestOptions[] = [];
    const c = {
      stats: new RequestStats(),
      request: async (o: RequestOptions) => {
        calls.push(o);
        const r = await handler(o);
        if (r.status >= 400 && !o.allow?.includes(r.status)) {
          throw new ApiError(
            r.status,
            'x',
            `HTTP ${r.status} for ${o.method} ${o.path}`,
            [],
            `${o.method} ${o.path}`,
          );
        }
        return r;
      },
    } as unknown as KubeClient;
    return { client: c, calls };
  }

  const leaseBody = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'nopea-web', namespace: 'web', uid: 'u', resourceVersion: '1' },
    spec: {},
  };
  const leases = (o: RequestOptions): Response | undefined => {
    if (!o.path.includes('/leases')) return undefined;
    if (o.method === 'GET') return res(404);
    if (o.method === 'POST') return res(201, leaseBody);
    return res(200);
  };

  function lockFor(c: KubeClient) {
    return { ctx: ctx(), client: c, spec, opts: {}, deployId: 'D', requests: new LockRequests() };
  }

  function ctx(): RunContext {
    return {
      repoRoot: '/repo',
      cwd: '/repo',
      store: { refresh: async () => undefined } as unknown as RunContext['store'],
      catalog,
      timer: new StageTimer(),
      services: [],
    };
  }

  const spec = { name: 'web', paths: ['app'], namespace: 'web', prune: true };

  beforeEach(() => {
    prepareService.mockReset();
  });

  it('goes on to the lock when the user may not read Namespace objects', async () => {
    const cm = configMap('a');
    prepareService.mockResolvedValue(prepared([cm], [entry(cm.id, 'create')]));
    const { client: c, calls } = client(
      (o) => leases(o) ?? (o.path === '/api/v1/namespaces/web' ? res(403) : res(500)),
    );
    const plans: Plan[] = [];
    const out = await lockAndPlan(lockFor(c), [], (p) => plans.push(p));
    expect(calls.some((o) => o.method === 'POST' && o.path.includes('/leases'))).toBe(true);
    expect(plans).toHaveLength(1);
    await out.lock.release();
  });

  it('shows the plan when the guard refuses it, before any lock is taken', async () => {
    const cm = configMap('a');
    const p = prepared(
      [cm],
      [entry(cm.id, 'update', { conflicts: [{ path: 'data.a', managers: ['other'] }] })],
    );
    prepareService.mockResolvedValue(p);
    const { client: c, calls } = client((o) => leases(o) ?? res(200, { metadata: { name: 'web' } }));
    const plans: Plan[] = [];
    await expect(lockAndPlan(lockFor(c), [], (x) => plans.push(x))).rejects.toMatchObject({
      kind: 'guard',
    });
    expect(plans).toEqual([p.plan]);
    expect(calls.some((o) => o.path.includes('/leases'))).toBe(false);
  });

  it('reports the Namespace it applied before the lock even when the lock then fails', async () => {
    const ns = namespace('web');
    const cm = configMap('a');
    prepareService.mockResolvedValue(prepared([ns, cm], [entry(ns.id, 'create'), entry(cm.id, 'create')]));
    const { client: c } = client((o) => {
      if (o.path.includes('/leases')) return res(403);
      if (o.method === 'GET') return res(404);
      return res(200, ns.object);
    });
    const written: ObjectResult[] = [];
    await expect(lockAndPlan(lockFor(c), written, () => {})).rejects.toMatchObject({
      kind: 'cluster',
    });
    expect(written.map((w) => [w.id, w.action])).toEqual([[ns.id, 'created']]);
  });
});

describe('inSync', () => {
  const cm = configMap('a');
  const recorded = (status: 'succeeded' | 'failed'): PreparedService => {
    const p = prepared([cm], [entry(cm.id, 'unchanged')], {
      format: 1,
      service: 'web',
      namespace: 'web',
      objects: [{ id: cm.id, apiVersion: 'v1' }],
    });
    p.state.lastApplied.set(cm.id, {
      format: 1,
      id: cm.id,
      apiVersion: 'v1',
      deployId: '01J0000000000000000000000A',
      appliedAt: '2026-11-27T10:00:00.000Z',
      object: cm.object,
    });
    p.state.current = {
      format: 1,
      service: 'web',
      deployId: '01J0000000000000000000000A',
      status,
      updatedAt: '2026-11-27T10:00:00.000Z',
    };
    return p;
  };
  const noGuard = { prune: [], kept: [] };

  it('holds when everything is unchanged, recorded, and the last deploy succeeded', () => {
    expect(inSync(recorded('succeeded'), noGuard)).toBe(true);
  });

  it('does not hold after a failed deploy, with changes, prunes, or objects the branch does not record', () => {
    expect(inSync(recorded('failed'), noGuard)).toBe(false);
    const changed = recorded('succeeded');
    changed.plan = plan([entry(cm.id, 'drift')]);
    expect(inSync(changed, noGuard)).toBe(false);
    const pruning = recorded('succeeded');
    expect(inSync(pruning, { prune: [entry('/ConfigMap/web/old', 'prune')], kept: [] })).toBe(false);
    const unrecorded = recorded('succeeded');
    unrecorded.state.lastApplied.clear();
    expect(inSync(unrecorded, noGuard)).toBe(false);
    // An inventory entry that is neither desired nor planned for pruning is gone: the state needs a commit.
    const stale = recorded('succeeded');
    stale.state.inventory!.objects.push({ id: '/ConfigMap/web/gone', apiVersion: 'v1' });
    expect(inSync(stale, noGuard)).toBe(false);
  });
});
