// A create is not idempotent: when its answer is lost after the server stored the object (a reset
// after the request reached it, through the fault proxy), the retry finds the name taken. createObject
// returns the object the lost attempt created; a name someone else holds is still a conflict.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/cluster/errors.js';
import { connect } from '../../../src/cluster/connect.js';
import { createObject } from '../../../src/cluster/objects.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { type ApiProxy, startApiProxy } from '../../cluster/api-proxy.js';
import { apiRequest, testCluster, useNamespace } from '../../helpers/cluster.js';

const configMaps = builtinCatalog().lookup('v1', 'ConfigMap').found!;
const ns = useNamespace('create-retry');
let proxy: ApiProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** A proxy that resets the answer of the first POST only, after the server handled it. */
async function resetFirstCreate(): Promise<ApiProxy> {
  let posts = 0;
  proxy = await startApiProxy({
    upstream: testCluster().kubeconfig,
    mode: 'faults',
    delayMs: 0,
    faults: { rate: 1, kinds: ['reset-after'], match: (r) => r.method === 'POST' && ++posts === 1 },
  });
  return proxy;
}

const configMap = (name: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns.name },
  data: { from: 'create-retry' },
});

describe('createObject after a lost answer', () => {
  it('returns the object the lost attempt created', async () => {
    const p = await resetFirstCreate();
    const client = await connect({ kubeconfig: p.kubeconfig, env: {} });
    try {
      const created = await createObject(client, configMaps, configMap('made-once'));
      expect(created.metadata.name).toBe('made-once');
      expect(client.stats.retries).toBe(1);
      const posts = p.log().filter((e) => e.method === 'POST');
      expect(posts.map((e) => [e.fault, e.forwarded, e.status])).toEqual([
        ['reset-after', true, null],
        [null, true, 409],
      ]);
      const live = await apiRequest<{ metadata: { uid: string } }>(
        'GET',
        `/api/v1/namespaces/${ns.name}/configmaps/made-once`,
      );
      expect(live.body.metadata.uid).toBe(created.metadata.uid);
    } finally {
      client.close();
    }
  });

  it('throws the conflict for a name another manager holds, retried or not', async () => {
    const taken = await apiRequest('POST', `/api/v1/namespaces/${ns.name}/configmaps`, configMap('taken'));
    expect(taken.status).toBe(201);
    const p = await resetFirstCreate();
    const client = await connect({ kubeconfig: p.kubeconfig, env: {} });
    try {
      const error = await createObject(client, configMaps, configMap('taken')).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(409);
      expect((error as ApiError).reason).toBe('AlreadyExists');
    } finally {
      client.close();
    }
  });
});
