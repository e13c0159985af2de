// nopea.yaml with two services: `diff` plans all of them, `-s` picks one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNamespace, type TestNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { clusterFlags, diffJson } from './support.js';

const configMap = (name: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  owner: ${name}\n`;

describe('nopea diff with services from nopea.yaml', () => {
  let web: TestNamespace;
  let api: TestNamespace;
  let repo: TestRepo;

  beforeEach(async () => {
    [web, api] = await Promise.all([createNamespace('diff-svc-web'), createNamespace('diff-svc-api')]);
    repo = await makeRepo({
      files: {
        'nopea.yaml': [
          'services:',
          '  - name: web',
          '    paths: [deploy/web]',
          `    namespace: ${web.name}`,
          '  - name: api',
          '    paths: [deploy/api]',
          `    namespace: ${api.name}`,
          '',
        ].join('\n'),
        'deploy/web/config.yaml': configMap('web-config'),
        'deploy/api/config.yaml': configMap('api-config'),
        'deploy/api/extra.yaml': configMap('api-extra'),
      },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
    await Promise.all([web.cleanup(), api.cleanup()]);
  });

  it('plans every declared service without -s, each in its own namespace', async () => {
    const { body } = await diffJson(clusterFlags(), { cwd: repo.work });
    expect(body.plans.map((p) => [p.service, p.entries.map((e) => `${e.action} ${e.id}`)])).toEqual([
      ['web', [`create /ConfigMap/${web.name}/web-config`]],
      ['api', [`create /ConfigMap/${api.name}/api-config`, `create /ConfigMap/${api.name}/api-extra`]],
    ]);
  });

  it('plans only the service named with -s', async () => {
    const { body } = await diffJson(['-s', 'api', ...clusterFlags()], { cwd: repo.work });
    expect(body.plans.map((p) => p.service)).toEqual(['api']);
    expect(body.plans[0]!.counts.create).toBe(2);
  });

  it('works from a subdirectory of the repository', async () => {
    const { body } = await diffJson(['-s', 'web', ...clusterFlags()], { cwd: `${repo.work}/deploy/api` });
    expect(body.plans.map((p) => `${p.service} ${p.counts.create}`)).toEqual(['web 1']);
  });
});
