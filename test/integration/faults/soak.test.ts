// Issue #14: 30 consecutive syncs of a changing service while 10% of API requests fail (500, 503, 429,
// resets before and after the server, stalls) and a share of the state remote's pushes and fetches
// fail too. Every sync ends 0, or 1 naming the object and the fault, and the next one converges;
// afterwards the cluster matches git, the inventory matches the cluster, every deploy has exactly one
// record, nothing outside the service was written and no request went past its retry bound
// (test/cluster/soak.ts checks all of it).
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../cluster/soak.js';
import { testCluster, useNamespace } from '../../helpers/cluster.js';
import { runNopea } from '../../helpers/nopea.js';

const ns = useNamespace('soak');

describe('a sync under an unreliable API server and state remote', () => {
  it(
    'loses nothing in 30 syncs at 10% API faults and 10% remote faults',
    async () => {
      const report = await runSoak({
        kubeconfig: testCluster().kubeconfig,
        kubectl: testCluster().kubectl,
        namespace: ns.name,
        syncs: 30,
        apiFaultRate: 0.1,
        gitFaultRate: 0.1,
        seed: 14,
        nopea: (args, opts) => runNopea(args, opts),
      });
      const summary = report.syncs
        .map(
          (s) =>
            `round ${s.round}: exit ${s.code}, ${s.faulted}/${s.requests} faulted${s.error ? `: ${s.error}` : ''}`,
        )
        .join('\n');
      console.log(
        `[soak] ${report.syncs.length} syncs (${report.failed} exit 1, each followed by a converging one), ` +
          `API faults ${JSON.stringify(report.apiFaults)}, remote faults ${JSON.stringify(report.gitFaults)}, ` +
          `${report.retriesPerSync.toFixed(1)} retries and ${report.requestsPerObject.toFixed(1)} requests per object per sync, ` +
          `longest fault streak ${report.longestFaultStreak}, ${Math.round(report.totalMs / 1000)} s\n${summary}`,
      );
      expect(report.violations, summary).toEqual([]);
      // The faults really happened, of every kind, and the syncs really ran.
      expect(report.syncs.length).toBeGreaterThanOrEqual(30);
      for (const [kind, n] of Object.entries(report.apiFaults))
        expect(n, `${kind} faults injected`).toBeGreaterThan(0);
      expect(Object.values(report.gitFaults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(report.converged).toBeGreaterThanOrEqual(30);
      expect(report.retriesPerSync).toBeGreaterThan(0);
    },
    15 * 60_000,
  );
});
