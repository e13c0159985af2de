/**
 * Which proxy the requests to the API server go through, decided as kubectl (client-go) decides it:
 * the kubeconfig cluster's `proxy-url`; without one, the environment's `HTTPS_PROXY` (`HTTP_PROXY` for
 * an http:// server, the lowercase names too) unless `NO_PROXY` exempts the server, by the rules of Go's
 * net/http (golang.org/x/net/http/httpproxy):
 * - localhost and loopback addresses never go through a proxy;
 * - `NO_PROXY` is a comma-separated list: `*` (no proxy at all), an IP address or CIDR
 *   (`10.0.0.0/8`, `fd00::/8`), or a domain: `example.com` matches it and its subdomains,
 *   `.example.com` and `*.example.com` only its subdomains; each entry but a CIDR may end in `:port`;
 * - a proxy given without a scheme (`proxy.example:3128`) is an http:// proxy.
 * Pure: the environment is passed in.
 */
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { NopeaError } from '../errors.js';

/** The proxy schemes the agents speak, as client-go accepts them. */
const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks:', 'socks4:', 'socks4a:', 'socks5:', 'socks5h:']);

export interface ProxyChoice {
  url: URL;
  /** Where it was set: `proxy-url` (the kubeconfig cluster's) or the environment variable's name. */
  source: string;
  /** The proxy without its user and password, to name in messages: `http://proxy.example:3128`. */
  shown: string;
}

/**
 * The proxy for `server`, or undefined to connect directly. `where` names the kubeconfig's cluster for
 * a `proxy-url` that is no proxy URL; neither message echoes the value, which may hold a password.
 */
export function chooseProxy(
  server: URL,
  proxyUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  where: string,
): ProxyChoice | undefined {
  if (proxyUrl) {
    const url = asProxyUrl(proxyUrl, false);
    if (!url) {
      throw new NopeaError('input', {
        message: `${where} has a proxy-url that is not an http(s):// or socks5:// URL with a host`,
        hint: 'set clusters[].cluster.proxy-url to e.g. http://proxy.example:3128, or remove it to connect directly',
      });
    }
    return choice(url, 'proxy-url');
  }
  const names = server.protocol === 'https:' ? ['HTTPS_PROXY', 'https_proxy'] : ['HTTP_PROXY', 'http_proxy'];
  const name = names.find((n) => env[n]);
  if (!name) return undefined;
  const port = server.port || (server.protocol === 'https:' ? '443' : '80');
  if (exempt(server.hostname, port, env.NO_PROXY || env.no_proxy || '')) return undefined;
  const url = asProxyUrl(env[name]!, true);
  if (!url) {
    throw new NopeaError('input', {
      message: `${name} in the environment is not an http(s):// or socks5:// proxy URL with a host (it is used for the API server ${server.host})`,
      hint: `set ${name} to e.g. http://proxy.example:3128, unset it, or add ${server.hostname} to NO_PROXY to connect directly`,
    });
  }
  return choice(url, name);
}

function choice(url: URL, source: string): ProxyChoice {
  return { url, source, shown: `${url.protocol}//${url.host}` };
}

/** The value as a proxy URL; from the environment, one without a scheme is an http:// proxy (as in Go). */
function asProxyUrl(value: string, schemeOptional: boolean): URL | undefined {
  const parse = (v: string): URL | undefined => {
    try {
      return new URL(v);
    } catch {
      return undefined;
    }
  };
  let url = parse(value);
  // `proxy.example:3128` parses as the scheme `proxy.example:` with no host.
  if (schemeOptional && (!url || !url.host)) url = parse(`http://${value}`);
  return url && PROXY_SCHEMES.has(url.protocol) && url.hostname ? url : undefined;
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a request to host:port skips the proxy (hostname as a URL gives it: lowercase, IPv6 in brackets). */
export function exempt(hostname: string, port: string, noProxy: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const family = net.isIP(host);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (host === 'localhost' || (family !== 0 && LOOPBACK.check(host, type))) return true;
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr) {
      const kind = net.isIP(cidr[1]!);
      const bits = Number(cidr[2]);
      if (kind !== 0 && bits <= (kind === 6 ? 128 : 32)) {
        if (family !== 0) {
          const list = new net.BlockList();
          list.addSubnet(cidr[1]!, bits, kind === 6 ? 'ipv6' : 'ipv4');
          if (list.check(host, type)) return true;
        }
        continue;
      }
    }
    const { name, port: entryPort } = splitPort(entry);
    if (!name || (entryPort && entryPort !== port)) continue;
    if (net.isIP(name) !== 0) {
      if (family !== 0 && sameIp(name, host)) return true;
      continue;
    }
    const subdomainsOnly = name.startsWith('.') || name.startsWith('*.');
    const domain = domainToASCII(name.replace(/^\*?\./, '')) || name.replace(/^\*?\./, '');
    if (host.endsWith(`.${domain}`) || (!subdomainsOnly && host === domain)) return true;
  }
  return false;
}

/** `host:port`, `[v6]:port`, or a bare host (a bare IPv6 address has colons but no port). */
function splitPort(entry: string): { name: string; port?: string } {
  const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return bracketed[2] ? { name: bracketed[1]!, port: bracketed[2] } : { name: bracketed[1]! };
  if (net.isIP(entry) === 6) return { name: entry };
  const m = /^(.*):(\d+)$/.exec(entry);
  return m ? { name: m[1]!, port: m[2]! } : { name: entry };
}

function sameIp(a: string, b: string): boolean {
  const list = new net.BlockList();
  list.addAddress(a, net.isIP(a) === 6 ? 'ipv6' : 'ipv4');
  return list.check(b, net.isIP(b) === 6 ? 'ipv6' : 'ipv4');
}
