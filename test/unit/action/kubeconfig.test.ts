import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeconfigSecrets, writeKubeconfig } from '../../../src/action/kubeconfig.js';

const YAML = `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://10.0.0.1:6443
      certificate-authority-data: Q0FEQVRB
users:
  - name: ci
    user:
      token: "eyJhbGciOiJSUzI1NiJ9.payload.sig"
      client-certificate-data: Q0VSVERBVEE=
      client-key-data: S0VZREFUQQ==
  - name: basic
    user:
      username: admin
      password: 's3cr3t pass'
  - name: oidc
    user:
      auth-provider:
        name: oidc
        config:
          client-secret: oidc-secret
          id-token: id.tok.en
          refresh-token: refresh-me
contexts:
  - name: prod
    context: { cluster: prod, user: ci }
current-context: prod
`;

describe('kubeconfigSecrets', () => {
  it('finds the credentials and leaves public fields alone', () => {
    const secrets = kubeconfigSecrets(YAML);
    expect(secrets.sort()).toEqual(
      [
        'eyJhbGciOiJSUzI1NiJ9.payload.sig',
        'Q0VSVERBVEE=',
        'S0VZREFUQQ==',
        's3cr3t pass',
        'oidc-secret',
        'id.tok.en',
        'refresh-me',
      ].sort(),
    );
    expect(secrets).not.toContain('admin');
    expect(secrets).not.toContain('Q0FEQVRB');
    expect(secrets).not.toContain('https://10.0.0.1:6443');
  });

  it("masks the password of a cluster's proxy-url, as written and decoded, but not the rest of the URL", () => {
    const yaml = [
      'clusters:',
      '  - name: prod',
      '    cluster:',
      '      server: https://10.0.0.1:6443',
      '      proxy-url: http://proxyuser:p%40ss-w0rd@proxy.example:3128',
      '  - name: open',
      '    cluster: { server: https://10.0.0.2:6443, proxy-url: "http://proxy.example:3128" }',
    ].join('\n');
    const secrets = kubeconfigSecrets(yaml);
    expect(secrets.sort()).toEqual(['p%40ss-w0rd', 'p@ss-w0rd'].sort());
    // A kubeconfig the YAML reader refuses is still scanned line by line.
    expect(kubeconfigSecrets(`${yaml}\n  bad: [`)).toEqual(expect.arrayContaining(['p@ss-w0rd']));
  });

  it('reads JSON kubeconfigs', () => {
    const json = JSON.stringify({ users: [{ name: 'u', user: { token: 'json-token-value' } }] }, null, 2);
    expect(kubeconfigSecrets(json)).toEqual(['json-token-value']);
  });

  it('masks each line of a multi-line value', () => {
    const text = 'users:\n- name: u\n  user:\n    token: |\n      line-one\n      line-two\n';
    expect(kubeconfigSecrets(text).sort()).toEqual(['line-one', 'line-two']);
  });

  it('still finds credentials in a kubeconfig that does not parse', () => {
    const broken = 'users:\n  - user:\n      token: tok-broken\n   bad: [unclosed\n';
    expect(kubeconfigSecrets(broken)).toContain('tok-broken');
  });

  it('finds nothing in an empty input', () => {
    expect(kubeconfigSecrets('')).toEqual([]);
  });
});

describe('writeKubeconfig', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a file only the owner can read and removes it on cleanup', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nopea-kc-test-'));
    const written = await writeKubeconfig(YAML, dir);
    expect(path.dirname(path.dirname(written.path))).toBe(dir);
    expect(await readFile(written.path, 'utf8')).toBe(YAML);
    expect((await stat(written.path)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(written.path))).mode & 0o777).toBe(0o700);
    await written.cleanup();
    expect(existsSync(path.dirname(written.path))).toBe(false);
  });
});
