// DELETE with preconditions against the real API server: the object is removed only when it is the
// one named by uid (and resourceVersion); one re-created under the same name is left alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/cluster/client.js';
import { connect } from '../../../src/cluster/connect.js';
import { applyObject, deleteObject, getObject } from '../../../src/cluster/objects.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { testCluster, useNamespace } from '../../helpers/cluster.js';

const configMaps = builtinCatalog().lookup('v1', 'ConfigMap').found!;
const ns = useNamespace('delete-preconditions');
let client: KubeClient;

beforeAll(async () => {
  client = await connect({ kubeconfig: testCluster().kubeconfig, env: {} });
});
afterAll(() => client.close());

/** Applies the ConfigMap and returns its identity as stored. */
async function createConfigMap(value: string): Promise<{ uid: string; resourceVersion: string }> {
  const { metadata } = await applyObject(client, configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cfg', namespace: ns.name },
    data: { value },
  });
  return { uid: String(metadata.uid), resourceVersion: String(metadata.resourceVersion) };
}

describe('deleteObject with preconditions', () => {
  it('leaves an object with another uid or a newer resourceVersion alone, and deletes the one named', async () => {
    const first = await createConfigMap('a');
    expect(
      await deleteObject(client, configMaps, ns.name, 'cfg', { preconditions: { uid: first.uid } }),
    ).toBe('deleted');
    // Re-created under the same name: a new uid.
    const second = await createConfigMap('b');
    expect(
      await deleteObject(client, configMaps, ns.name, 'cfg', { preconditions: { uid: first.uid } }),
    ).toBe('changed');
    // Written since the resourceVersion was read.
    const stale = second.resourceVersion;
    await createConfigMap('c');
    expect(
      await deleteObject(client, configMaps, ns.name, 'cfg', {
        preconditions: { uid: second.uid, resourceVersion: stale },
      }),
    ).toBe('changed');
    expect((await getObject(client, configMaps, ns.name, 'cfg'))?.data).toEqual({ value: 'c' });
    expect(
      await deleteObject(client, configMaps, ns.name, 'cfg', {
        preconditions: { uid: second.uid },
      }),
    ).toBe('deleted');
    expect(
      await deleteObject(client, configMaps, ns.name, 'cfg', {
        preconditions: { uid: second.uid },
      }),
    ).toBe('gone');
  });
});
