// A write read for its metadata alone: the real API server answers a server-side apply with the
// object's PartialObjectMetadata, and the uid and resourceVersion are those the object was stored with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/cluster/client.js';
import { connect } from '../../../src/cluster/connect.js';
import { applyForMetadata, getObject, METADATA_ONLY, resourcePath } from '../../../src/cluster/objects.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { FIELD_MANAGER } from '../../../src/resources/object.js';
import { testCluster, useNamespace } from '../../helpers/cluster.js';

const configMaps = builtinCatalog().lookup('v1', 'ConfigMap').found!;
const ns = useNamespace('apply-metadata');
let client: KubeClient;

beforeAll(async () => {
  client = await connect({ kubeconfig: testCluster().kubeconfig, env: {} });
});
afterAll(() => client.close());

const configMap = (value: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: ns.name },
  data: { value },
});

describe('applyForMetadata', () => {
  it('returns the uid and resourceVersion the object is stored with, on create and on change', async () => {
    const created = await applyForMetadata(client, configMaps, configMap('a'));
    const changed = await applyForMetadata(client, configMaps, configMap('b'));
    const live = await getObject(client, configMaps, ns.name, 'cfg');
    expect(live?.data).toEqual({ value: 'b' });
    expect(created.metadata.uid).toBe(live?.metadata.uid);
    expect(changed.metadata.uid).toBe(live?.metadata.uid);
    expect(changed.metadata.resourceVersion).toBe(live?.metadata.resourceVersion);
    expect(changed.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    expect(changed).toEqual({ metadata: expect.objectContaining({ name: 'cfg', namespace: ns.name }) });
  });

  it('is answered with metadata only: the server honours its Accept header on a server-side apply', async () => {
    const res = await client.request<Record<string, unknown>>({
      method: 'PATCH',
      path: resourcePath(configMaps, ns.name, 'cfg'),
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: configMap('c'),
      contentType: 'application/apply-patch+yaml',
      accept: METADATA_ONLY,
      verb: 'apply',
    });
    expect(res.body.kind).toBe('PartialObjectMetadata');
    expect(res.body.apiVersion).toBe('meta.k8s.io/v1');
    expect(res.body).not.toHaveProperty('data');
  });
});
