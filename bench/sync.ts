/**
 * Sync vs `kubectl apply --server-side` of the same 500 generated objects, fresh apply and no-op
 * resync, in two profiles (issue #13):
 *
 * - loopback: both tools talk to the test API server directly;
 * - network: both go through the latency proxy (test/cluster/api-proxy.ts, TLS passed through, a delay
 *   in each direction, 10 ms by default: about 20 ms round trip), with the same kubeconfig apart from
 *   the server address.
 *
 * Each profile runs in rounds (three by default, `--sync-rounds N`), each with new namespaces and a new
 * repository, and its targets are judged on the median ratios: on two cores shared with the API server
 * one run's ratio moves by a tenth from one minute to the next. Per round: wall time of each run and
 * nopea's ratio to kubectl; from the median rounds, the API requests of each tool
 * (kubectl's from its `-v=6` lines, nopea's from its `-o json` `requests`), the proxy's connections and
 * bytes per run, peak memory, and where nopea's time went: start-up, then each of the run's stages
 * and the service's (from its `-o json` `startupMs` and `stages`; manifests load while the state
 * branch is fetched and the cluster discovered, so `source` is only what is left of loading after
 * those), and the rest of the wall time as `other`.
 */
import path from 'node:path';
import { startApiProxy, type ProxyStats } from '../test/cluster/api-proxy.js';
import { generateObjects, writeManifests } from './generate.js';
import {
  check,
  cli,
  deleteNamespaces,
  formatBreakdown,
  hasTime,
  kubectlRequests,
  makeRepo,
  median,
  must,
  record,
  requestsOf,
  round,
  run,
  stagesOf,
  targets,
  type Run,
  type StageBreakdown,
} from './lib.js';

export type Profile = 'loopback' | 'network';

/** Targets per profile: fresh and no-op ratios to kubectl (issue #13). */
const LIMITS: Record<Profile, { fresh: number; noop: number }> = {
  loopback: { fresh: 1.0, noop: 0.4 },
  network: { fresh: 0.3, noop: 0.1 },
};
const MEMORY_LIMIT_MB = 250;
const OBJECTS = 500;

interface ProxyCounts {
  connections: number;
  bytesFromClients: number;
  bytesToClients: number;
}

interface ToolRun {
  ms: number;
  maxRssMb?: number;
  /** The proxy's view of this run (network profile). */
  proxy?: ProxyCounts;
}

/** One round's four measured runs and nopea's ratios to kubectl. */
export interface SyncRound {
  kubectl: { freshMs: number; noopMs: number };
  nopea: { freshMs: number; noopMs: number };
  ratio: { fresh: number; noop: number };
}

export interface SyncProfileResult {
  profile: Profile;
  /** One-way delay of the proxy, ms; 0 for loopback. */
  delayMs: number;
  objects: number;
  /** Every round in run order; the ratios below are their medians. */
  rounds: SyncRound[];
  /** The round whose fresh ratio is the median (for `fresh`) and the one whose no-op ratio is (for `noop`). */
  kubectl: {
    fresh: ToolRun & { requests: number; writes: number };
    noop: ToolRun & { requests: number; writes: number };
  };
  nopea: {
    fresh: ToolRun & { requests: Record<string, number>; stages: StageBreakdown };
    noop: ToolRun & { requests: Record<string, number>; stages: StageBreakdown };
  };
  ratio: { fresh: number; noop: number };
  /** The most any round's no-op resync wrote (the target is none in every round). */
  noopWrites: number;
  nopeaPeakMemoryMb?: number;
  limits: { fresh: number; noop: number };
}

/** Rounds per profile by default: the median of three is not moved by one run the machine slowed. */
export const SYNC_ROUNDS = 3;

function proxyDelta(before: ProxyStats, after: ProxyStats): ProxyCounts {
  return {
    connections: after.connections - before.connections,
    bytesFromClients: after.bytesFromClients - before.bytesFromClients,
    bytesToClients: after.bytesToClients - before.bytesToClients,
  };
}

/** Runs both profiles one after the other, `rounds` rounds each, and returns their results. */
export async function benchSyncProfiles(
  dir: string,
  adminKubeconfig: string,
  kubectl: string,
  delayMs: number,
  rounds = SYNC_ROUNDS,
): Promise<SyncProfileResult[]> {
  const setup = { dir, adminKubeconfig, kubectl, rounds };
  const results = [await benchSync(setup, 'loopback', adminKubeconfig, 0)];
  const proxy = await startApiProxy({ upstream: adminKubeconfig, mode: 'latency', delayMs });
  try {
    results.push(await benchSync(setup, 'network', proxy.kubeconfig, delayMs, () => proxy.stats()));
  } finally {
    await proxy.close();
  }
  return results;
}

interface Setup {
  dir: string;
  adminKubeconfig: string;
  kubectl: string;
  rounds: number;
}

type Measured = Run & { proxy?: ProxyCounts };

/** The four runs of one round: each tool's fresh apply into a namespace of its own, then its no-op. */
interface RoundRuns {
  k1: Measured;
  n1: Measured;
  k2: Measured;
  n2: Measured;
}

/**
 * One round: two new namespaces and a new repository (so nopea's fresh sync starts with no state
 * branch), kubectl and nopea alternating, then the namespaces deleted and waited for, so the next round
 * and the next profile run on a quiet cluster.
 */
async function syncRound(
  setup: Setup,
  profile: Profile,
  kubeconfig: string,
  round: number,
  proxyStats?: () => ProxyStats,
): Promise<RoundRuns> {
  const { dir, kubectl } = setup;
  // Set-up and clean-up go straight to the cluster; only the measured runs take the profile's path.
  const admin = { KUBECONFIG: setup.adminKubeconfig };
  const env = { KUBECONFIG: kubeconfig };
  const nsKubectl = `bench-kubectl-${profile}-${round}-${process.pid}`;
  const nsNopea = `bench-nopea-${profile}-${round}-${process.pid}`;
  // Both namespaces exist beforehand: kubectl cannot apply objects right behind their new Namespace.
  for (const ns of [nsKubectl, nsNopea])
    must(await run(kubectl, ['create', 'namespace', ns], { cwd: dir, env: admin }), 'create namespace');
  const work = makeRepo(path.join(dir, `sync-${profile}-${round}`), generateObjects(OBJECTS, nsNopea));
  const kdir = path.join(dir, `kubectl-${profile}-${round}`);
  writeManifests(kdir, generateObjects(OBJECTS, nsKubectl));
  const measured = async (what: string, start: () => Promise<Run>): Promise<Measured> => {
    const before = proxyStats?.();
    const result = must(await start(), what);
    return before ? { ...result, proxy: proxyDelta(before, proxyStats!()) } : result;
  };
  const kubectlApply = (what: string) =>
    measured(what, () =>
      run(
        kubectl,
        ['apply', '--server-side', '--field-manager=bench', '-R', '-f', path.join(kdir, 'manifests'), '-v=6'],
        { cwd: kdir, env, memory: true },
      ),
    );
  const nopeaSync = (what: string) =>
    measured(what, () =>
      run(
        process.execPath,
        [
          cli,
          'sync',
          'manifests',
          '-s',
          `bench-sync-${profile}`,
          '-n',
          nsNopea,
          '--kubectl',
          kubectl,
          '-o',
          'json',
        ],
        { cwd: work, env, memory: true },
      ),
    );
  try {
    const k1 = await kubectlApply(`kubectl apply (${profile}, fresh)`);
    const n1 = await nopeaSync(`nopea sync (${profile}, fresh)`);
    const k2 = await kubectlApply(`kubectl apply (${profile}, no-op)`);
    const n2 = await nopeaSync(`nopea sync (${profile}, no-op)`);
    return { k1, n1, k2, n2 };
  } finally {
    // Waited for: the next round, the network profile and the sections after this one run on a quiet cluster.
    const deleted = await deleteNamespaces(kubectl, [nsKubectl, nsNopea], { cwd: dir, env: admin });
    console.log(`  [${profile}] round ${round}: ${deleted}`);
  }
}

/** The index of the median of `values` (the lower middle one for an even count). */
function medianIndex(values: number[]): number {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  return order[Math.floor((order.length - 1) / 2)]![1];
}

async function benchSync(
  setup: Setup,
  profile: Profile,
  kubeconfig: string,
  delayMs: number,
  proxyStats?: () => ProxyStats,
): Promise<SyncProfileResult> {
  const limits = LIMITS[profile];
  const how = profile === 'network' ? `through the latency proxy, ${delayMs} ms each way` : 'direct';
  console.log(
    `sync vs kubectl apply --server-side, ${profile} profile (${how}): ${OBJECTS} generated objects, ${setup.rounds} round(s)`,
  );
  const all: RoundRuns[] = [];
  const rounds: SyncRound[] = [];
  for (let n = 1; n <= setup.rounds; n++) {
    const r = await syncRound(setup, profile, kubeconfig, n, proxyStats);
    const one: SyncRound = {
      kubectl: { freshMs: Math.round(r.k1.ms), noopMs: Math.round(r.k2.ms) },
      nopea: { freshMs: Math.round(r.n1.ms), noopMs: Math.round(r.n2.ms) },
      ratio: { fresh: round(r.n1.ms / r.k1.ms), noop: round(r.n2.ms / r.k2.ms) },
    };
    all.push(r);
    rounds.push(one);
    record(
      `[${profile}] round ${n}`,
      `fresh: kubectl ${one.kubectl.freshMs} ms, nopea ${one.nopea.freshMs} ms (${one.ratio.fresh.toFixed(2)}x); ` +
        `no-op: kubectl ${one.kubectl.noopMs} ms, nopea ${one.nopea.noopMs} ms (${one.ratio.noop.toFixed(2)}x)`,
    );
  }
  // The details come from the median rounds: the fresh ones from the round whose fresh ratio is the
  // median, the no-op ones from the round whose no-op ratio is.
  const fresh = all[medianIndex(rounds.map((r) => r.ratio.fresh))]!;
  const noop = all[medianIndex(rounds.map((r) => r.ratio.noop))]!;
  const { k1, n1 } = fresh;
  const { k2, n2 } = noop;
  const kr1 = kubectlRequests(k1.stderr);
  const kr2 = kubectlRequests(k2.stderr);
  const nr1 = requestsOf(n1);
  const nr2 = requestsOf(n2);
  const via = (r: { proxy?: ProxyCounts }) =>
    r.proxy
      ? `, ${r.proxy.connections} connection(s), ${(r.proxy.bytesToClients / 1024).toFixed(0)} KiB down`
      : '';
  const which = setup.rounds > 1 ? ' (median round)' : '';
  record(
    `[${profile}] kubectl fresh apply${which}`,
    `${k1.ms.toFixed(0)} ms, ${kr1.total} requests (${kr1.writes} writes)${via(k1)}`,
  );
  record(
    `[${profile}] nopea fresh sync${which}`,
    `${n1.ms.toFixed(0)} ms (${(n1.ms / k1.ms).toFixed(2)}x), requests ${JSON.stringify(nr1)}${via(n1)}`,
  );
  record(
    `[${profile}] kubectl no-op apply${which}`,
    `${k2.ms.toFixed(0)} ms, ${kr2.total} requests (${kr2.writes} writes)${via(k2)}`,
  );
  record(
    `[${profile}] nopea no-op resync${which}`,
    `${n2.ms.toFixed(0)} ms (${(n2.ms / k2.ms).toFixed(2)}x), requests ${JSON.stringify(nr2)}${via(n2)}`,
  );
  const st1 = stagesOf(n1);
  const st2 = stagesOf(n2);
  record(`[${profile}] nopea fresh sync, where the time went${which}`, formatBreakdown(st1));
  record(`[${profile}] nopea no-op resync, where the time went${which}`, formatBreakdown(st2));
  const ratio = {
    fresh: median(rounds.map((r) => r.ratio.fresh)),
    noop: median(rounds.map((r) => r.ratio.noop)),
  };
  const over = setup.rounds > 1 ? ` (median of ${setup.rounds})` : '';
  check(`[${profile}] fresh sync vs kubectl apply${over}`, ratio.fresh, limits.fresh, 'x');
  check(`[${profile}] no-op resync vs kubectl apply${over}`, ratio.noop, limits.noop, 'x');
  // Every round's no-op must write nothing, not only the median one's.
  const noopWrites = Math.max(...all.map((r) => requestsOf(r.n2).writes ?? Number.NaN));
  check(`[${profile}] object writes in a no-op resync`, noopWrites, 0, '', 0);
  const rss = Math.max(...all.flatMap((r) => [r.n1.maxRssMb ?? Number.NaN, r.n2.maxRssMb ?? Number.NaN]));
  if (hasTime) {
    const kubectlRss = Math.max(...all.flatMap((r) => [r.k1.maxRssMb ?? 0, r.k2.maxRssMb ?? 0]));
    record(`[${profile}] nopea peak memory`, `${rss.toFixed(0)} MB (kubectl: ${kubectlRss.toFixed(0)} MB)`);
    check(`[${profile}] nopea peak memory`, rss, MEMORY_LIMIT_MB, ' MB', 0);
  } else {
    targets.push({
      name: `[${profile}] nopea peak memory`,
      value: 'not measured (/usr/bin/time missing)',
      target: `≤ ${MEMORY_LIMIT_MB} MB`,
      ok: false,
    });
  }
  const tool = (r: Measured): ToolRun => ({
    ms: Math.round(r.ms),
    ...(r.maxRssMb === undefined ? {} : { maxRssMb: Math.round(r.maxRssMb) }),
    ...(r.proxy ? { proxy: r.proxy } : {}),
  });
  return {
    profile,
    delayMs,
    objects: OBJECTS,
    rounds,
    kubectl: {
      fresh: { ...tool(k1), requests: kr1.total, writes: kr1.writes },
      noop: { ...tool(k2), requests: kr2.total, writes: kr2.writes },
    },
    nopea: {
      fresh: { ...tool(n1), requests: nr1, stages: st1 },
      noop: { ...tool(n2), requests: nr2, stages: st2 },
    },
    ratio,
    noopWrites,
    ...(hasTime ? { nopeaPeakMemoryMb: Math.round(rss) } : {}),
    limits,
  };
}
