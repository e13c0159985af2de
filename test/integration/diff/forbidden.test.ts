// A kubeconfig whose user may not read the target namespace: a clear RBAC error. diff never writes, so
// a refusal is a configuration problem with nothing changed: exit 2 (src/cluster/explain.ts refusedBeforeWrite).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESTRICTED_NAMESPACE, testCluster, useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { clusterFlags, type DiffJson } from './support.js';

describe('nopea diff with a restricted user', () => {
  // A namespace the restricted user has no rights in.
  const ns = useNamespace('diff-forbidden');
  let repo: TestRepo;

  beforeEach(async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    repo = await makeRepo({
      files: {
        'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forbidden-${suffix}\ndata:\n  a: b\n`,
        'app/service.yaml': [
          'apiVersion: v1',
          'kind: Service',
          'metadata:',
          `  name: forbidden-${suffix}`,
          'spec:',
          '  selector: {app: x}',
          '  ports: [{port: 80}]',
          '',
        ].join('\n'),
      },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  const run = (namespace: string, extra: string[] = []) =>
    runNopea(
      [
        'diff',
        'app',
        '-s',
        'app',
        '-n',
        namespace,
        ...clusterFlags(testCluster().restrictedKubeconfig),
        ...extra,
      ],
      {
        cwd: repo.work,
      },
    );

  it('names the verb, resource and namespace it was refused, and exits 2', async () => {
    const result = await run(ns.name);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: .*forbidden: .*User "restricted" cannot (get|list|patch) resource "(configmaps|services)" in API group "" in the namespace "${ns.name}"`,
        'm',
      ),
    );
    expect(result.stderr).toContain('hint: the kubeconfig user lacks an RBAC permission');
    expect(result.stderr).not.toContain('internal error');

    const json = await run(ns.name, ['-o', 'json']);
    expect(json.code).toBe(2);
    const body = JSON.parse(json.stdout) as { error: { kind: string } };
    expect(body.error.kind).toBe('input');
  });

  it('plans normally in the namespace the user may use', async () => {
    // Control: the same user and manifests where RBAC allows it, so the refusal above is about RBAC.
    const result = await run(RESTRICTED_NAMESPACE, ['-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as DiffJson).plans[0]!.counts.create).toBe(2);
  });
});
