// A cluster's `proxy-url` is honoured, as kubectl honours it: requests to the real API server go
// through an HTTP proxy with CONNECT (a loopback stand-in here: no corporate proxy is to be had), over
// keep-alive connections, and a proxy-url that is no proxy URL is refused without echoing its password.
// Without one, HTTPS_PROXY from the environment is, as kubectl reads it: for a server named by a host
// name (the stand-in takes `kube.nopea.test` to the loopback API server, so nothing resolves it), and
// never for a loopback server.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { connect } from '../../../src/cluster/connect.js';
import { describeApiError } from '../../../src/cluster/explain.js';
import { applyForMetadata, getObject } from '../../../src/cluster/objects.js';
import { NopeaError, type Problem } from '../../../src/errors.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { testCluster, useNamespace } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';

const configMaps = builtinCatalog().lookup('v1', 'ConfigMap').found!;
const ns = useNamespace('proxy-url');

/** A CONNECT proxy on loopback that records each tunnel's target. */
let proxy: http.Server;
let proxyPort = 0;
const tunnels: string[] = [];
const sockets = new Set<net.Socket>();
let dir: string;
let server: URL;

/** A host name only the stand-in knows: it tunnels it to the test API server's loopback address. */
const NAMED_HOST = 'kube.nopea.test';

/** The admin kubeconfig with `proxy-url` set on its cluster, or (proxyUrl undefined) the server named NAMED_HOST. */
function kubeconfigWithProxy(name: string, proxyUrl: string | undefined): string {
  const config = parse(fs.readFileSync(testCluster().kubeconfig, 'utf8')) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  for (const c of config.clusters) {
    if (proxyUrl !== undefined) {
      c.cluster['proxy-url'] = proxyUrl;
      continue;
    }
    const named = new URL(String(c.cluster.server));
    named.hostname = NAMED_HOST;
    c.cluster.server = named.origin;
    // The server's certificate is for localhost and 127.0.0.1: verify it against the name it has.
    c.cluster['tls-server-name'] = 'localhost';
  }
  const file = path.join(dir, `${name}.kubeconfig`);
  fs.writeFileSync(file, stringify(config));
  return file;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nopea-proxy-url-'));
  const admin = parse(fs.readFileSync(testCluster().kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  server = new URL(admin.clusters[0]!.cluster.server);
  proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    // Only the test API server: the stand-in is no open proxy.
    if ((host !== server.hostname && host !== NAMED_HOST) || port !== server.port) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(port), server.hostname, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('proxy-url of the kubeconfig cluster', () => {
  it('sends every request through the proxy, reusing one tunnel for requests one after another', async () => {
    tunnels.length = 0;
    const client = await connect({
      kubeconfig: kubeconfigWithProxy('through', `http://127.0.0.1:${proxyPort}`),
      env: {},
    });
    try {
      const cm = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'via-proxy', namespace: ns.name },
        data: { through: 'proxy' },
      };
      const written = await applyForMetadata(client, configMaps, cm);
      for (let i = 0; i < 4; i++) {
        const res = await client.request<{ gitVersion?: string }>({
          method: 'GET',
          path: '/version',
          verb: 'get',
        });
        expect(res.body.gitVersion).toMatch(/^v\d+\./);
      }
      const live = await getObject(client, configMaps, ns.name, 'via-proxy');
      expect(live?.metadata.uid).toBe(written.metadata.uid);
      expect(live?.data).toEqual({ through: 'proxy' });
    } finally {
      client.close();
    }
    // Six requests in sequence, one CONNECT: the tunnel is a keep-alive connection, not one per request.
    expect(tunnels).toEqual([`${server.hostname}:${server.port}`]);
  });

  /** One request, one attempt, through `proxyUrl`: the error it fails with and how it is explained. */
  async function failure(name: string, proxyUrl: string): Promise<{ err: Error; problem: Problem }> {
    const client = await connect({
      kubeconfig: kubeconfigWithProxy(name, proxyUrl),
      env: {},
      client: { maxAttempts: 1 },
    });
    try {
      const err = (await client
        .request({ method: 'GET', path: '/version', verb: 'get' })
        .catch((e: unknown) => e)) as Error;
      return { err, problem: describeApiError(err, 'reading the version').problems[0]! };
    } finally {
      client.close();
    }
  }

  it('fails the request, not the process, when the proxy is not there', async () => {
    const port = await closedPort();
    const { err, problem } = await failure('gone', `http://127.0.0.1:${port}`);
    expect(err.message).toMatch(new RegExp(`ECONNREFUSED.*through the proxy http://127.0.0.1:${port}`));
    expect(problem.message).toContain(`through the proxy http://127.0.0.1:${port}`);
    expect(problem.hint).toMatch(/proxy-url of the kubeconfig cluster/);
  });

  it('says which proxy refused the tunnel, without the credentials in its URL', async () => {
    const refusing = http.createServer((_req, res) => res.writeHead(405).end());
    refusing.on('connect', (_req: http.IncomingMessage, socket: net.Socket) => {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const port = (refusing.address() as net.AddressInfo).port;
    try {
      const { problem } = await failure('refusing', `http://who:n0t-the-pw@127.0.0.1:${port}`);
      expect(problem.message).toMatch(new RegExp(`407.*through the proxy http://127.0.0.1:${port}`));
      expect(JSON.stringify(problem)).not.toContain('n0t-the-pw');
      expect(problem.hint).toMatch(/proxy-url/);
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('refuses a proxy-url that is no proxy URL, naming the cluster but not the password in it', async () => {
    const err = await connect({
      kubeconfig: kubeconfigWithProxy('ftp', 'ftp://user:s3cret-pw@proxy.example:21'),
      env: {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    const error = err as NopeaError;
    expect(error.kind).toBe('input');
    expect(error.message).toMatch(
      /cluster ".+" has a proxy-url that is not an http\(s\):\/\/ or socks5:\/\/ URL/,
    );
    expect(error.message).toContain('ftp.kubeconfig');
    expect(JSON.stringify(error.problems)).not.toContain('s3cret-pw');
  });
});

describe('HTTPS_PROXY and NO_PROXY from the environment', () => {
  /** GET /version with `env` as the environment; the tunnels the stand-in opened meanwhile. */
  async function version(kubeconfig: string, env: NodeJS.ProcessEnv): Promise<string[]> {
    tunnels.length = 0;
    const client = await connect({ kubeconfig, env });
    try {
      const res = await client.request<{ gitVersion?: string }>({
        method: 'GET',
        path: '/version',
        verb: 'get',
      });
      expect(res.body.gitVersion).toMatch(/^v\d+\./);
    } finally {
      client.close();
    }
    return [...tunnels];
  }

  it('goes through HTTPS_PROXY to a server named by a host name', async () => {
    const named = kubeconfigWithProxy('named', undefined);
    expect(await version(named, { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` })).toEqual([
      `${NAMED_HOST}:${server.port}`,
    ]);
    // The lowercase name, and a proxy given without a scheme, as Go reads them.
    expect(await version(named, { https_proxy: `127.0.0.1:${proxyPort}` })).toEqual([
      `${NAMED_HOST}:${server.port}`,
    ]);
  });

  it('connects straight to a loopback server, and takes the kubeconfig proxy-url over the environment', async () => {
    const gone = `http://127.0.0.1:${await closedPort()}`;
    expect(await version(testCluster().kubeconfig, { HTTPS_PROXY: gone })).toEqual([]);
    const viaKubeconfig = kubeconfigWithProxy('kubeconfig-first', `http://127.0.0.1:${proxyPort}`);
    expect(await version(viaKubeconfig, { HTTPS_PROXY: gone })).toEqual([
      `${server.hostname}:${server.port}`,
    ]);
  });

  it('names the variable, and NO_PROXY as the way around it, when that proxy fails', async () => {
    const port = await closedPort();
    const client = await connect({
      kubeconfig: kubeconfigWithProxy('env-gone', undefined),
      env: { HTTPS_PROXY: `http://someone:pw-in-env@127.0.0.1:${port}` },
      client: { maxAttempts: 1 },
    });
    try {
      const err = await client
        .request({ method: 'GET', path: '/version', verb: 'get' })
        .catch((e: unknown) => e);
      const problem = describeApiError(err, 'reading the version').problems[0]!;
      expect(problem.message).toMatch(new RegExp(`ECONNREFUSED.*through the proxy http://127.0.0.1:${port}`));
      expect(problem.hint).toMatch(/^check HTTPS_PROXY in the environment .*NO_PROXY/);
      expect(JSON.stringify(problem)).not.toContain('pw-in-env');
    } finally {
      client.close();
    }
  });

  it('is what `nopea diff` uses, from the environment it runs in', async () => {
    const repo = await makeRepo({
      files: {
        'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: via-env\ndata:\n  a: b\n',
      },
    });
    try {
      tunnels.length = 0;
      const kubeconfig = kubeconfigWithProxy('cli', undefined);
      const run = await runNopea(
        ['diff', 'app', '-s', 'envproxy', '-n', ns.name, '--kubeconfig', kubeconfig, '-o', 'json'],
        {
          cwd: repo.work,
          env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'example.org' },
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const plan = (JSON.parse(run.stdout) as { plans: { entries: { action: string; id: string }[] }[] })
        .plans[0]!;
      expect(plan.entries.map((e) => e.action)).toEqual(['create']);
      // Discovery, the dry-run and the reads, all over kept-alive tunnels to the named server.
      expect(tunnels.length).toBeGreaterThan(0);
      expect(new Set(tunnels)).toEqual(new Set([`${NAMED_HOST}:${server.port}`]));
    } finally {
      await repo.cleanup();
    }
  });
});
