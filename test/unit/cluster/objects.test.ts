// DELETE with preconditions: the body carries them, and a failed precondition (409) comes back as
// `changed`, told apart from a deleted object and from one that was already gone.
import { describe, expect, it } from 'vitest';
import type { KubeClient, RequestOptions, Response } from '../../../src/cluster/client.js';
import { ApiError } from '../../../src/cluster/errors.js';
import { deleteObject } from '../../../src/cluster/objects.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';

const configMaps = builtinCatalog().lookup('v1', 'ConfigMap').found!;

/** A client answering every request with `status`, throwing what KubeClient would throw. */
function answering(status: number): { client: KubeClient; calls: RequestOptions[] } {
  const calls: RequestOptions[] = [];
  const request = async (opts: RequestOptions): Promise<Response> => {
    calls.push(opts);
    if ((status >= 200 && status < 300) || opts.allow?.includes(status))
      return { status, body: {}, headers: {} };
    throw ApiError.fromResponse(opts.method, opts.path, status, { reason: 'Conflict', message: 'x' }, {});
  };
  return { client: { request } as unknown as KubeClient, calls };
}

describe('deleteObject', () => {
  it('sends the preconditions in the DeleteOptions', async () => {
    const { client, calls } = answering(200);
    const outcome = await deleteObject(client, configMaps, 'web', 'cfg', {
      preconditions: { uid: 'u-1', resourceVersion: '42' },
    });
    expect(outcome).toBe('deleted');
    expect(calls[0]).toMatchObject({
      method: 'DELETE',
      path: '/api/v1/namespaces/web/configmaps/cfg',
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        propagationPolicy: 'Background',
        preconditions: { uid: 'u-1', resourceVersion: '42' },
      },
    });
  });

  it('resolves changed when the object failed the preconditions, gone when there was none', async () => {
    const preconditions = { uid: 'u-1' };
    expect(await deleteObject(answering(409).client, configMaps, 'web', 'cfg', { preconditions })).toBe(
      'changed',
    );
    expect(await deleteObject(answering(404).client, configMaps, 'web', 'cfg', { preconditions })).toBe(
      'gone',
    );
  });

  it('sends no preconditions unless given, and then throws a 409 like any failure', async () => {
    const { client, calls } = answering(409);
    await expect(deleteObject(client, configMaps, 'web', 'cfg')).rejects.toMatchObject({ status: 409 });
    expect(calls[0]?.body).not.toHaveProperty('preconditions');
  });
});
