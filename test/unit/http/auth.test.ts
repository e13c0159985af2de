import { describe, expect, test } from 'vitest';
import { accessOf, apiKeysFrom, hasKeys, isLoopback, presentedKey } from '../../../src/http/auth.js';
import { PathScrubber } from '../../../src/http/errors.js';

describe('API keys', () => {
  test('read keys, write keys and rotation', () => {
    const keys = apiKeysFrom({ NOPEA_API_KEYS: ' a1 ,, a2', NOPEA_API_WRITE_KEYS: 'w1' });
    expect(hasKeys(keys)).toBe(true);
    expect(accessOf(keys, 'a1')).toBe('read');
    expect(accessOf(keys, 'a2')).toBe('read');
    expect(accessOf(keys, 'w1')).toBe('write');
    expect(accessOf(keys, 'a3')).toBe('none');
    expect(accessOf(keys, '')).toBe('none');
    expect(accessOf(keys, undefined)).toBe('none');
    // A key of another length compares through its hash, never throwing.
    expect(accessOf(keys, 'x'.repeat(1000))).toBe('none');
  });

  test('without write keys every key writes; without keys everything is open', () => {
    expect(accessOf(apiKeysFrom({ NOPEA_API_KEYS: 'k' }), 'k')).toBe('write');
    const none = apiKeysFrom({ NOPEA_API_KEYS: ' , ' });
    expect(hasKeys(none)).toBe(false);
    expect(accessOf(none, undefined)).toBe('write');
  });

  test('the key is the bearer token, else x-api-key', () => {
    expect(presentedKey('Bearer abc', 'def')).toBe('abc');
    expect(presentedKey('bearer   abc ', undefined)).toBe('abc');
    expect(presentedKey('Basic abc', 'def')).toBe('def');
    expect(presentedKey(undefined, '  ')).toBeUndefined();
  });

  test('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'])
      expect(isLoopback(h), h).toBe(false);
  });
});

describe('what an answer may show', () => {
  const scrub = new PathScrubber(['/work/repo'], ['/tmp', '/nonexistent/kc', '/opt/k']).with(
    '/tmp/nopea-serve-x',
  );
  test('known roots become relative, other absolute paths and stack frames go', () => {
    expect(scrub.text('/work/repo/deploy/a.yaml:3: bad')).toBe('deploy/a.yaml:3: bad');
    expect(scrub.text('/tmp/nopea-serve-x/deploy/a.yaml')).toBe('deploy/a.yaml');
    expect(scrub.text('/work/repo is not a repository')).toBe('. is not a repository');
    expect(scrub.text('read /home/u/.kube/config: EACCES')).toBe('read <path>: EACCES');
    expect(scrub.text('boom\n    at f (/x/y.js:1:2)\n    at node:internal/process:1:1')).toBe('boom');
    expect(scrub.text('see file:///opt/nopea/dist/cli.js')).toBe('see <path>');
    // API paths of the cluster's answers stay.
    expect(scrub.text('PUT /apis/coordination.k8s.io/v1/namespaces/x/leases/y: 403')).toContain(
      '/apis/coordination',
    );
    expect(scrub.json({ a: ['/work/repo/x'], n: 1 })).toEqual({ a: ['x'], n: 1 });
    // The server's own paths, wherever they are.
    expect(scrub.text('kubeconfig /nonexistent/kc (from --kubeconfig) does not exist')).toBe(
      'kubeconfig <path> (from --kubeconfig) does not exist',
    );
    expect(scrub.text('/tmp/other/x.yaml and /opt/kubectl stay apart from /opt/k/bin')).toBe(
      '<path> and <path> stay apart from <path>',
    );
  });
});
