// Secret values never leave nopea in a plan: a changed value shows as `*** (before)` / `*** (after)`
// in text and JSON, and neither the value nor its base64 is printed anywhere.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import { applyYamlAsNopea, clusterFlags, entry, pending, recordDeployed, type DiffJson } from './support.js';

const OLD_PASSWORD = 'old-Pa55word-7f3a91';
const NEW_PASSWORD = 'new-Pa55word-c2e8d4';
const TOKEN = 'api-token-0b9e62d1';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secretYaml(password: string): string {
  return [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db',
    'type: Opaque',
    'stringData:',
    `  password: ${password}`,
    'data:',
    `  token: ${b64(TOKEN)}`,
    '',
  ].join('\n');
}

const CONFIG = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-settings\ndata:\n  pool: "5"\n';

/** Fails when any form of a secret value appears in the run's output. */
function expectNoSecrets(run: NopeaRun): void {
  for (const value of [OLD_PASSWORD, NEW_PASSWORD, TOKEN]) {
    for (const form of [value, b64(value), b64(value).replace(/=+$/, '')]) {
      expect(run.stdout).not.toContain(form);
      expect(run.stderr).not.toContain(form);
    }
  }
}

describe('nopea diff with Secrets', () => {
  const ns = useNamespace('diff-secret');
  let repo: TestRepo;

  beforeEach(async () => {
    repo = await makeRepo({
      files: { 'app/secret.yaml': secretYaml(OLD_PASSWORD), 'app/config.yaml': CONFIG },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  const run = (extra: string[]): Promise<NopeaRun> =>
    runNopea(['diff', 'app', '-s', 'db', '-n', ns.name, ...clusterFlags(), ...extra], { cwd: repo.work });

  it('masks values of a Secret to create', async () => {
    const text = await run([]);
    expect(text.code, text.stderr).toBe(0);
    expectNoSecrets(text);
    expect(text.stdout).toContain(`+ create    /Secret/${ns.name}/db`);
    expect(text.stdout).toMatch(/^\+ {2}password: "\*\*\* \(after\)"$/m);
    expect(text.stdout).toMatch(/^\+ {2}token: "\*\*\* \(after\)"$/m);

    const json = await run(['-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expectNoSecrets(json);
    const plan = (JSON.parse(json.stdout) as DiffJson).plans[0]!;
    const secret = entry(plan, `/Secret/${ns.name}/db`);
    expect(secret.action).toBe('create');
    expect(secret.after?.data).toEqual({ password: '*** (after)', token: '*** (after)' });
  });

  it('shows a changed value as *** (before) / *** (after), never the value', async () => {
    await applyYamlAsNopea(secretYaml(OLD_PASSWORD) + '---\n' + CONFIG, ns.name);
    await recordDeployed({ work: repo.work, service: 'db', paths: ['app'], namespace: ns.name });
    const settled = await run(['-o', 'json']);
    expect(settled.code, settled.stderr).toBe(0);
    expect(pending((JSON.parse(settled.stdout) as DiffJson).plans[0]!)).toEqual([]);

    const file = path.join(repo.work, 'app/secret.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace(OLD_PASSWORD, NEW_PASSWORD));
    await repo.commitAll('rotate the password');

    const json = await run(['-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expectNoSecrets(json);
    const plan = (JSON.parse(json.stdout) as DiffJson).plans[0]!;
    expect(pending(plan)).toEqual([`update /Secret/${ns.name}/db`]);
    const secret = entry(plan, `/Secret/${ns.name}/db`);
    expect(secret.changes).toEqual([
      { path: 'data.password', op: 'change', before: '*** (before)', after: '*** (after)' },
    ]);
    expect(secret.before?.data).toEqual({ password: '*** (before)', token: '***' });
    expect(secret.after?.data).toEqual({ password: '*** (after)', token: '***' });

    const text = await run([]);
    expect(text.code, text.stderr).toBe(0);
    expectNoSecrets(text);
    expect(text.stdout).toContain(`~ update    /Secret/${ns.name}/db`);
    expect(text.stdout).toMatch(/^- {2}password: "\*\*\* \(before\)"$/m);
    expect(text.stdout).toMatch(/^\+ {2}password: "\*\*\* \(after\)"$/m);

    // The same offline, where the comparison is with the (hashed) state branch.
    const offline = await runNopea(
      ['diff', 'app', '-s', 'db', '-n', ns.name, '--offline', '--kubectl', clusterFlags()[3]!, '-o', 'json'],
      { cwd: repo.work },
    );
    expect(offline.code, offline.stderr).toBe(0);
    expectNoSecrets(offline);
    const offlinePlan = (JSON.parse(offline.stdout) as DiffJson).plans[0]!;
    expect(entry(offlinePlan, `/Secret/${ns.name}/db`).changes).toEqual([
      { path: 'stringData.password', op: 'change', before: '*** (before)', after: '*** (after)' },
    ]);
  });
});
