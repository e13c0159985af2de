// applyAll against a scripted client: it stops between waves when the lock says so, never throws
// when a signal ends a wait (every object keeps its result), re-creates what it deleted whatever the
// signal, and reports an object the cluster refuses as invalid as the user's mistake.
import { describe, expect, it } from 'vitest';
import type { KubeClient, RequestOptions, Response } from '../../../src/cluster/client.js';
import { ApiError } from '../../../src/cluster/errors.js';
import { applyAll, applyFailure, type ApplyItem } from '../../../src/apply/execute.js';
import { NopeaError } from '../../../src/errors.js';
import type { PlanEntry } from '../../../src/plan/types.js';
import { builtinCatalog, type ResourceType } from '../../../src/resources/catalog.js';
import type { DesiredObject } from '../../../src/resources/identify.js';
import { formatId, type KubeObject } from '../../../src/resources/object.js';
import { errorExitCode } from '../../../src/surface/outcome.js';

type Reply = { status: number; body?: unknown };
type Handler = (opts: RequestOptions) => Reply | Promise<Reply>;

/** A client answering from a handler the way KubeClient does: non-2xx statuses not allowed are thrown. */
function fakeClient(handler: Handler): { client: KubeClient; calls: RequestOptions[] } {
  const calls: RequestOptions[] = [];
  const request = async (opts: RequestOptions): Promise<Response> => {
    calls.push(opts);
    const { status, body } = await handler(opts);
    if ((status >= 200 && status < 300) || opts.allow?.includes(status)) return { status, body, headers: {} };
    throw ApiError.fromResponse(opts.method, opts.path, status, body, {});
  };
  return { client: { request } as unknown as KubeClient, calls };
}

const catalog = builtinCatalog();
const WIDGET: ResourceType = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  verbs: [],
};

function item(
  object: KubeObject,
  line: number,
  opts: { type?: ResourceType; crdPending?: boolean } = {},
): ApplyItem {
  const type = opts.type ?? catalog.lookup(object.apiVersion, object.kind).found!;
  const ref = {
    group: type.group,
    kind: object.kind,
    namespace: type.namespaced ? (object.metadata.namespace ?? 'web') : '',
    name: object.metadata.name!,
  };
  const desired: DesiredObject = {
    id: formatId(ref),
    ref,
    type,
    object,
    origin: { file: 'app/all.yaml', line },
    crdPending: opts.crdPending ?? false,
  };
  const entry: PlanEntry = {
    id: desired.id,
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: ref.namespace,
    name: ref.name,
    action: 'create',
    changes: [],
  };
  return { desired, entry };
}

const namespace = item({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } }, 1);
const configMap = item(
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'web' } },
  5,
);
const deployment = item(
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'web' },
    spec: { replicas: 'two' },
  } as KubeObject,
  12,
);
const crd = item(
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
  },
  20,
);
const widget = item(
  { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'web' } },
  30,
  { type: WIDGET, crdPending: true },
);

/** Echoes applied objects back, as the server stores them. */
function echo(opts: RequestOptions): Reply {
  return { status: 200, body: opts.body };
}

const patched = (calls: RequestOptions[]) => calls.filter((c) => c.method === 'PATCH').map((c) => c.path);

describe('applyAll with mayWrite', () => {
  it('starts no wave once the lock is unsafe, skips the rest with that error, and reports it', async () => {
    const { client, calls } = fakeClient(echo);
    const lost = new NopeaError('deploy', 'Lease web/nopea-web was taken by another run');
    let asked = 0;
    const results = await applyAll(client, [deployment, configMap, namespace], {
      forceConflicts: false,
      recreateOnImmutable: false,
      mayWrite: () => (++asked === 1 ? undefined : lost),
    });
    expect(results.map((r) => [r.id, r.action])).toEqual([
      ['/Namespace//web', 'created'],
      ['/ConfigMap/web/cfg', 'skipped'],
      ['apps/Deployment/web/api', 'skipped'],
    ]);
    expect(patched(calls)).toEqual(['/api/v1/namespaces/web']);
    expect(results[1]!.stoppedBy).toBe(lost);
    expect(applyFailure(results)).toBe(lost);
    // Once stopped, it is not asked again.
    expect(asked).toBe(2);
  });

  it('writes everything while the lock stays safe', async () => {
    const { client } = fakeClient(echo);
    const results = await applyAll(client, [configMap, namespace], {
      forceConflicts: false,
      recreateOnImmutable: false,
      mayWrite: () => undefined,
    });
    expect(results.map((r) => r.action)).toEqual(['created', 'created']);
    expect(applyFailure(results)).toBeUndefined();
  });
});

describe('applyAll and signals', () => {
  it('returns every result when a signal ends the wait for a CRD to be Established', async () => {
    const controller = new AbortController();
    const { client, calls } = fakeClient((o) => {
      if (o.method === 'PATCH') return echo(o);
      // The CRD is never Established; the signal comes while nopea waits for it.
      controller.abort();
      return { status: 200, body: { ...crd.desired.object, status: { conditions: [] } } };
    });
    const results = await applyAll(client, [widget, crd, namespace], {
      forceConflicts: false,
      recreateOnImmutable: false,
      signal: controller.signal,
    });
    expect(results.map((r) => [r.id, r.action])).toEqual([
      ['apiextensions.k8s.io/CustomResourceDefinition//widgets.example.com', 'created'],
      ['/Namespace//web', 'created'],
      ['example.com/Widget/web/w', 'skipped'],
    ]);
    expect(results[0]!.applied).toBeDefined();
    expect(patched(calls)).not.toContain('/apis/example.com/v1/namespaces/web/widgets/w');
    expect(applyFailure(results)).toBeUndefined();
  });

  it('skips, rather than fails, an object whose CRD was not served yet when the signal came', async () => {
    const controller = new AbortController();
    const { client } = fakeClient(() => {
      controller.abort();
      return {
        status: 404,
        body: {
          kind: 'Status',
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
        },
      };
    });
    const results = await applyAll(client, [widget], {
      forceConflicts: false,
      recreateOnImmutable: false,
      signal: controller.signal,
    });
    expect(results.map((r) => r.action)).toEqual(['skipped']);
  });

  describe('--recreate-on-immutable', () => {
    const immutable: Reply = {
      status: 422,
      body: {
        kind: 'Status',
        reason: 'Invalid',
        message: 'Deployment.apps "api" is invalid: spec.selector: Invalid value: {}: field is immutable',
        details: {
          causes: [{ reason: 'FieldValueInvalid', message: 'field is immutable', field: 'spec.selector' }],
        },
      },
    };
    const update = { ...deployment, entry: { ...deployment.entry, action: 'update' as const } };

    it('re-creates what it deleted even when the signal comes during the delete', async () => {
      const controller = new AbortController();
      let patches = 0;
      let deleted = false;
      let gets = 0;
      const { client, calls } = fakeClient((o) => {
        if (o.method === 'PATCH') return ++patches === 1 ? immutable : echo(o);
        if (o.method === 'DELETE') {
          deleted = true;
          controller.abort();
          return { status: 200, body: {} };
        }
        // Foreground deletion: still there at the first look, gone at the second.
        return ++gets === 1 ? { status: 200, body: update.desired.object } : { status: 404, body: {} };
      });
      const [result] = await applyAll(client, [update], {
        forceConflicts: false,
        recreateOnImmutable: true,
        signal: controller.signal,
      });
      expect(deleted).toBe(true);
      expect(result?.action).toBe('configured');
      expect(calls.map((c) => c.method)).toEqual(['PATCH', 'DELETE', 'GET', 'GET', 'PATCH']);
    });

    it('deletes nothing once the run is stopping', async () => {
      const controller = new AbortController();
      const { client, calls } = fakeClient(() => {
        controller.abort();
        return immutable;
      });
      const [result] = await applyAll(client, [update], {
        forceConflicts: false,
        recreateOnImmutable: true,
        signal: controller.signal,
      });
      expect(result?.action).toBe('skipped');
      expect(calls.map((c) => c.method)).toEqual(['PATCH']);
    });
  });
});

describe('applyAll and objects the cluster refuses as invalid', () => {
  it('reports a value of the wrong type as invalid input with file, line and field', async () => {
    const { client, calls } = fakeClient(() => ({
      status: 500,
      body: {
        kind: 'Status',
        status: 'Failure',
        message:
          'failed to create typed patch object (web/api; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string',
        code: 500,
      },
    }));
    const results = await applyAll(client, [deployment], {
      forceConflicts: false,
      recreateOnImmutable: false,
    });
    expect(calls).toHaveLength(1);
    expect(results[0]).toMatchObject({ action: 'failed', invalid: true });
    const err = applyFailure(results);
    expect(err?.kind).toBe('input');
    expect(errorExitCode(err)).toBe(2);
    expect(err?.problems).toEqual([
      {
        message:
          'apps/Deployment/web/api: the cluster rejected it: .spec.replicas: expected numeric (int or float), got string',
        origin: { file: 'app/all.yaml', line: 12 },
        object: 'apps/Deployment/web/api',
        hint: 'fix the manifest',
        reason: 'Invalid',
      },
    ]);
  });

  it('is a failed deploy when anything else failed too', async () => {
    const { client } = fakeClient((o) =>
      o.path.includes('configmaps')
        ? { status: 422, body: { kind: 'Status', reason: 'Invalid', message: 'ConfigMap "cfg" is invalid' } }
        : { status: 403, body: { kind: 'Status', reason: 'Forbidden', message: 'forbidden' } },
    );
    const results = await applyAll(
      client,
      [configMap, item({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'web' } }, 40)],
      {
        forceConflicts: false,
        recreateOnImmutable: false,
      },
    );
    expect(results.map((r) => r.action)).toEqual(['failed', 'failed']);
    expect(applyFailure(results)?.kind).toBe('deploy');
  });

  it('is a failed deploy when an earlier wave was written: the cluster has changed', () => {
    const invalid = {
      id: deployment.desired.id,
      action: 'failed' as const,
      invalid: true,
      problem: { message: 'bad' },
    };
    expect(applyFailure([{ id: configMap.desired.id, action: 'created' }, invalid])?.kind).toBe('deploy');
    expect(applyFailure([{ id: configMap.desired.id, action: 'unchanged' }, invalid])?.kind).toBe('input');
  });
});
