/**
 * Sync vs `kubectl apply --server-side` of the same 500 generated objects, fresh apply and no-op
 * resync, in two profiles (issue #13):
 *
 * - loopback: both tools talk to the test API server directly;
 * - network: both go through the latency proxy (test/cluster/api-proxy.ts, TLS passed through, a delay
 *   in each direction, 10 ms by default: about 20 ms round trip), with the same kubeconfig apart from
 *   the server address.
 *
 * Per profile: wall time of each run and nopea's ratio to kubectl, the API requests of each tool
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

export interface SyncProfileResult {
  profile: Profile;
  /** One-way delay of the proxy, ms; 0 for loopback. */
  delayMs: number;
  objects: number;
  kubectl: {
    fresh: ToolRun & { requests: number; writes: number };
    noop: ToolRun & { requests: number; writes: number };
  };
  nopea: {
    fresh: ToolRun & { requests: Record<string, number>; stages: StageBreakdown };
    noop: ToolRun & { requests: Record<string, number>; stages: StageBreakdown };
  };
  ratio: { fresh: number; noop: number };
  nopeaPeakMemoryMb?: number;
  limits: { fresh: number; noop: number };
}

function proxyDelta(before: ProxyStats, after: ProxyStats): ProxyCounts {
  return {
    connections: after.connections - before.connections,
    bytesFromClients: after.bytesFromClients - before.bytesFromClients,
    bytesToClients: after.bytesToClients - before.bytesToClients,
  };
}

/** Runs both profiles one after the other and returns their results. */
export async function benchSyncProfiles(
  dir: string,
  adminKubeconfig: string,
  kubectl: string,
  delayMs: number,
): Promise<SyncProfileResult[]> {
  const results = [await benchSync(dir, adminKubeconfig, kubectl, 'loopback', adminKubeconfig, 0)];
  const proxy = await startApiProxy({ upstream: adminKubeconfig, mode: 'latency', delayMs });
  try {
    results.push(
      await benchSync(dir, adminKubeconfig, kubectl, 'network', proxy.kubeconfig, delayMs, () =>
        proxy.stats(),
      ),
    );
  } finally {
    await proxy.close();
  }
  return results;
}

async function benchSync(
  dir: string,
  adminKubeconfig: string,
  kubectl: string,
  profile: Profile,
  kubeconfig: string,
  delayMs: number,
  proxyStats?: () => ProxyStats,
): Promise<SyncProfileResult> {
  const limits = LIMITS[profile];
  const how = profile === 'network' ? `through the latency proxy, ${delayMs} ms each way` : 'direct';
  console.log(
    `sync vs kubectl apply --server-side, ${profile} profile (${how}): ${OBJECTS} generated objects`,
  );
  // Set-up and clean-up go straight to the cluster; only the measured runs take the profile's path.
  const admin = { KUBECONFIG: adminKubeconfig };
  const env = { KUBECONFIG: kubeconfig };
  const nsKubectl = `bench-kubectl-${profile}-${process.pid}`;
  const nsNopea = `bench-nopea-${profile}-${process.pid}`;
  // Both namespaces exist beforehand: kubectl cannot apply objects right behind their new Namespace.
  for (const ns of [nsKubectl, nsNopea])
    must(await run(kubectl, ['create', 'namespace', ns], { cwd: dir, env: admin }), 'create namespace');
  const work = makeRepo(path.join(dir, `sync-${profile}`), generateObjects(OBJECTS, nsNopea));
  const kdir = path.join(dir, `kubectl-${profile}`);
  writeManifests(kdir, generateObjects(OBJECTS, nsKubectl));
  const measured = async (
    what: string,
    start: () => Promise<Run>,
  ): Promise<Run & { proxy?: ProxyCounts }> => {
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
    const kr1 = kubectlRequests(k1.stderr);
    const kr2 = kubectlRequests(k2.stderr);
    const nr1 = requestsOf(n1);
    const nr2 = requestsOf(n2);
    const via = (r: { proxy?: ProxyCounts }) =>
      r.proxy
        ? `, ${r.proxy.connections} connection(s), ${(r.proxy.bytesToClients / 1024).toFixed(0)} KiB down`
        : '';
    record(
      `[${profile}] kubectl fresh apply`,
      `${k1.ms.toFixed(0)} ms, ${kr1.total} requests (${kr1.writes} writes)${via(k1)}`,
    );
    record(
      `[${profile}] nopea fresh sync`,
      `${n1.ms.toFixed(0)} ms (${(n1.ms / k1.ms).toFixed(2)}x), requests ${JSON.stringify(nr1)}${via(n1)}`,
    );
    record(
      `[${profile}] kubectl no-op apply`,
      `${k2.ms.toFixed(0)} ms, ${kr2.total} requests (${kr2.writes} writes)${via(k2)}`,
    );
    record(
      `[${profile}] nopea no-op resync`,
      `${n2.ms.toFixed(0)} ms (${(n2.ms / k2.ms).toFixed(2)}x), requests ${JSON.stringify(nr2)}${via(n2)}`,
    );
    const st1 = stagesOf(n1);
    const st2 = stagesOf(n2);
    record(`[${profile}] nopea fresh sync, where the time went`, formatBreakdown(st1));
    record(`[${profile}] nopea no-op resync, where the time went`, formatBreakdown(st2));
    check(`[${profile}] fresh sync vs kubectl apply`, n1.ms / k1.ms, limits.fresh, 'x');
    check(`[${profile}] no-op resync vs kubectl apply`, n2.ms / k2.ms, limits.noop, 'x');
    check(`[${profile}] object writes in a no-op resync`, nr2.writes ?? Number.NaN, 0, '', 0);
    const rss = Math.max(n1.maxRssMb ?? Number.NaN, n2.maxRssMb ?? Number.NaN);
    if (hasTime) {
      record(
        `[${profile}] nopea peak memory`,
        `${rss.toFixed(0)} MB (kubectl: ${Math.max(k1.maxRssMb ?? 0, k2.maxRssMb ?? 0).toFixed(0)} MB)`,
      );
      check(`[${profile}] nopea peak memory`, rss, MEMORY_LIMIT_MB, ' MB', 0);
    } else {
      targets.push({
        name: `[${profile}] nopea peak memory`,
        value: 'not measured (/usr/bin/time missing)',
        target: `≤ ${MEMORY_LIMIT_MB} MB`,
        ok: false,
      });
    }
    const tool = (r: Run & { proxy?: ProxyCounts }): ToolRun => ({
      ms: Math.round(r.ms),
      ...(r.maxRssMb === undefined ? {} : { maxRssMb: Math.round(r.maxRssMb) }),
      ...(r.proxy ? { proxy: r.proxy } : {}),
    });
    return {
      profile,
      delayMs,
      objects: OBJECTS,
      kubectl: {
        fresh: { ...tool(k1), requests: kr1.total, writes: kr1.writes },
        noop: { ...tool(k2), requests: kr2.total, writes: kr2.writes },
      },
      nopea: {
        fresh: { ...tool(n1), requests: nr1, stages: st1 },
        noop: { ...tool(n2), requests: nr2, stages: st2 },
      },
      ratio: { fresh: round(n1.ms / k1.ms), noop: round(n2.ms / k2.ms) },
      ...(hasTime ? { nopeaPeakMemoryMb: Math.round(rss) } : {}),
      limits,
    };
  } finally {
    // Waited for: the network profile, and the sections after this one, run on a quiet cluster.
    console.log(
      `  [${profile}] ${await deleteNamespaces(kubectl, [nsKubectl, nsNopea], { cwd: dir, env: admin })}`,
    );
  }
}
