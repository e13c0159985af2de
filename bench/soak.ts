/**
 * The soak of issue #14 as a measurement: test/cluster/soak.ts's consecutive syncs of a changing
 * service, run twice, each in a fresh namespace created for it: once without faults (the baseline)
 * and once with 10% of API requests and 10% of the state remote's pushes and fetches faulted. Reports
 * the faults injected by kind, syncs converged and failed, retries per sync, requests per object, the
 * longest fault streak, each run's total time and the time the faults added, and the violations of
 * what must hold (there must be none). The baseline reaches the state remote as a file path (runSoak
 * starts its git server only for a remote fault rate above 0), the faulted run through the loopback
 * git HTTP server: the time the faults added includes that path's own cost.
 */
import { runSoak, MAX_ATTEMPTS, type SoakReport } from '../test/cluster/soak.js';
import { check, cli, must, record, round, run } from './lib.js';

export const SOAK_SYNCS = 40;
const FAULT_RATE = 0.1;
const SEED = 14;

/** A soak run's report (each sync's too, its time rounded), with where and how it ran. */
export type SoakRun = SoakReport & {
  namespace: string;
  apiFaultRate: number;
  gitFaultRate: number;
  /** Mean wall time of one sync. */
  msPerSync: number;
};

export interface SoakResult {
  rounds: number;
  seed: number;
  baseline: SoakRun;
  faulted: SoakRun;
  /** Faulted total minus baseline total, and that per round. */
  extraMs: number;
  extraMsPerRound: number;
}

function summary(namespace: string, apiFaultRate: number, gitFaultRate: number, r: SoakReport): SoakRun {
  return {
    ...r,
    syncs: r.syncs.map((sync) => ({ ...sync, ms: Math.round(sync.ms) })),
    namespace,
    apiFaultRate,
    gitFaultRate,
    retriesPerSync: round(r.retriesPerSync),
    requestsPerObject: round(r.requestsPerObject),
    totalMs: Math.round(r.totalMs),
    msPerSync: Math.round(r.syncs.reduce((n, s) => n + s.ms, 0) / Math.max(1, r.syncs.length)),
  };
}

export async function benchSoak(
  dir: string,
  kubeconfig: string,
  kubectl: string,
  namespaces: (label: string) => string,
  rounds = SOAK_SYNCS,
): Promise<SoakResult> {
  console.log(
    `soak: ${rounds} syncs of a changing service, without faults and with ${FAULT_RATE * 100}% of API requests and remote pushes/fetches faulted`,
  );
  const admin = { KUBECONFIG: kubeconfig };
  const soak = async (label: string, rate: number): Promise<SoakRun> => {
    const ns = namespaces(label);
    must(await run(kubectl, ['create', 'namespace', ns], { cwd: dir, env: admin }), 'create namespace');
    try {
      const report = await runSoak({
        kubeconfig,
        kubectl,
        namespace: ns,
        syncs: rounds,
        apiFaultRate: rate,
        gitFaultRate: rate,
        seed: SEED,
        nopea: (args, opts) => run(process.execPath, [cli, ...args], opts),
        // Progress: every tenth round and every sync that did not converge.
        log: (line) => {
          const m = /^round (\d+): exit (\d+)/.exec(line);
          if (m && (m[2] !== '0' || Number(m[1]) % 10 === 0)) console.log(`    [${label}] ${line}`);
        },
      });
      return summary(ns, rate, rate, report);
    } finally {
      await run(kubectl, ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], {
        cwd: dir,
        env: admin,
      });
    }
  };
  const baseline = await soak('baseline', 0);
  const faulted = await soak('faults', FAULT_RATE);
  const extraMs = faulted.totalMs - baseline.totalMs;
  const result: SoakResult = {
    rounds,
    seed: SEED,
    baseline,
    faulted,
    extraMs,
    extraMsPerRound: Math.round(extraMs / rounds),
  };
  for (const [label, r] of [
    ['baseline', baseline],
    ['faults', faulted],
  ] as const) {
    record(
      `[soak ${label}] ${r.syncs.length} syncs: ${r.converged} converged (exit 0), ${r.failed} failed (exit 1)${r.other ? `, ${r.other} other` : ''}`,
      `${(r.totalMs / 1000).toFixed(1)} s (${r.msPerSync} ms per sync), ${r.retriesPerSync.toFixed(2)} retries per sync, ${r.requestsPerObject.toFixed(2)} requests per object per sync (${r.apiRequests} API requests)`,
    );
    record(
      `[soak ${label}] faults injected`,
      `API ${JSON.stringify(r.apiFaults)}, remote ${JSON.stringify(r.gitFaults)}; longest fault streak ${r.longestFaultStreak}; ${r.violations.length} violations`,
    );
    for (const v of r.violations) console.log(`    violation: ${v}`);
  }
  record(
    '[soak] time the faults added',
    `${(extraMs / 1000).toFixed(1)} s in all, ${result.extraMsPerRound} ms per round`,
  );
  check('soak violations', baseline.violations.length + faulted.violations.length, 0, '', 0);
  check('soak longest fault streak', faulted.longestFaultStreak, MAX_ATTEMPTS, '', 0);
  return result;
}
