import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/cluster/client.js';
import { ListsAhead, dryRunAll, readLive, type LiveTarget } from '../../../src/cluster/observe.js';
import { NopeaError } from '../../../src/errors.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { identify } from '../../../src/resources/identify.js';
import type { Manifest } from '../../../src/resources/object.js';

/** Starts a stand-in server on loopback and a client of it that tries each request once. */
async function clientOf(stand: http.Server): Promise<KubeClient> {
  await new Promise<void>((resolve) => stand.listen(0, '127.0.0.1', resolve));
  const { port } = stand.address() as AddressInfo;
  return new KubeClient(
    {
      server: new URL(`http://127.0.0.1:${port}`),
      agent: new http.Agent({ keepAlive: false }),
      headers: () => Promise.resolve({}),
    },
    { maxAttempts: 1 },
  );
}

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
  client = await clientOf(server);
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

describe('LISTs sent ahead of the plan', () => {
  // A stand-in API server that answers every LIST of web's ConfigMaps with a, b and c (and a GET with
  // the object named), answering the next `failing` requests with `failStatus`, and logs each request.
  const requests: string[] = [];
  let failing = 0;
  let failStatus = 500;
  let listServer: http.Server;
  let listClient: KubeClient;
  const catalog = builtinCatalog();
  const cmType = catalog.lookup('v1', 'ConfigMap').found!;
  const targets = (...names: string[]): LiveTarget[] =>
    names.map((n) => ({ id: `/ConfigMap/web/${n}`, type: cmType }));
  const LIST = 'GET /api/v1/namespaces/web/configmaps?limit=500';

  beforeAll(async () => {
    listServer = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (failing > 0) {
        failing--;
        res.statusCode = failStatus;
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'no', code: failStatus }));
        return;
      }
      const item = (name: string): unknown => ({ metadata: { name, namespace: 'web' } });
      const named = /\/configmaps\/([^/?]+)$/.exec(req.url ?? '')?.[1];
      res.end(
        JSON.stringify(
          named ? item(named) : { kind: 'ConfigMapList', items: ['a', 'b', 'c'].map(item), metadata: {} },
        ),
      );
    });
    listClient = await clientOf(listServer);
  });
  afterAll(async () => {
    listClient.close();
    await new Promise((resolve) => listServer.close(resolve));
  });

  it('are taken by the plan instead of listing again, all of a service at once', async () => {
    requests.length = 0;
    const ahead = new ListsAhead(listClient);
    ahead.start('web', targets('a', 'b', 'c'));
    // Pending: starting again (the strategy choice and the plan both identify the service) sends none.
    ahead.start('web', targets('a', 'b', 'c'));
    const live = await readLive(listClient, targets('a', 'b', 'c', 'd'), ahead.take('web'));
    expect([...live].map(([id, o]) => [id, o?.metadata.name])).toEqual([
      ['/ConfigMap/web/a', 'a'],
      ['/ConfigMap/web/b', 'b'],
      ['/ConfigMap/web/c', 'c'],
      ['/ConfigMap/web/d', undefined],
    ]);
    expect(requests).toEqual([LIST]);
    // Taken: a plan made again reads the cluster anew, and another service never sees them.
    expect(ahead.take('web')).toBeUndefined();
    ahead.start('api', targets('a', 'b', 'c'));
    await readLive(listClient, targets('a', 'b', 'c'), ahead.take('web'));
    expect(requests).toEqual([LIST, LIST, LIST]);
  });

  it('leave small groups to GETs, and a failed one to the plan', async () => {
    requests.length = 0;
    const ahead = new ListsAhead(listClient);
    ahead.start('web', targets('a', 'b'));
    expect(requests).toEqual([]);
    failing = 1;
    failStatus = 500;
    ahead.start('web', targets('a', 'b', 'c'));
    const live = await readLive(listClient, targets('a', 'b', 'c'), ahead.take('web'));
    expect(live.get('/ConfigMap/web/c')?.metadata.name).toBe('c');
    expect(requests).toEqual([LIST, LIST]);
  });

  it('that were forbidden go straight to one GET each', async () => {
    requests.length = 0;
    const ahead = new ListsAhead(listClient);
    failing = 1;
    failStatus = 403;
    ahead.start('web', targets('a', 'b', 'c'));
    const live = await readLive(listClient, targets('a', 'b', 'c'), ahead.take('web'));
    expect([...live.values()].map((o) => o?.metadata.name)).toEqual(['a', 'b', 'c']);
    // The LIST was answered before the GETs went out; those run side by side, in any order.
    expect(requests[0]).toBe(LIST);
    expect(requests.slice(1).sort()).toEqual([
      'GET /api/v1/namespaces/web/configmaps/a',
      'GET /api/v1/namespaces/web/configmaps/b',
      'GET /api/v1/namespaces/web/configmaps/c',
    ]);
  });
});
