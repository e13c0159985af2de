// The soak of issue #14: consecutive syncs of a changing service through an API server that faults a
// share of requests (test/cluster/api-proxy.ts) and, optionally, a state remote that faults pushes
// and fetches (test/cluster/git-server.ts). Each round changes the image, a ConfigMap, and adds or
// removes an object. Afterwards, with faults off, it checks what must hold: the cluster matches git,
// the state branch's inventory matches the cluster, every deploy has exactly one record, no object
// outside the service was written, no request was tried past the client's bound. Used by the
// integration test (test/integration/faults/soak.test.ts, asserting) and `npm run bench` (reporting).
// No vitest here: the caller passes in how to run nopea.
import fs from 'node:fs';
import path from 'node:path';
import { openState } from '../../src/state/open.js';
import type { DeployRecord, Inventory } from '../../src/state/format.js';
import { cloneRemote, git, makeRepo, type TestRepo } from '../helpers/git.js';
import type { NopeaRun } from '../helpers/nopea.js';
import { type ApiProxy, type FaultKind, type ProxyLogEntry, startApiProxy } from './api-proxy.js';
import { GIT_FAULT_KINDS, type GitServer, startGitServer } from './git-server.js';
import { apiCall, apiTargetOf, type ApiTarget } from './harness.js';

export const SOAK_SERVICE = 'soak';
/** Attempts the client makes per request (src/cluster/client.ts), the bound no request may pass. */
export const MAX_ATTEMPTS = 5;
/** Bound on API requests per object per sync, retries included (a clean sync takes about 4). */
export const MAX_REQUESTS_PER_OBJECT = 12;
const TRANSIENT_GIT_FAULTS = GIT_FAULT_KINDS.filter((kind) => kind !== 'push-reject');

export interface SoakOptions {
  /** Admin kubeconfig of the cluster. */
  kubeconfig: string;
  /** kubectl for the cluster (kustomize rendering; not used by the manifests here). */
  kubectl?: string;
  /** An existing namespace the service deploys to; only its objects may be written. */
  namespace: string;
  syncs: number;
  /** Share of API requests faulted, 0..1. */
  apiFaultRate: number;
  /**
   * Share of the state remote's pushes and fetches faulted; the remote is then reached through the
   * faulting git server (at 0 too, for a baseline that pays the same transport). Unset: directly.
   */
  gitFaultRate?: number;
  seed?: number;
  /** `--request-timeout` of each sync: how long a stalled answer costs (default 2s). */
  requestTimeout?: string;
  /** Bound on one sync (killed after it). */
  syncTimeoutMs?: number;
  /** Runs `nopea <args>` in `cwd` with `env` added. */
  nopea: (
    args: string[],
    opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
  ) => Promise<NopeaRun>;
  log?: (line: string) => void;
}

export interface SoakSync {
  round: number;
  code: number;
  ms: number;
  deployId?: string;
  outcome?: string;
  /** The sync recorded its deploy (a state commit in its output). */
  recorded: boolean;
  /** Client retries the sync reported (its `-o json` requests.retries). */
  retries: number;
  /** API requests the proxy saw during the sync, and how many it faulted. */
  requests: number;
  faulted: number;
  /** The error's first problem, for a sync that failed. */
  error?: string;
}

export interface SoakReport {
  syncs: SoakSync[];
  /** Syncs that ended 0 / 1 / otherwise. */
  converged: number;
  failed: number;
  other: number;
  apiFaults: Record<FaultKind, number>;
  gitFaults: Record<string, number>;
  apiRequests: number;
  /** Longest run of faulted attempts of one request seen in the proxy's log. */
  longestFaultStreak: number;
  /** API requests per object per sync, retries included. */
  requestsPerObject: number;
  retriesPerSync: number;
  totalMs: number;
  /** What did not hold, each saying what and where; empty when everything held. */
  violations: string[];
}

interface Desired {
  round: number;
  extras: number[];
}

const image = (round: number): string => `registry.example/soak/web:v${round}`;

/** The service's manifests for a round: a ConfigMap, a Deployment and its Service, and the extras. */
function manifests(d: Desired): Record<string, string> {
  const files: Record<string, string> = {
    'app/config.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: soak-config
data:
  round: "${d.round}"
`,
    'app/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: soak-web
spec:
  replicas: 2
  selector:
    matchLabels: {app: soak-web}
  template:
    metadata:
      labels: {app: soak-web}
    spec:
      containers:
        - name: web
          image: ${image(d.round)}
          ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: soak-web
spec:
  selector: {app: soak-web}
  ports: [{port: 80, targetPort: 8080}]
`,
  };
  for (const n of d.extras) {
    files[`app/extra-${n}.yaml`] = `apiVersion: v1
kind: ConfigMap
metadata:
  name: soak-extra-${n}
data:
  added: "${n}"
`;
  }
  return files;
}

/** Round n's desired state from round n-1's: a new image and ConfigMap, and every round an object added or removed. */
function next(previous: Desired, round: number): Desired {
  const extras = [...previous.extras];
  if (round % 2 === 1 || extras.length === 0) extras.push(round);
  else extras.shift();
  return { round, extras };
}

async function getJson<T>(target: ApiTarget, urlPath: string): Promise<T | undefined> {
  const reply = await apiCall(target, 'GET', urlPath);
  if (reply.status === 404) return undefined;
  if (reply.status !== 200)
    throw new Error(`GET ${urlPath}: HTTP ${reply.status} ${reply.text.slice(0, 300)}`);
  return JSON.parse(reply.text) as T;
}

interface SyncJson {
  services?: {
    deployId?: string;
    outcome?: string;
    stateCommit?: string;
    inSync?: boolean;
    error?: { problems?: { message: string }[] };
  }[];
  requests?: { retries?: number; writes?: number };
}

function parseJson(run: NopeaRun): SyncJson | undefined {
  try {
    return JSON.parse(run.stdout) as SyncJson;
  } catch {
    return undefined;
  }
}

/** Longest run of consecutive faulted attempts of the same request (method and path) in the log. */
export function longestFaultStreak(log: ProxyLogEntry[]): number {
  const streak = new Map<string, number>();
  let longest = 0;
  for (const entry of log) {
    const key = `${entry.method} ${entry.path}`;
    const faulted = entry.fault !== null || entry.status === null || (entry.status ?? 0) >= 500;
    const n = faulted ? (streak.get(key) ?? 0) + 1 : 0;
    streak.set(key, n);
    longest = Math.max(longest, n);
  }
  return longest;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The paths the service may write: its objects (any round's) and its lock, all in its namespace. */
function allowedWrite(namespace: string, urlPath: string): boolean {
  const p = urlPath.split('?')[0]!;
  const ns = `/namespaces/${namespace}/`;
  return (
    [
      `/api/v1${ns}configmaps/soak-config`,
      `/apis/apps/v1${ns}deployments/soak-web`,
      `/api/v1${ns}services/soak-web`,
      `/apis/coordination.k8s.io/v1${ns}leases`,
      `/apis/coordination.k8s.io/v1${ns}leases/nopea-${SOAK_SERVICE}`,
    ].includes(p) ||
    (p.startsWith(`/api/v1${ns}configmaps/soak-extra-`) && /soak-extra-\d+$/.test(p))
  );
}

/** Runs the soak and checks what must hold; never throws for a violation, only reports it. */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const admin = apiTargetOf(opts.kubeconfig);
  const ns = opts.namespace;
  const violations: string[] = [];
  const began = performance.now();
  let repo: TestRepo | undefined;
  let proxy: ApiProxy | undefined;
  let gitServer: GitServer | undefined;
  try {
    // Someone else's object beside the service's: it must never be written.
    const sentinel = `/api/v1/namespaces/${ns}/configmaps/foreign-sentinel`;
    const created = await apiCall(admin, 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'foreign-sentinel' },
      data: { owner: 'not nopea' },
    });
    if (created.status !== 201)
      throw new Error(`creating the sentinel: HTTP ${created.status} ${created.text}`);
    const sentinelVersion = (JSON.parse(created.text) as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;

    let desired: Desired = { round: 0, extras: [] };
    repo = await makeRepo({ files: manifests(desired) });
    const stateRemote = opts.gitFaultRate === undefined ? 'origin' : 'state';
    if (opts.gitFaultRate !== undefined) {
      gitServer = await startGitServer({
        root: path.dirname(repo.remote),
        // Transient faults only: a refused push is an answer, not a fault to ride out (tested apart).
        faults: { rate: opts.gitFaultRate, seed: opts.seed ?? 14, kinds: TRANSIENT_GIT_FAULTS, slowMs: 50 },
      });
      await git(repo.work, 'remote', 'add', 'state', gitServer.repoUrl(path.basename(repo.remote)));
    }
    proxy = await startApiProxy({
      upstream: opts.kubeconfig,
      mode: 'faults',
      delayMs: 0,
      faults: { rate: opts.apiFaultRate, seed: opts.seed ?? 14, retryAfterSeconds: 1 },
    });
    const syncTimeoutMs = opts.syncTimeoutMs ?? 120_000;
    const sync = (): Promise<NopeaRun> =>
      opts.nopea(
        ['sync', 'app', '-s', SOAK_SERVICE, '-n', ns, '--kubeconfig', proxy!.kubeconfig, '--state-remote', stateRemote, '--request-timeout', opts.requestTimeout ?? '2s', '--timeout', '60s', '-o', 'json'], // prettier-ignore
        { cwd: repo!.work, env: { KUBECONFIG: '', ...(opts.kubectl ? { NOPEA_KUBECTL: opts.kubectl } : {}) }, timeoutMs: syncTimeoutMs }, // prettier-ignore
      );

    const syncs: SoakSync[] = [];
    const runRound = async (round: number): Promise<SoakSync> => {
      const from = proxy!.log().length;
      const started = performance.now();
      const run = await sync();
      const ms = performance.now() - started;
      const entries = proxy!.log().slice(from);
      const json = parseJson(run);
      const service = json?.services?.[0];
      const result: SoakSync = {
        round,
        code: run.code,
        ms,
        recorded: Boolean(service?.stateCommit),
        retries: json?.requests?.retries ?? 0,
        requests: entries.length,
        faulted: entries.filter((e) => e.fault !== null).length,
      };
      if (service?.deployId) result.deployId = service.deployId;
      if (service?.outcome) result.outcome = service.outcome;
      const problem = service?.error?.problems?.[0]?.message ?? (json ? undefined : run.stderr.trim());
      if (problem) result.error = problem;
      syncs.push(result);
      log(`round ${round}: exit ${run.code} in ${Math.round(ms)} ms, ${result.requests} requests (${result.faulted} faulted), ${result.retries} retries${problem ? `: ${problem}` : ''}`); // prettier-ignore
      if (run.code !== 0 && run.code !== 1) {
        violations.push(`round ${round}: exit ${run.code}, not 0 or 1:\n${run.stdout}\n${run.stderr}`);
      } else if (run.code === 1 && !namesObjectAndFault(problem ?? run.stderr)) {
        violations.push(
          `round ${round}: exit 1 without naming the object and the fault: ${problem ?? run.stderr}`,
        );
      }
      return result;
    };

    for (let round = 1; round <= opts.syncs; round++) {
      desired = next(desired, round);
      await writeRound(repo, desired);
      const result = await runRound(round);
      if (result.code === 1) {
        // The same desired state again, faults still on: it converges.
        const again = await runRound(round);
        if (again.code !== 0) violations.push(`round ${round}: the sync after a failed one did not converge (exit ${again.code}: ${again.error ?? ''})`); // prettier-ignore
      }
    }

    // Faults off: one more sync settles anything left, the one after it must change nothing.
    proxy.setFaults({ rate: 0 });
    gitServer?.setFaults({ rate: 0 });
    const settle = await sync();
    if (settle.code !== 0)
      violations.push(`the settling sync without faults failed: exit ${settle.code}: ${settle.stderr}`);
    const quiet = await sync();
    const quietJson = parseJson(quiet);
    if (quiet.code !== 0 || quietJson?.services?.[0]?.inSync !== true || quietJson.requests?.writes !== 0) {
      violations.push(
        `a sync after the settling one was not a no-op in sync: exit ${quiet.code}, ${quiet.stdout.slice(0, 500)}`,
      );
    }

    await checkCluster(admin, ns, desired, violations);
    const { inventory, deploys } = await readBranch(repo.remote);
    checkInventory(ns, desired, inventory, violations);
    checkRecords(syncs, deploys, violations);
    const sentinelNow = await getJson<{ metadata: { resourceVersion: string } }>(admin, sentinel);
    if (sentinelNow?.metadata.resourceVersion !== sentinelVersion) {
      violations.push(`the foreign ConfigMap ${ns}/foreign-sentinel was changed or removed`);
    }
    const apiLog = proxy.log();
    for (const entry of apiLog) {
      if (WRITE_METHODS.has(entry.method) && !allowedWrite(ns, entry.path)) {
        violations.push(`a write outside the service: ${entry.method} ${entry.path}`);
      }
    }
    const streak = longestFaultStreak(apiLog);
    if (streak > MAX_ATTEMPTS) violations.push(`a request was tried ${streak} times in a row, past the bound of ${MAX_ATTEMPTS}`); // prettier-ignore
    const objects = 4 + desired.extras.length;
    const requestsPerObject = syncs.reduce((n, s) => n + s.requests, 0) / Math.max(1, syncs.length) / objects;
    if (requestsPerObject > MAX_REQUESTS_PER_OBJECT) {
      violations.push(`${requestsPerObject.toFixed(1)} API requests per object per sync, over the bound of ${MAX_REQUESTS_PER_OBJECT}`); // prettier-ignore
    }
    const stats = proxy.stats();
    return {
      syncs,
      converged: syncs.filter((s) => s.code === 0).length,
      failed: syncs.filter((s) => s.code === 1).length,
      other: syncs.filter((s) => s.code !== 0 && s.code !== 1).length,
      apiFaults: stats.faults,
      gitFaults: gitServer ? faultCounts(gitServer) : {},
      apiRequests: stats.requests,
      longestFaultStreak: streak,
      requestsPerObject,
      retriesPerSync: syncs.reduce((n, s) => n + s.retries, 0) / Math.max(1, syncs.length),
      totalMs: performance.now() - began,
      violations,
    };
  } finally {
    await proxy?.close();
    await gitServer?.close();
    await repo?.cleanup();
  }
}

function faultCounts(server: GitServer): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of server.log()) if (entry.fault) counts[entry.fault] = (counts[entry.fault] ?? 0) + 1;
  return counts;
}

/** An exit 1 names what it could not do (an object, the lock or the state branch) and the fault. */
function namesObjectAndFault(text: string): boolean {
  const object = /(ConfigMap|Deployment|Service|Lease|soak-|branch nopea-state|API discovery)/.test(text);
  const fault =
    /(HTTP 5\d\d|\b5\d\d\b|429|TooManyRequests|InternalError|ServiceUnavailable|ECONNRESET|socket hang up|reset|no complete response|timed out|cut short|unreachable|RPC failed|hung up)/i.test(
      text,
    );
  return object && fault;
}

async function writeRound(repo: TestRepo, d: Desired): Promise<void> {
  const dir = path.join(repo.work, 'app');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of Object.entries(manifests(d))) {
    fs.mkdirSync(path.dirname(path.join(repo.work, file)), { recursive: true });
    fs.writeFileSync(path.join(repo.work, file), text);
  }
  await repo.commitAll(`round ${d.round}`);
}

async function checkCluster(admin: ApiTarget, ns: string, d: Desired, violations: string[]): Promise<void> {
  const config = await getJson<{ data?: Record<string, string> }>(admin, `/api/v1/namespaces/${ns}/configmaps/soak-config`); // prettier-ignore
  if (config?.data?.round !== String(d.round)) violations.push(`ConfigMap soak-config has round ${config?.data?.round}, git has ${d.round}`); // prettier-ignore
  const web = await getJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(admin, `/apis/apps/v1/namespaces/${ns}/deployments/soak-web`); // prettier-ignore
  const liveImage = web?.spec.template.spec.containers[0]?.image;
  if (liveImage !== image(d.round))
    violations.push(`Deployment soak-web runs ${liveImage}, git has ${image(d.round)}`);
  if (!(await getJson(admin, `/api/v1/namespaces/${ns}/services/soak-web`)))
    violations.push('Service soak-web is missing');
  const list = await getJson<{ items: { metadata: { name: string } }[] }>(
    admin,
    `/api/v1/namespaces/${ns}/configmaps`,
  );
  const live = (list?.items ?? [])
    .map((i) => i.metadata.name)
    .filter((n) => n.startsWith('soak-extra-'))
    .sort();
  const want = d.extras.map((n) => `soak-extra-${n}`).sort();
  if (JSON.stringify(live) !== JSON.stringify(want)) violations.push(`the cluster has extras ${live.join(', ') || 'none'}, git has ${want.join(', ') || 'none'}`); // prettier-ignore
}

function desiredIds(ns: string, d: Desired): string[] {
  return [
    `/ConfigMap/${ns}/soak-config`,
    `apps/Deployment/${ns}/soak-web`,
    `/Service/${ns}/soak-web`,
    ...d.extras.map((n) => `/ConfigMap/${ns}/soak-extra-${n}`),
  ].sort();
}

async function readBranch(remote: string): Promise<{ inventory?: Inventory; deploys: DeployRecord[] }> {
  const clone = await cloneRemote(remote);
  try {
    const store = await openState({ repoDir: clone.work });
    const state = await store.readService(SOAK_SERVICE);
    const deploys = await store.listDeploys(SOAK_SERVICE);
    return { ...(state.inventory ? { inventory: state.inventory } : {}), deploys };
  } finally {
    await clone.cleanup();
  }
}

function checkInventory(
  ns: string,
  d: Desired,
  inventory: Inventory | undefined,
  violations: string[],
): void {
  const ids = (inventory?.objects ?? []).map((o) => o.id).sort();
  const want = desiredIds(ns, d);
  if (JSON.stringify(ids) !== JSON.stringify(want)) {
    violations.push(`the inventory lists ${ids.join(', ')}; the cluster and git have ${want.join(', ')}`);
  }
}

/** Every sync that recorded has exactly one record, and no sync that said it did not record has one. */
function checkRecords(syncs: SoakSync[], deploys: DeployRecord[], violations: string[]): void {
  const count = new Map<string, number>();
  for (const r of deploys) count.set(r.id, (count.get(r.id) ?? 0) + 1);
  for (const [id, n] of count) if (n > 1) violations.push(`deploy ${id} has ${n} records`);
  const ran = new Set(syncs.map((s) => s.deployId).filter((id): id is string => Boolean(id)));
  for (const id of count.keys()) if (!ran.has(id)) violations.push(`a record of deploy ${id}, which no sync of the soak ran`); // prettier-ignore
  for (const s of syncs) {
    if (!s.deployId) continue;
    const has = count.has(s.deployId);
    if (s.recorded && !has) violations.push(`round ${s.round}: deploy ${s.deployId} said it was recorded, the branch has no record`); // prettier-ignore
    if (!s.recorded && has) violations.push(`round ${s.round}: deploy ${s.deployId} said it was not recorded, the branch has its record`); // prettier-ignore
  }
}
