// A mistake on the command line stops nopea before any command runs: exit 2, the message, the
// command's usage, and nothing written anywhere (no object, no Lease, no state branch) — checked
// against the real cluster with a repository whose manifests a sync would otherwise deploy.
import { describe, expect, it, onTestFinished } from 'vitest';
import { testCluster, useNamespace } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { getLive, output, scenario, stateTip } from '../sync/scenario.js';

const MISTAKES: { what: string; args: string[]; says: RegExp }[] = [
  { what: 'an unknown flag', args: ['--dry-rn'], says: /Unknown argument/ },
  { what: 'a bad choice', args: ['-o', 'yaml'], says: /Invalid values:[\s\S]*output[\s\S]*yaml/ },
  { what: 'a missing value', args: ['--state-branch'], says: /Not enough arguments following: state-branch/ },
];

describe('usage errors', () => {
  const ns = useNamespace('cli-usage');

  for (const command of ['sync', 'diff']) {
    for (const mistake of MISTAKES) {
      it(`${command} with ${mistake.what} exits 2 before running`, async () => {
        const repo = await makeRepo({
          files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
        });
        onTestFinished(() => repo.cleanup());
        const cluster = testCluster();
        const args = [command, 'app', '-s', 'web', '-n', ns.name, '--kubeconfig', cluster.kubeconfig];
        const run = await runNopea([...args, ...mistake.args], {
          cwd: repo.work,
          env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl },
        });
        expect(run.code, output(run)).toBe(2);
        expect(run.stderr).toMatch(mistake.says);
        expect(run.stderr).toContain(`Usage: nopea ${command} [paths..]`);
        expect(run.stderr).toContain('Nothing was run.');
        // Nothing reached stdout: no plan was made, let alone printed.
        expect(run.stdout).toBe('');
        expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();
        expect(await getLive(`/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/nopea-web`)).toBe(
          undefined,
        );
        expect(await stateTip(repo.remote)).toBe('');
      });
    }
  }

  it.each(['abc', '0', '-3'])(
    'history --limit %s exits 2 naming the flag, not listing every deploy',
    async (limit) => {
      const repo = await makeRepo();
      onTestFinished(() => repo.cleanup());
      const run = await runNopea(['history', 'web', `--limit=${limit}`], { cwd: repo.work });
      expect(run.code, output(run)).toBe(2);
      expect(run.stderr).toContain(`--limit must be a whole number from 1 to 999999, found "${limit}"`);
      expect(run.stdout).toBe('');
    },
  );

  it('still runs a correct command line (the check above is not a command that never runs)', async () => {
    const repo = await makeRepo({
      files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const cluster = testCluster();
    const run = await runNopea(
      ['diff', 'app', '-s', 'web', '-n', ns.name, '--kubeconfig', cluster.kubeconfig, '--exit-code'],
      { cwd: repo.work, env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl } },
    );
    expect(run.code, output(run)).toBe(3);
    expect(run.stdout).toContain('Plan: 2 to create');
  });
});
