// Memory acting, with the real Kulta controller: a service whose deploy failed with ImagePullBackOff
// is deployed as a canary by the next `--strategy auto` sync (the default), because memory advises it
// and the service can run as one (a Deployment and a Service selecting its pods, Kulta served). The
// canary's steps come from nopea.yaml, whoever chose the strategy. The deploy record says memory chose
// it and why.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { getLive, jsonOf, output, readState } from '../sync/scenario.js';
import { appFiles, nopea } from './app.js';

describe('memory advises, nopea deploys a canary', () => {
  const ns = useNamespace('memory-canary');

  it('deploys with canary after a failed rolling update, and records that memory chose it', async () => {
    const config = (image: string) => ({
      ...appFiles(image),
      'nopea.yaml': `services:
  - name: web
    paths: [app]
    namespace: ${ns.name}
    canary:
      steps: [{weight: 50, pause: 1s}, {weight: 100}]
`,
    });
    const repo = await makeRepo({ files: config('registry.example/web:1') });
    onTestFinished(() => repo.cleanup());
    const deploy = async (image: string): Promise<void> => {
      for (const [file, text] of Object.entries(config(image))) {
        await writeFile(path.join(repo.work, file), text);
      }
      await repo.commitAll(image);
    };
    const first = await nopea(['sync', '--timeout', '60s'], repo);
    expect(first.code, output(first)).toBe(0);

    // A rolling update stuck in ImagePullBackOff: the old pods keep serving; the deploy fails.
    await deploy('registry.example/web:fail-pull');
    const failed = await nopea(['sync', '--timeout', '60s'], repo);
    expect(failed.code, output(failed)).toBe(1);
    expect(output(failed)).toContain('ImagePullBackOff');

    await deploy('registry.example/web:3');
    const advised = await nopea(['sync', '--timeout', '120s', '-o', 'json'], repo);
    expect(advised.code, output(advised)).toBe(0);
    const service = jsonOf(advised).services[0] as unknown as {
      outcome: string;
      strategy: { name: string; by: string; reason: string };
      rollout?: { phase?: string };
    };
    expect(service.outcome).toBe('succeeded');
    expect(service.strategy).toMatchObject({ name: 'canary', by: 'memory' });
    expect(service.strategy.reason).toContain('ImagePullBackOff');
    expect(service.rollout?.phase).toBe('Completed');
    expect(await getLive(`/apis/kulta.io/v1alpha1/namespaces/${ns.name}/rollouts/web`)).toBeDefined();
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();

    const state = await readState(repo.remote, 'web');
    expect(state.deploys[0]).toMatchObject({ outcome: 'succeeded' });
    expect(JSON.stringify(state.deploys[0])).toContain('"by":"memory"');
    // The handover took the template that served (web:1) as stable, not the failed one; the canary
    // then finalised with every replica of stable on web:3.
    expect(advised.stderr).not.toMatch(/web-stable with \d+ ready replica/);
    const stable = await getLive(`/apis/apps/v1/namespaces/${ns.name}/replicasets/web-stable`);
    const template = (stable?.spec as { template: { spec: { containers: { image: string }[] } } }).template;
    expect(template.spec.containers[0]!.image).toBe('registry.example/web:3');
  }, 300_000);
});
