// A manifest value of the wrong type (`replicas: two`) against the real API server: server-side
// apply answers 500 "failed to create typed patch object", which is the manifest's fault. nopea does
// not retry it and names the file, line and field path: as invalid input (exit 2, nothing changed) when
// the plan's dry-run meets it, and as a failed deploy (exit 1) when only the apply does, after its
// namespace was created by the same sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../../src/cluster/connect.js';
import type { KubeClient } from '../../../src/cluster/client.js';
import { dryRunAll } from '../../../src/cluster/observe.js';
import { applyObject, resourcePath } from '../../../src/cluster/objects.js';
import { applyAll, applyFailure } from '../../../src/apply/execute.js';
import { NopeaError } from '../../../src/errors.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { identify } from '../../../src/resources/identify.js';
import type { KubeObject, Manifest } from '../../../src/resources/object.js';
import { errorExitCode } from '../../../src/surface/outcome.js';
import { apiRequest, testCluster, useNamespace } from '../../helpers/cluster.js';

const ns = useNamespace('type-errors');
let client: KubeClient;

beforeAll(async () => {
  client = await connect({ kubeconfig: testCluster().kubeconfig, env: {} });
});
afterAll(() => client.close());

function deployment(namespace: string): Manifest {
  return {
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 'two',
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
        },
      },
    } as KubeObject,
    origin: { file: 'app/deployment.yaml', line: 7 },
  };
}

const REASON = '.spec.replicas: expected numeric (int or float), got string';

describe('a value of the wrong type', () => {
  it('is answered by server-side apply as a 500 naming the field', async () => {
    const [d] = identify([deployment(ns.name)], builtinCatalog());
    const err = await applyObject(client, d!.type, d!.object, { dryRun: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 500 });
    // The shape test/unit/cluster/errors.test.ts recognises.
    expect((err as Error).message).toBe(
      `failed to create typed patch object (${ns.name}/web; apps/v1, Kind=Deployment): ${REASON}`,
    );
  });

  it('fails the plan as invalid input at its file and line, without retries', async () => {
    const desired = identify([deployment(ns.name)], builtinCatalog());
    const retries = client.stats.retries;
    const err = await dryRunAll(client, desired).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    expect(errorExitCode(err)).toBe(2);
    expect((err as NopeaError).problems).toEqual([
      {
        message: `the cluster rejects apps/Deployment/${ns.name}/web: ${REASON}`,
        origin: { file: 'app/deployment.yaml', line: 7 },
        object: `apps/Deployment/${ns.name}/web`,
        hint: 'fix the manifest; nothing was changed',
        reason: 'Invalid',
      },
    ]);
    expect(client.stats.retries).toBe(retries);
  });

  it('fails the apply as invalid input at its file and line, without retries', async () => {
    // Its namespace is created by the same change, so the plan could not dry-run it.
    const fresh = `${ns.name}-new`;
    const manifests: Manifest[] = [
      {
        object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: fresh } },
        origin: { file: 'app/ns.yaml', line: 1 },
      },
      deployment(fresh),
    ];
    try {
      const desired = identify(manifests, builtinCatalog());
      const items = desired.map((d) => ({
        desired: d,
        entry: {
          id: d.id,
          apiVersion: d.object.apiVersion,
          kind: d.ref.kind,
          namespace: d.ref.namespace,
          name: d.ref.name,
          action: 'create' as const,
          changes: [],
        },
      }));
      const retries = client.stats.retries;
      const results = await applyAll(client, items, { forceConflicts: false, recreateOnImmutable: false });
      expect(results.map((r) => [r.id, r.action])).toEqual([
        [`/Namespace//${fresh}`, 'created'],
        [`apps/Deployment/${fresh}/web`, 'failed'],
      ]);
      const err = applyFailure(results);
      // The Namespace was written before the rejection: the cluster changed, so this is a failed
      // deploy (exit 1), named at the manifest's file, line and field all the same.
      expect(errorExitCode(err)).toBe(1);
      expect(err?.problems).toEqual([
        {
          message: `apps/Deployment/${fresh}/web: the cluster rejected it: ${REASON}`,
          origin: { file: 'app/deployment.yaml', line: 7 },
          object: `apps/Deployment/${fresh}/web`,
          hint: 'fix the manifest',
          reason: 'Invalid',
        },
      ]);
      expect(client.stats.retries).toBe(retries);
    } finally {
      await apiRequest('DELETE', resourcePath(builtinCatalog().lookup('v1', 'Namespace').found!, '', fresh));
    }
  });

  it('masks the value the server quotes back for a Secret (the source stage refuses it first; this is the net under it)', async () => {
    const secret: Manifest = {
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'pin', namespace: ns.name },
        stringData: { PIN: 482913 },
      } as unknown as KubeObject,
      origin: { file: 'app/secret.yaml', line: 1 },
    };
    const desired = identify([secret], builtinCatalog());
    const raw = await applyObject(client, desired[0]!.type, desired[0]!.object, { dryRun: true }).catch(
      (e: unknown) => e,
    );
    // The server's own answer quotes the value: that is what must not reach a log or a record.
    expect((raw as Error).message).toContain('482913');
    const err = await dryRunAll(client, desired).catch((e: unknown) => e);
    expect(errorExitCode(err)).toBe(2);
    const [problem] = (err as NopeaError).problems;
    expect(problem?.message).toMatch(new RegExp(`^the cluster rejects /Secret/${ns.name}/pin: .*stringData`));
    expect(problem?.message).toContain('***');
    expect(JSON.stringify((err as NopeaError).problems)).not.toContain('482913');
  });
});
