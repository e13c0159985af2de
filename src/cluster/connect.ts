/**
 * Resolving "which cluster, as whom" the way kubectl does: `--kubeconfig`, then `KUBECONFIG` (a
 * list of files, merged), then `~/.kube/config`, then the in-cluster service account; `--context`
 * picks a context. Unlike client-node's loadFromDefault there is no silent fallback to localhost:
 * with nothing configured the error says which sources were tried.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { NopeaError, errorMessage } from '../errors.js';
import { KubeClient, type ClientOptions, type Transport } from './client.js';
import { chooseProxy, type ProxyChoice } from './proxy.js';
import { excerpt, maskCredentials } from '../resources/excerpt.js';

export interface ConnectOptions {
  /** Path given with `--kubeconfig`. */
  kubeconfig?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  client?: ClientOptions;
}

type KubeConfigClass = typeof import('@kubernetes/client-node').KubeConfig;

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Why a kubeconfig could not be read, without its content: the YAML parser's message quotes the lines
 * around the error (`10 |     token: …`), and a kubeconfig's lines are credentials. Its first line
 * says what and where (`bad indentation of a mapping entry (10:5)`).
 */
function kubeconfigError(err: unknown): string {
  const [first = ''] = errorMessage(err).split('\n');
  // An unquoted value that starts with "!" is read as a tag, which the parser names.
  return excerpt(first.replace(/\b(unknown tag) !<[^>]*>/g, '$1'), 200);
}

/** Which kubeconfig sources exist, in kubectl's order of precedence, and what was tried. */
function loadKubeConfig(
  KubeConfig: KubeConfigClass,
  opts: ConnectOptions,
): { kc: KubeConfig; source: string } {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  const tried: string[] = [];
  const load = (file: string, what: string): void => {
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new NopeaError('input', {
        message: `cannot read kubeconfig ${file} (${what}): ${kubeconfigError(err)}`,
        hint: 'check the file exists and is a valid kubeconfig',
      });
    }
  };

  if (opts.kubeconfig) {
    if (!fs.existsSync(opts.kubeconfig)) {
      throw new NopeaError('input', {
        message: `kubeconfig ${opts.kubeconfig} (from --kubeconfig) does not exist`,
        hint: 'pass the path of an existing kubeconfig file',
      });
    }
    load(opts.kubeconfig, '--kubeconfig');
    return { kc, source: opts.kubeconfig };
  }
  tried.push('--kubeconfig (not given)');

  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (list.length > 0) {
    const existing = list.filter((f) => fs.existsSync(f));
    if (existing.length === 0) {
      tried.push(`KUBECONFIG=${env.KUBECONFIG} (no such file)`);
    } else {
      // Like kubectl: the first file to set a value wins; missing files in the list are ignored.
      load(existing[0]!, 'KUBECONFIG');
      for (const f of existing.slice(1)) {
        const more = new KubeConfig();
        try {
          more.loadFromFile(f);
        } catch (err) {
          throw new NopeaError('input', `cannot read kubeconfig ${f} (KUBECONFIG): ${kubeconfigError(err)}`);
        }
        kc.mergeConfig(more, true);
      }
      return { kc, source: existing.join(path.delimiter) };
    }
  } else {
    tried.push('KUBECONFIG (unset)');
  }

  const home = opts.home ?? os.homedir();
  const homeConfig = path.join(home, '.kube', 'config');
  if (fs.existsSync(homeConfig)) {
    load(homeConfig, '~/.kube/config');
    return { kc, source: homeConfig };
  }
  tried.push(`${homeConfig} (not found)`);

  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(path.join(SA_DIR, 'token'))) {
    kc.loadFromCluster();
    return { kc, source: 'in-cluster service account' };
  }
  tried.push('in-cluster service account (not running in a pod)');

  throw new NopeaError('input', {
    message: `no Kubernetes cluster configured; tried: ${tried.join(', ')}`,
    hint: 'pass --kubeconfig FILE or set KUBECONFIG; to plan without a cluster, run nopea diff --offline (against the state branch only)',
  });
}

/** Builds a client for the selected cluster and context. */
export async function connect(opts: ConnectOptions = {}): Promise<KubeClient> {
  // Loaded here, not at start-up: the client's code (auth plugins included) is evaluated while the
  // run's other first steps (the state fetch, reading manifests) are already under way.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { kc, source } = loadKubeConfig(KubeConfig, opts);
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new NopeaError('input', {
        message: `context "${opts.context}" is not in ${source}`,
        hint: known.length ? `known contexts: ${known.join(', ')}` : 'the kubeconfig defines no contexts',
      });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    const name = kc.getCurrentContext();
    const context = name ? kc.getContextObject(name) : undefined;
    const clusters = kc.getClusters().map((c) => c.name);
    const defined = clusters.length ? `clusters: ${clusters.join(', ')}` : 'it defines no clusters';
    throw new NopeaError(
      'input',
      context
        ? {
            message: `kubeconfig ${source}: context "${name}" names cluster "${context.cluster}", which it does not define (${defined})`,
            hint: "fix the context's cluster, or pass --context with another context",
          }
        : {
            message: `kubeconfig ${source} has no current context`,
            hint: 'pass --context NAME or set current-context in the kubeconfig',
          },
    );
  }
  const server = serverUrl(cluster.server);
  if (!server) {
    throw new NopeaError('input', {
      message: `kubeconfig ${source}: context "${kc.getCurrentContext()}" uses cluster "${cluster.name}", whose server ${JSON.stringify(cluster.server)} is not a URL`,
      hint: 'set clusters[].cluster.server to the API server address, e.g. https://HOST:6443',
    });
  }
  return new KubeClient(await transportFor(kc, server, source, opts.env ?? process.env), opts.client);
}

/**
 * The API server's address as client-go reads it: a URL with an http(s) scheme, or a bare
 * `host:port`, which means https. Undefined when it is neither.
 */
function serverUrl(server: string): URL | undefined {
  const candidate = /^[a-z][a-z0-9+.-]*:\//i.test(server) ? server : `https://${server}`;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname ? url : undefined;
}

/** Auth headers and TLS material as client-node resolves them (exec and OIDC plugins included). */
async function resolveAuth(
  kc: KubeConfig,
): Promise<{ tls: https.AgentOptions; headers: Record<string, string> }> {
  const opts: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const tls: https.AgentOptions = {
    ca: opts.ca,
    cert: opts.cert,
    key: opts.key,
    servername: opts.servername,
  };
  if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
  return { tls, headers };
}

/** Transport for a loaded kubeconfig: one keep-alive agent, auth headers refreshed when they can expire. */
async function transportFor(
  kc: KubeConfig,
  url: URL,
  source: string,
  env: NodeJS.ProcessEnv,
): Promise<Transport> {
  let first: Awaited<ReturnType<typeof resolveAuth>>;
  try {
    first = await resolveAuth(kc);
  } catch (err) {
    throw new NopeaError('input', {
      message: `cannot load credentials from ${source}: ${maskCredentials(errorMessage(err))}`,
      hint: 'check the user entry of the current context (certificate files, token, exec plugin on PATH)',
    });
  }
  const user = kc.getCurrentUser();
  // Exec and auth-provider credentials expire; client-node caches them until then.
  const dynamic = Boolean(user?.exec || user?.authProvider);
  const cluster = kc.getCurrentCluster();
  const where = `kubeconfig ${source}: cluster "${cluster?.name}"`;
  const { agent, proxy } = await agentFor(url, first.tls, cluster?.proxyUrl, env, where);
  return {
    server: url,
    agent,
    ...(proxy && { proxy: { shown: proxy.shown, source: proxy.source } }),
    async headers() {
      return dynamic ? (await resolveAuth(kc)).headers : first.headers;
    },
  };
}

/**
 * The agent every request goes through: keep-alive connections straight to the server, or through the
 * proxy chooseProxy picks (the cluster's `proxy-url`, else HTTPS_PROXY and NO_PROXY; the agents are
 * client-node's own): `socks5://` and the other SOCKS schemes through a SOCKS proxy, `http://` and
 * `https://` through an HTTP proxy, which an https server is reached through with CONNECT, TLS to the
 * server inside it.
 */
async function agentFor(
  url: URL,
  tls: https.AgentOptions,
  proxyUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  where: string,
): Promise<{ agent: http.Agent; proxy?: ProxyChoice }> {
  const pool = { keepAlive: true, maxSockets: 32 };
  const secure = url.protocol === 'https:';
  const proxy = chooseProxy(url, proxyUrl, env, where);
  if (!proxy) return { agent: secure ? new https.Agent({ ...pool, ...tls }) : new http.Agent(pool) };
  if (proxy.url.protocol.startsWith('socks')) {
    const { SocksProxyAgent } = await import('socks-proxy-agent');
    return { agent: new SocksProxyAgent(proxy.url, { ...pool, ...tls }), proxy };
  }
  const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
  const proxied = { ...pool, proxy: proxy.url.href };
  const agent = secure ? new HttpsProxyAgent({ ...proxied, ...tls }) : new HttpProxyAgent(proxied);
  return { agent, proxy };
}
