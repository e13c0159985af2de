// A cluster's `proxy-url` is honoured, as kubectl honours it: requests to the real API server go
// through an HTTP proxy with CONNECT (a loopback stand-in here: no corporate proxy is to be had), over
// keep-alive connections, and a proxy-url that is no proxy URL is refused without echoing its password.
// Without one, HTTPS_PROXY from the environment is, as kubectl reads it: for a server named by a host
// name (the stand-in takes `kube.nopea.test` to the loopback API server, so nothing resolves it), and
// never for a loopback server. A `socks5://` or `socks5h://` proxy-url goes through a SOCKS5 proxy (a
// loopback stand-in too), with the user and password of the URL when it has them.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { KubeClient } from '../../../src/cluster/client.js';
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

/** Reads exactly `n` bytes at a time from a socket, however its data arrives. */
function byteReader(socket: net.Socket): (n: number) => Promise<Buffer> {
  let buffered = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting?.();
  });
  return async (n) => {
    while (buffered.length < n) {
      if (socket.destroyed || socket.readableEnded) throw new Error('the client went away');
      await new Promise<void>((resolve) => {
        waiting = resolve;
        socket.once('close', resolve);
      });
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
}

/** A SOCKS5 stand-in (RFC 1928, with RFC 1929 user and password when `auth` is set) that records each target. */
async function startSocks(auth?: { user: string; password: string }): Promise<{
  port: number;
  targets: string[];
  close: () => Promise<void>;
}> {
  const targets: string[] = [];
  const open = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    open.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => open.delete(s));
  };
  const socks = net.createServer((client) => {
    track(client);
    const read = byteReader(client);
    void (async () => {
      const [version, count] = await read(2);
      const methods = await read(count!);
      const method = auth ? 0x02 : 0x00;
      if (version !== 5 || !methods.includes(method)) return client.end(Buffer.from([5, 0xff]));
      client.write(Buffer.from([5, method]));
      if (auth) {
        const [, userLength] = await read(2);
        const user = (await read(userLength!)).toString();
        const [passwordLength] = await read(1);
        const password = (await read(passwordLength!)).toString();
        const ok = user === auth.user && password === auth.password;
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) return client.end();
      }
      const [, command, , type] = await read(4);
      const host =
        type === 1
          ? [...(await read(4))].join('.')
          : type === 3
            ? (await read((await read(1))[0]!)).toString()
            : (await read(16)).toString('hex');
      const port = (await read(2)).readUInt16BE(0);
      targets.push(`${host}:${port}`);
      // Only the test API server, by address or by the name only this stand-in knows.
      if (
        command !== 1 ||
        (host !== server.hostname && host !== NAMED_HOST) ||
        String(port) !== server.port
      ) {
        return client.end(Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
      }
      const upstream = net.connect(port, server.hostname, () => {
        client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        client.removeAllListeners('data');
        client.pipe(upstream).pipe(client);
      });
      track(upstream);
    })().catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => socks.listen(0, '127.0.0.1', resolve));
  return {
    port: (socks.address() as net.AddressInfo).port,
    targets,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => socks.close(() => resolve()));
    },
  };
}

/** Applies a ConfigMap `name` through `client` and reads it back: the same object, as written. */
async function applyAndReadBack(client: KubeClient, name: string): Promise<void> {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns.name },
    data: { through: name },
  };
  const written = await applyForMetadata(client, configMaps, cm);
  const live = await getObject(client, configMaps, ns.name, name);
  expect(live?.metadata.uid).toBe(written.metadata.uid);
  expect(live?.data).toEqual({ through: name });
}

/** One request, one attempt, through `kubeconfig` with `env`: the error it fails with and how it is explained. */
async function failureOf(
  kubeconfig: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ err: Error; problem: Problem }> {
  const client = await connect({ kubeconfig, env, client: { maxAttempts: 1 } });
  try {
    const err = (await client
      .request({ method: 'GET', path: '/version', verb: 'get' })
      .catch((e: unknown) => e)) as Error;
    return { err, problem: describeApiError(err, 'reading the version').problems[0]! };
  } finally {
    client.close();
  }
}

/** GET /version through `client`, which must answer with a version. */
async function expectVersion(client: KubeClient): Promise<void> {
  const res = await client.request<{ gitVersion?: string }>({ method: 'GET', path: '/version', verb: 'get' });
  expect(res.body.gitVersion).toMatch(/^v\d+\./);
}

/** GET /version through `kubeconfig` with `env` as the environment (see expectVersion). */
async function readVersion(kubeconfig: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const client = await connect({ kubeconfig, env });
  try {
    await expectVersion(client);
  } finally {
    client.close();
  }
}

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
      await applyAndReadBack(client, 'via-proxy');
      for (let i = 0; i < 4; i++) await expectVersion(client);
    } finally {
      client.close();
    }
    // Six requests in sequence, one CONNECT: the tunnel is a keep-alive connection, not one per request.
    expect(tunnels).toEqual([`${server.hostname}:${server.port}`]);
  });

  /** One request, one attempt, through `proxyUrl` (see failureOf). */
  const failure = (name: string, proxyUrl: string) => failureOf(kubeconfigWithProxy(name, proxyUrl));

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

describe('a SOCKS5 proxy-url', () => {
  /** A kubeconfig whose cluster goes through `proxyUrl`, named NAMED_HOST when `named`. */
  function socksKubeconfig(name: string, proxyUrl: string, named: boolean): string {
    const file = named ? kubeconfigWithProxy(name, undefined) : kubeconfigWithProxy(name, proxyUrl);
    if (!named) return file;
    const config = parse(fs.readFileSync(file, 'utf8')) as {
      clusters: { cluster: Record<string, unknown> }[];
    };
    for (const c of config.clusters) c.cluster['proxy-url'] = proxyUrl;
    fs.writeFileSync(file, stringify(config));
    return file;
  }

  it('applies and reads through socks5://, and hands socks5h:// the host name to resolve', async () => {
    const socks = await startSocks();
    try {
      const client = await connect({
        kubeconfig: socksKubeconfig('socks5', `socks5://127.0.0.1:${socks.port}`, false),
        env: {},
      });
      try {
        await applyAndReadBack(client, 'via-socks');
      } finally {
        client.close();
      }
      expect(socks.targets.length).toBeGreaterThan(0);
      expect(new Set(socks.targets)).toEqual(new Set([`${server.hostname}:${server.port}`]));

      socks.targets.length = 0;
      // socks5h: the proxy resolves the name, so a name only the proxy knows works.
      await readVersion(socksKubeconfig('socks5h', `socks5h://127.0.0.1:${socks.port}`, true));
      expect(socks.targets).toEqual([`${NAMED_HOST}:${server.port}`]);
    } finally {
      await socks.close();
    }
  });

  it('logs in with the user and password of the URL, and a refused login names the proxy without the password', async () => {
    const socks = await startSocks({ user: 'ci', password: 'r1ght-pw' });
    try {
      await readVersion(socksKubeconfig('socks-auth', `socks5h://ci:r1ght-pw@127.0.0.1:${socks.port}`, true));
      expect(socks.targets).toEqual([`${NAMED_HOST}:${server.port}`]);

      const { problem } = await failureOf(
        socksKubeconfig('socks-bad', `socks5h://ci:wr0ng-pw@127.0.0.1:${socks.port}`, true),
      );
      expect(problem.message).toMatch(/authentication failed/i);
      expect(problem.message).toContain(`through the proxy socks5h://127.0.0.1:${socks.port}`);
      expect(problem.hint).toMatch(/proxy-url of the kubeconfig cluster/);
      expect(JSON.stringify(problem)).not.toContain('wr0ng-pw');
    } finally {
      await socks.close();
    }
  });
});

describe('HTTPS_PROXY and NO_PROXY from the environment', () => {
  /** GET /version with `env` as the environment; the tunnels the stand-in opened meanwhile. */
  async function version(kubeconfig: string, env: NodeJS.ProcessEnv): Promise<string[]> {
    tunnels.length = 0;
    await readVersion(kubeconfig, env);
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
    const { problem } = await failureOf(kubeconfigWithProxy('env-gone', undefined), {
      HTTPS_PROXY: `http://someone:pw-in-env@127.0.0.1:${port}`,
    });
    expect(problem.message).toMatch(new RegExp(`ECONNREFUSED.*through the proxy http://127.0.0.1:${port}`));
    expect(problem.hint).toMatch(/^check HTTPS_PROXY in the environment .*NO_PROXY/);
    expect(JSON.stringify(problem)).not.toContain('pw-in-env');
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
