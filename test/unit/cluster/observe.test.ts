import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/cluster/client.js';
import { dryRunAll } from '../../../src/cluster/observe.js';
import { NopeaError } from '../../../src/errors.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { identify } from '../../../src/resources/identify.js';
import type { Manifest } from '../../../src/resources/object.js';

// A stand-in API server: server-side apply answers like kube-apiserver does for a namespace that
// does not exist, and echoes the object back otherwise.
const EXISTING = new Set(['web']);
let server: http.Server;
let client: KubeClient;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const ns = /\/namespaces\/([^/]+)\//.exec(req.url ?? '')?.[1];
      res.setHeader('content-type', 'application/json');
      if (ns && !EXISTING.has(ns)) {
        res.statusCode = 404;
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: `namespaces "${ns}" not found`,
            reason: 'NotFound',
            details: { name: ns, kind: 'namespaces' },
            code: 404,
          }),
        );
        return;
      }
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new KubeClient(
    {
      server: new URL(`http://127.0.0.1:${port}`),
      agent: new http.Agent({ keepAlive: false }),
      headers: () => Promise.resolve({}),
    },
    { maxAttempts: 1 },
  );
});

afterAll(async () => {
  client.close();
  await new Promise((resolve) => server.close(resolve));
});

const cm = (name: string, namespace: string, line: number): Manifest =>
  ({
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } },
    origin: { file: 'app/config.yaml', line },
  }) as Manifest;

describe('dryRunAll', () => {
  it('reports a namespace that does not exist as one input problem at its first object', async () => {
    const desired = identify(
      [cm('a', 'web', 1), cm('b', 'typo', 9), cm('c', 'typo', 4), cm('d', 'other', 12)],
      builtinCatalog(),
    );
    const err = await dryRunAll(client, desired).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).kind).toBe('input');
    expect((err as NopeaError).problems).toEqual([
      {
        message: 'namespace "other" of /ConfigMap/other/d does not exist',
        origin: { file: 'app/config.yaml', line: 12 },
        object: '/ConfigMap/other/d',
        hint: 'create the namespace, add a Namespace object for it to the manifests, or pass the right --namespace',
      },
      {
        message: 'namespace "typo" of /ConfigMap/typo/c does not exist (and 1 more object(s) in it)',
        origin: { file: 'app/config.yaml', line: 4 },
        object: '/ConfigMap/typo/c',
        hint: 'create the namespace, add a Namespace object for it to the manifests, or pass the right --namespace',
      },
    ]);
  });

  it('defers objects whose namespace the same change creates', async () => {
    const desired = identify(
      [
        cm('a', 'web', 1),
        cm('b', 'fresh', 5),
        {
          object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } },
          origin: { file: 'app/ns.yaml', line: 1 },
        } as Manifest,
      ],
      builtinCatalog(),
    );
    const result = await dryRunAll(client, desired);
    expect([...result.results.keys()].sort()).toEqual(['/ConfigMap/web/a', '/Namespace//fresh']);
    expect(result.deferred.get('/ConfigMap/fresh/b')).toMatch(
      /namespace fresh is created by this sync first/,
    );
  });
});
