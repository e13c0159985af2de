// Objects in namespaces that do not exist yet: created by the same change (planned, validated later)
// or missing altogether (an input error naming the manifest).
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiRequest } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { clusterFlags, diffJson, entry } from './support.js';

describe('nopea diff and namespaces that do not exist', () => {
  // Names no other test uses; diff creates nothing, and the first test checks that.
  const suffix = randomBytes(3).toString('hex');
  const fresh = `diff-fresh-${suffix}`;
  const group = `diff-${suffix}.nopea.test`;
  let repo: TestRepo;

  beforeEach(async () => {
    repo = await makeRepo({
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${fresh}\n`,
        'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n`,
        'app/crd.yaml': [
          'apiVersion: apiextensions.k8s.io/v1',
          'kind: CustomResourceDefinition',
          'metadata:',
          `  name: gizmos.${group}`,
          'spec:',
          `  group: ${group}`,
          '  scope: Namespaced',
          '  names: {kind: Gizmo, plural: gizmos, singular: gizmo, listKind: GizmoList}',
          '  versions:',
          '    - name: v1',
          '      served: true',
          '      storage: true',
          '      schema:',
          '        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}',
          '',
        ].join('\n'),
        'app/gizmo.yaml': `apiVersion: ${group}/v1\nkind: Gizmo\nmetadata:\n  name: g\nspec:\n  size: 3\n`,
        'typo/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n`,
      },
    });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('plans objects whose Namespace and CRD come with the same change, saying why they are not validated yet', async () => {
    const { body } = await diffJson(['app', '-s', 'fresh', '-n', fresh, ...clusterFlags()], {
      cwd: repo.work,
    });
    const plan = body.plans[0]!;
    expect(plan.entries.map((e) => `${e.action} ${e.id}`)).toEqual([
      `create /Namespace//${fresh}`,
      `create apiextensions.k8s.io/CustomResourceDefinition//gizmos.${group}`,
      `create /ConfigMap/${fresh}/settings`,
      `create ${group}/Gizmo/${fresh}/g`,
    ]);
    expect(entry(plan, `/ConfigMap/${fresh}/settings`).note).toBe(
      `namespace ${fresh} is created by this sync first; the server validates it then`,
    );
    expect(entry(plan, `${group}/Gizmo/${fresh}/g`).note).toMatch(/its CRD is applied by this sync first/);
    // A plan is not a deploy.
    expect((await apiRequest('GET', `/api/v1/namespaces/${fresh}`)).status).toBe(404);
    expect(
      (await apiRequest('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`))
        .status,
    ).toBe(404);
  });

  it('names the manifest of an object whose namespace does not exist, and exits 2', async () => {
    const missing = `diff-missing-${suffix}`;
    const run = await runNopea(['diff', 'typo', '-s', 'typo', '-n', missing, ...clusterFlags()], {
      cwd: repo.work,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `error: typo/config.yaml:1: namespace "${missing}" of /ConfigMap/${missing}/settings does not exist (and 1 more object(s) in it)`,
    );
    expect(run.stderr).toContain('hint: create the namespace');
  });
});
