// Which proxy a request to the API server goes through: the kubeconfig's proxy-url, else the
// environment's HTTPS_PROXY/HTTP_PROXY unless NO_PROXY exempts the server, with Go's net/http rules
// (the cases below follow golang.org/x/net/http/httpproxy's own tests where they overlap).
import { describe, expect, it } from 'vitest';
import { chooseProxy, exempt } from '../../../src/cluster/proxy.js';
import { NopeaError } from '../../../src/errors.js';

const where = 'kubeconfig /tmp/k: cluster "prod"';
const server = new URL('https://kube.example.com:6443');

function chosen(env: NodeJS.ProcessEnv, at: URL = server, proxyUrl?: string): string | undefined {
  const c = chooseProxy(at, proxyUrl, env, where);
  return c && `${c.source} ${c.url.href}`;
}

describe('chooseProxy', () => {
  it("takes the kubeconfig cluster's proxy-url first, whatever the environment says", () => {
    expect(chosen({ HTTPS_PROXY: 'http://env:1', NO_PROXY: '*' }, server, 'http://kc:3128')).toBe(
      'proxy-url http://kc:3128/',
    );
  });

  it('reads HTTPS_PROXY for an https server and HTTP_PROXY for an http one, uppercase first', () => {
    const env = {
      HTTPS_PROXY: 'http://secure:1',
      https_proxy: 'http://lower:1',
      HTTP_PROXY: 'http://plain:1',
    };
    expect(chosen(env)).toBe('HTTPS_PROXY http://secure:1/');
    expect(chosen({ https_proxy: 'http://lower:1' })).toBe('https_proxy http://lower:1/');
    expect(chosen(env, new URL('http://kube.example.com:8080'))).toBe('HTTP_PROXY http://plain:1/');
    // An https server does not use HTTP_PROXY (as in Go).
    expect(chosen({ HTTP_PROXY: 'http://plain:1' })).toBeUndefined();
    expect(chosen({})).toBeUndefined();
    expect(chosen({ HTTPS_PROXY: '' })).toBeUndefined();
  });

  it('takes a proxy without a scheme as http://, and keeps socks5://', () => {
    expect(chosen({ HTTPS_PROXY: 'proxy.corp:3128' })).toBe('HTTPS_PROXY http://proxy.corp:3128/');
    expect(chosen({ HTTPS_PROXY: '10.0.0.1:3128' })).toBe('HTTPS_PROXY http://10.0.0.1:3128/');
    expect(chosen({ HTTPS_PROXY: 'socks5://s:1080' })).toBe('HTTPS_PROXY socks5://s:1080');
  });

  it('names the proxy without its credentials', () => {
    const c = chooseProxy(server, undefined, { HTTPS_PROXY: 'http://user:s3cret@proxy:3128' }, where)!;
    expect(c.shown).toBe('http://proxy:3128');
    expect(c.url.password).toBe('s3cret');
  });

  it('never proxies localhost or a loopback server, as Go does', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128' };
    for (const s of [
      'https://localhost:6443',
      'https://127.0.0.1:6443',
      'https://127.8.9.1',
      'https://[::1]:6443',
    ])
      expect(chosen(env, new URL(s))).toBeUndefined();
    expect(chosen(env, new URL('https://10.1.2.3:6443'))).toBe('HTTPS_PROXY http://proxy:3128/');
  });

  it('refuses a value that is no proxy URL, naming where it came from but not the value', () => {
    const refused = (f: () => unknown): NopeaError => {
      try {
        f();
      } catch (err) {
        return err as NopeaError;
      }
      throw new Error('not refused');
    };
    const fromEnv = refused(() => chooseProxy(server, undefined, { HTTPS_PROXY: 'ftp://u:pw@x' }, where));
    expect(fromEnv.kind).toBe('input');
    expect(fromEnv.message).toMatch(
      /^HTTPS_PROXY in the environment is not .* API server kube.example.com:6443/,
    );
    expect(fromEnv.problems[0]!.hint).toMatch(/add kube.example.com to NO_PROXY/);
    const fromKubeconfig = refused(() => chooseProxy(server, 'http//pw@', {}, where));
    expect(fromKubeconfig.message).toMatch(
      /^kubeconfig \/tmp\/k: cluster "prod" has a proxy-url that is not/,
    );
    for (const e of [fromEnv, fromKubeconfig]) expect(JSON.stringify(e.problems)).not.toMatch(/pw/);
  });
});

describe('exempt (NO_PROXY)', () => {
  const cases: [host: string, port: string, noProxy: string, skips: boolean][] = [
    ['kube.example.com', '6443', '', false],
    ['kube.example.com', '6443', '*', true],
    ['kube.example.com', '6443', ' other.org , *', true],
    // A domain matches itself and its subdomains; a leading dot or *. only its subdomains.
    ['example.com', '443', 'example.com', true],
    ['kube.example.com', '443', 'example.com', true],
    ['kube.example.com', '443', 'EXAMPLE.com', true],
    ['notexample.com', '443', 'example.com', false],
    ['example.com', '443', '.example.com', false],
    ['kube.example.com', '443', '.example.com', true],
    ['example.com', '443', '*.example.com', false],
    ['a.b.example.com', '443', '*.example.com', true],
    // With a port, only that port.
    ['kube.example.com', '6443', 'example.com:6443', true],
    ['kube.example.com', '443', 'example.com:6443', false],
    // Addresses and CIDRs, IPv4 and IPv6.
    ['10.1.2.3', '6443', '10.1.2.3', true],
    ['10.1.2.3', '6443', '10.1.2.4', false],
    ['10.1.2.3', '6443', '10.1.2.3:6443', true],
    ['10.1.2.3', '443', '10.1.2.3:6443', false],
    ['10.1.2.3', '6443', '10.0.0.0/8', true],
    ['11.1.2.3', '6443', '10.0.0.0/8', false],
    ['[fd00::1]', '6443', 'fd00::/8', true],
    ['[fd00::1]', '6443', 'fd00::1', true],
    ['[fd00::1]', '6443', '[fd00::1]:6443', true],
    ['[fd00::1]', '443', '[fd00::1]:6443', false],
    ['[fe80::1]', '6443', 'fd00::/8', false],
    // A CIDR says nothing about a name; a malformed entry matches nothing.
    ['kube.example.com', '443', '10.0.0.0/8', false],
    ['kube.example.com', '443', ':6443', false],
    // Loopback is never proxied, whatever NO_PROXY says.
    ['127.0.0.1', '6443', '', true],
    ['localhost', '6443', '', true],
  ];
  for (const [host, port, noProxy, skips] of cases) {
    it(`${host}:${port} with NO_PROXY=${JSON.stringify(noProxy)} ${skips ? 'connects directly' : 'goes through the proxy'}`, () => {
      expect(exempt(host, port, noProxy)).toBe(skips);
    });
  }

  it('reads NO_PROXY, or no_proxy when NO_PROXY is unset', () => {
    expect(chosen({ HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example.com' })).toBeUndefined();
    expect(chosen({ HTTPS_PROXY: 'http://p:1', no_proxy: 'example.com' })).toBeUndefined();
    expect(chosen({ HTTPS_PROXY: 'http://p:1', no_proxy: 'other.org' })).toBe('HTTPS_PROXY http://p:1/');
  });
});
