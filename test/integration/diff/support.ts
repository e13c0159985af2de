/**
 * Shared steps of the `nopea diff` acceptance tests: running diff as a user would, applying manifests
 * with kubectl as nopea's field manager, and recording on the state branch what nopea would have
 * recorded for them, so a test can put the cluster and the branch into a known "already deployed" state
 * without going through `sync` (which these tests do not cover).
 */
import { ulid } from 'ulid';
import { expect } from 'vitest';
import { identify } from '../../../src/resources/identify.js';
import { builtinCatalog } from '../../../src/resources/catalog.js';
import { intentOf } from '../../../src/resources/normalize.js';
import { redactSecret } from '../../../src/resources/secrets.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { loadManifests } from '../../../src/source/load.js';
import { statePaths } from '../../../src/state/layout.js';
import { openState } from '../../../src/state/open.js';
import type { Plan, PlanEntry } from '../../../src/plan/types.js';
import { kubectl, testCluster } from '../../helpers/cluster.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import { corpus } from '../../helpers/corpus.js';

/** The sock-shop kustomization of the shared corpus (29 objects, no namespaces). */
export const SOCK_SHOP = corpus('argocd-example-apps/sock-shop');

/** podinfo's kustomize base of the shared corpus. */
export const PODINFO = corpus('podinfo/kustomize');

/** `--kubeconfig` and `--kubectl` for the admin user. */
export function clusterFlags(kubeconfig = testCluster().kubeconfig): string[] {
  return ['--kubeconfig', kubeconfig, '--kubectl', testCluster().kubectl];
}

/** What `nopea diff -o json` prints on success. */
export interface DiffJson {
  plans: Plan[];
  requests?: Record<string, number>;
}

/** Runs `nopea diff … -o json`, expects exit 0 and returns the parsed stdout with the run. */
export async function diffJson(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ run: NopeaRun; body: DiffJson }> {
  const run = await runNopea(['diff', ...args, '-o', 'json'], opts);
  expect(run.code, `nopea diff failed:\n${run.stderr}`).toBe(0);
  return { run, body: JSON.parse(run.stdout) as DiffJson };
}

/** The one entry of a plan with this id. */
export function entry(plan: Plan, id: string): PlanEntry {
  const found = plan.entries.filter((e) => e.id === id);
  expect(found, `entries with id ${id}`).toHaveLength(1);
  return found[0]!;
}

/** Entries that are not `unchanged`, as `action id` strings (readable in assertion failures). */
export function pending(plan: Plan): string[] {
  return plan.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.id}`);
}

/** Renders a kustomization with the cluster's kubectl and applies it with server-side apply as `nopea`. */
export async function applyAsNopea(kustomization: string, namespace: string): Promise<void> {
  const rendered = await kubectl(['kustomize', kustomization], { check: true });
  await applyYamlAsNopea(rendered.stdout, namespace);
}

/** Applies YAML with server-side apply as field manager `nopea`, as a nopea sync would. */
export async function applyYamlAsNopea(yaml: string, namespace: string): Promise<void> {
  await kubectl(['apply', '-n', namespace, '--server-side', '--field-manager=nopea', '-f', '-'], {
    input: yaml,
    check: true,
  });
}

/**
 * Writes, through the real state store, the inventory and last-applied files a sync of `paths` into
 * `namespace` would have written: the intent nopea sends (loaded, identified and stripped the way
 * `prepare`/`sync` do it), Secret values redacted. Commits and pushes to the remote's state branch.
 */
export async function recordDeployed(opts: {
  work: string;
  service: string;
  paths: string[];
  namespace: string;
}): Promise<string> {
  const manifests = await loadManifests({
    repoRoot: opts.work,
    paths: opts.paths,
    kubectl: testCluster().kubectl,
  });
  const desired = identify(manifests, builtinCatalog(), { namespace: opts.namespace });
  const store = await openState({ repoDir: opts.work });
  const deployId = ulid();
  const appliedAt = new Date().toISOString();
  const writes: Record<string, unknown> = {
    [statePaths.inventory]: {
      format: 1,
      service: opts.service,
      namespace: opts.namespace,
      objects: desired
        .map((d) => ({ id: d.id, apiVersion: d.object.apiVersion }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    },
  };
  for (const d of desired) {
    writes[statePaths.lastApplied(d.id)] = {
      format: 1,
      id: d.id,
      apiVersion: d.object.apiVersion,
      origin: d.origin,
      deployId,
      appliedAt,
      object: redactSecret(intentOf(d.object)) satisfies KubeObject,
    };
  }
  const result = await store.commit({
    service: opts.service,
    message: `deploy ${opts.service} ${deployId} succeeded (written by a test)`,
    writes,
  });
  return result.commit;
}
