// Resolving the cluster from a kubeconfig file: a server address that is not a URL is the user's
// mistake (exit 2 naming file, context and value); a bare host:port means https, as in kubectl.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connect } from '../../../src/cluster/connect.js';
import { NopeaError } from '../../../src/errors.js';
import { errorExitCode } from '../../../src/surface/outcome.js';

/** A kubeconfig file holding `text`, removed after the test. */
function configFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nopea-connect-'));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  fs.writeFileSync(file, text);
  return file;
}

function kubeconfig(server: string): string {
  return configFile(
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: ci',
      'contexts:',
      '- name: ci',
      '  context: { cluster: prod, user: deployer }',
      'clusters:',
      '- name: prod',
      `  cluster: { server: ${JSON.stringify(server)} }`,
      'users:',
      '- name: deployer',
      '  user: { token: abc }',
      '',
    ].join('\n'),
  );
}

describe('connect', () => {
  it.each(['https://exa mple.com:6443', 'ftp://cluster.example', 'https://:6443', 'not a url'])(
    'refuses the server %j as invalid input naming file, context and value',
    async (server) => {
      const file = kubeconfig(server);
      const err = await connect({ kubeconfig: file, env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NopeaError);
      expect(errorExitCode(err)).toBe(2);
      const [problem] = (err as NopeaError).problems;
      expect(problem?.message).toBe(
        `kubeconfig ${file}: context "ci" uses cluster "prod", whose server ${JSON.stringify(server)} is not a URL`,
      );
      expect(problem?.hint).toContain('https://HOST:6443');
    },
  );

  it('names where a kubeconfig is broken without quoting its lines, which hold credentials', async () => {
    const file = configFile(
      'apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: sha256~SuperSecretTokenValue123\n   bad: indent\n',
    );
    const err = await connect({ kubeconfig: file, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    const [problem] = (err as NopeaError).problems;
    expect(problem?.message).toMatch(new RegExp(`^cannot read kubeconfig ${file} \\(--kubeconfig\\): \\S`));
    expect(problem?.message).not.toMatch(/SuperSecret|sha256~/);
    expect(problem?.message).not.toContain('\n');
    expect(problem?.message).toMatch(/\(\d+:\d+\)$/);
    const tagged = configFile('apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: !hunter2xyz\n');
    const tag = await connect({ kubeconfig: tagged, env: {} }).catch((e: unknown) => e);
    expect((tag as NopeaError).problems[0]?.message).toMatch(/^cannot read kubeconfig .*: unknown tag \(/);
    expect((tag as NopeaError).problems[0]?.message).not.toContain('hunter2');
  });

  it('names the context whose cluster the kubeconfig does not define, and the clusters it does', async () => {
    const file = configFile(
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: dev',
        'contexts:',
        '- name: dev',
        '  context: { cluster: dev, user: u }',
        '- name: broken',
        '  context: { cluster: nope, user: u }',
        'clusters:',
        '- name: dev',
        '  cluster: { server: "https://127.0.0.1:6443" }',
        'users:',
        '- name: u',
        '  user: { token: abc }',
        '',
      ].join('\n'),
    );
    const err = await connect({ kubeconfig: file, context: 'broken', env: {} }).catch((e: unknown) => e);
    expect(errorExitCode(err)).toBe(2);
    expect((err as NopeaError).problems[0]?.message).toBe(
      `kubeconfig ${file}: context "broken" names cluster "nope", which it does not define (clusters: dev)`,
    );
  });

  it('reads a bare host:port as https, like kubectl', async () => {
    const client = await connect({ kubeconfig: kubeconfig('127.0.0.1:6443'), env: {} });
    expect(client.server).toBe('https://127.0.0.1:6443');
    client.close();
  });
});
