/**
 * Shared plumbing of the `nopea sync` acceptance tests: the CLI run against the test cluster, the
 * scenario fixtures (with per-test names substituted), and reads of the state branch from a fresh
 * clone of the remote, the way another CI job would see it.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiRequest, testCluster } from '../../helpers/cluster.js';
import { cloneRemote, git } from '../../helpers/git.js';
import { runNopea, type NopeaRun, type NopeaRunOptions } from '../../helpers/nopea.js';
import { openState } from '../../../src/state/open.js';
import type { DeployRecord, Inventory, LastApplied } from '../../../src/state/format.js';
import type { KubeObject } from '../../../src/resources/object.js';
import { corpus } from '../../helpers/corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Scenario fixtures of these tests. */
export const SCENARIOS = path.join(root, 'fixtures/scenarios/sync');

/** The sock-shop manifests of the shared corpus (a kustomization, 29 objects, no namespaces). */
export const SOCK_SHOP = corpus('argocd-example-apps/sock-shop');

/**
 * Runs `nopea sync <args>` in `cwd` against the test cluster (admin unless `kubeconfig` is given),
 * with the cluster's kubectl for kustomize and no KUBECONFIG from the developer's shell.
 */
export function syncCli(
  args: string[],
  opts: Omit<NopeaRunOptions, 'env'> & { kubeconfig?: string; env?: NodeJS.ProcessEnv },
): Promise<NopeaRun> {
  const cluster = testCluster();
  return runNopea(['sync', ...args, '--kubeconfig', opts.kubeconfig ?? cluster.kubeconfig], {
    ...opts,
    env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl, ...opts.env },
  });
}

/** The shape of `nopea sync -o json` the tests read. */
export interface SyncJson {
  services: {
    service: string;
    deployId: string;
    outcome: string;
    stateCommit?: string;
    inSync?: boolean;
    health?: { ok: boolean };
    plan?: { counts: Record<string, number>; entries: { id: string; action: string }[] };
    objects: { id: string; action: string }[];
    error?: { kind: string; problems: { message: string }[] };
    stages?: { name: string; ms: number }[];
  }[];
  stages?: { name: string; ms: number }[];
  startupMs?: number;
  requests: Record<string, number> & {
    total: number;
    writes: number;
    lock: { get: number; create: number; update: number; delete: number; total: number; writes: number };
  };
}

/** Parses the JSON a `-o json` run printed, with the run's output in the error when it is not JSON. */
export function jsonOf(run: NopeaRun): SyncJson {
  try {
    return JSON.parse(run.stdout) as SyncJson;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** Everything a run printed, for assertion messages. */
export function output(run: NopeaRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

/** The files of a scenario fixture with `${NAME}` placeholders replaced, as makeRepo's `files`. */
export async function scenario(
  name: string,
  vars: Record<string, string>,
  under = '',
): Promise<Record<string, string>> {
  const dir = path.join(SCENARIOS, name);
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    let text = await readFile(full, 'utf8');
    for (const [key, value] of Object.entries(vars)) text = text.replaceAll(`\${${key}}`, value);
    const left = /\$\{[A-Z_]+\}/.exec(text);
    if (left) throw new Error(`${full}: placeholder ${left[0]} has no value`);
    files[path.join(under, path.relative(dir, full))] = text;
  }
  return files;
}

/** What the state branch of a remote says about one service, read from a fresh clone. */
export interface ServiceStateView {
  tip: string | undefined;
  inventory?: Inventory;
  lastApplied: Map<string, LastApplied>;
  deploys: DeployRecord[];
  /** Paths of the service's last-applied files on the branch tip. */
  lastAppliedFiles: string[];
}

/** Reads the service's state as another job would: clone the remote, open the state branch. */
export async function readState(remote: string, service: string): Promise<ServiceStateView> {
  const clone = await cloneRemote(remote);
  try {
    const store = await openState({ repoDir: clone.work });
    const state = await store.readService(service);
    const deploys = await store.listDeploys(service);
    const files = store.tip
      ? (
          await git(
            clone.work,
            'ls-tree',
            '-r',
            '--name-only',
            store.tip,
            `.nopea/services/${service}/last-applied/`,
          )
        )
          .split('\n')
          .filter(Boolean)
      : [];
    const view: ServiceStateView = {
      tip: store.tip,
      lastApplied: state.lastApplied,
      deploys,
      lastAppliedFiles: files,
    };
    if (state.inventory) view.inventory = state.inventory;
    return view;
  } finally {
    await clone.cleanup();
  }
}

/** The tip of the state branch on the remote, or '' when there is none. */
export async function stateTip(remote: string, branch = 'nopea-state'): Promise<string> {
  const out = await git(remote, 'for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`);
  return out.trim();
}

/** GETs an object through the admin kubeconfig; undefined when it does not exist. */
export async function getLive(apiPath: string): Promise<KubeObject | undefined> {
  const res = await apiRequest<KubeObject>('GET', apiPath);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${apiPath}: HTTP ${res.status} ${res.text}`);
  return res.body;
}

/** `name → resourceVersion` of every object of a list path (e.g. `/apis/apps/v1/namespaces/x/deployments`). */
export async function versions(listPath: string): Promise<Record<string, string>> {
  const res = await apiRequest<{ items: KubeObject[] }>('GET', listPath);
  if (res.status !== 200) throw new Error(`GET ${listPath}: HTTP ${res.status} ${res.text}`);
  return Object.fromEntries(
    res.body.items.map((i) => [i.metadata.name ?? '', String(i.metadata.resourceVersion)]),
  );
}

/** Deletes a cluster-scoped object if it exists (CRDs and namespaces a test created). */
export async function deleteIfPresent(apiPath: string): Promise<void> {
  const res = await apiRequest('DELETE', apiPath);
  if (![200, 202, 404].includes(res.status))
    throw new Error(`DELETE ${apiPath}: HTTP ${res.status} ${res.text}`);
}
