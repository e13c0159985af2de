// `--offline` plans against the state branch alone, with no cluster configured anywhere; without it,
// the missing cluster configuration is an input error naming every source tried.
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { entry, recordDeployed, type DiffJson } from './support.js';

// Nothing here talks to the cluster; the namespace only has to be a valid name.
const NS = 'offline-shop';

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;

describe('nopea diff --offline', () => {
  let repo: TestRepo;
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    repo = await makeRepo({
      files: {
        'app/kept.yaml': configMap('kept', 'same'),
        'app/edited.yaml': configMap('edited', 'before'),
        'app/removed.yaml': configMap('removed', 'gone soon'),
      },
    });
    home = await mkdtemp(path.join(tmpdir(), 'nopea-home-'));
    // No kubeconfig anywhere: no flag, no KUBECONFIG, an empty HOME, not in a pod.
    env = { KUBECONFIG: undefined, HOME: home, KUBERNETES_SERVICE_HOST: undefined };
  });
  afterEach(async () => {
    await repo.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  const args = ['diff', 'app', '-s', 'shop', '-n', NS];

  it('plans create, update, unchanged and prune from the state branch only', async () => {
    const stateCommit = await recordDeployed({
      work: repo.work,
      service: 'shop',
      paths: ['app'],
      namespace: NS,
    });
    await writeFile(path.join(repo.work, 'app/edited.yaml'), configMap('edited', 'after'));
    await writeFile(path.join(repo.work, 'app/added.yaml'), configMap('added', 'new'));
    await unlink(path.join(repo.work, 'app/removed.yaml'));
    await repo.commitAll('change the app');

    const run = await runNopea([...args, '--offline', '-o', 'json'], { cwd: repo.work, env });
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout) as DiffJson;
    expect(body.requests).toBeUndefined();
    const plan = body.plans[0]!;
    expect(plan.mode).toBe('offline');
    expect(plan.stateCommit).toBe(stateCommit);
    expect(plan.entries.map((e) => `${e.action} ${e.id}`)).toEqual([
      `create /ConfigMap/${NS}/added`,
      `update /ConfigMap/${NS}/edited`,
      `unchanged /ConfigMap/${NS}/kept`,
      `prune /ConfigMap/${NS}/removed`,
    ]);
    expect(entry(plan, `/ConfigMap/${NS}/edited`).changes).toEqual([
      { path: 'data.value', op: 'change', before: 'before', after: 'after' },
    ]);
    expect(entry(plan, `/ConfigMap/${NS}/removed`).origin).toEqual({ file: 'app/removed.yaml', line: 1 });

    const text = await runNopea([...args, '--offline', '--exit-code'], { cwd: repo.work, env });
    expect(text.code, text.stderr).toBe(3);
    expect(text.stdout).toContain(
      `Plan for shop against the state branch only (offline), state ${stateCommit.slice(0, 12)}:`,
    );
    expect(text.stdout).toContain(
      'Plan: 1 to create, 1 to update, 0 drifted, 0 in conflict, 1 to prune, 1 unchanged.',
    );
  });

  it('keeps removed objects of a service with prune: false, and has nothing pending', async () => {
    await writeFile(
      path.join(repo.work, 'nopea.yaml'),
      `services:\n  - name: shop\n    paths: [app]\n    namespace: ${NS}\n    prune: false\n`,
    );
    await repo.commitAll('configure the service');
    await recordDeployed({ work: repo.work, service: 'shop', paths: ['app'], namespace: NS });
    await unlink(path.join(repo.work, 'app/removed.yaml'));
    await repo.commitAll('drop a config map');

    const run = await runNopea(['diff', '--offline', '--exit-code', '-o', 'json'], { cwd: repo.work, env });
    expect(run.code, run.stderr).toBe(0);
    const plan = (JSON.parse(run.stdout) as DiffJson).plans[0]!;
    const kept = entry(plan, `/ConfigMap/${NS}/removed`);
    expect(kept).toMatchObject({ action: 'prune', pruneOff: true });
    expect(kept.note).toBe('kept: pruning is off for this service (prune: false in nopea.yaml)');

    const text = await runNopea(['diff', '--offline'], { cwd: repo.work, env });
    expect(text.stdout).toMatch(
      /- prune +\/ConfigMap\/offline-shop\/removed +app\/removed\.yaml:1 +kept: pruning is off/,
    );
  });

  it('plans a first deploy offline as creates', async () => {
    const run = await runNopea([...args, '--offline', '-o', 'json'], { cwd: repo.work, env });
    expect(run.code, run.stderr).toBe(0);
    const plan = (JSON.parse(run.stdout) as DiffJson).plans[0]!;
    expect(plan.stateCommit).toBeUndefined();
    expect(plan.counts).toMatchObject({ create: 3, update: 0, unchanged: 0, prune: 0 });
  });

  it('without --offline and no cluster configured, exits 2 naming every source it tried', async () => {
    const run = await runNopea(args, { cwd: repo.work, env });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('no Kubernetes cluster configured; tried:');
    expect(run.stderr).toContain('--kubeconfig (not given)');
    expect(run.stderr).toContain('KUBECONFIG (unset)');
    expect(run.stderr).toContain(`${home}/.kube/config (not found)`);
    expect(run.stderr).toContain('in-cluster service account');
    expect(run.stderr).toContain('--offline');

    // A KUBECONFIG naming a missing file is reported as such.
    const missing = path.join(home, 'nowhere.kubeconfig');
    const named = await runNopea(args, { cwd: repo.work, env: { ...env, KUBECONFIG: missing } });
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(`KUBECONFIG=${missing} (no such file)`);
  });
});
