// vitest globalSetup for the integration project: starts (or reuses) the test control plane and
// hands its paths to the tests through provide/inject, with Kulta (its CRD, one controller) and the
// loopback Prometheus stand-in running beside it.
import type { TestProject } from 'vitest/node';
import { ensureBinaries, ensureKultaBinary, startCluster, stopCluster } from './harness.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin kubeconfig (token user in system:masters). */
    kubeconfig: string;
    /** Kubeconfig of user `restricted`, allowed everything in namespace nopea-restricted only. */
    restrictedKubeconfig: string;
    /** The kubectl built with the control plane (never the one on PATH). */
    kubectl: string;
    /** Directory holding the control-plane binaries. */
    clusterBinDir: string;
    /** The Kulta controller binary running against the cluster (one controller per cluster). */
    kulta: string;
    /** Kulta's log file (logs/kulta.log in the cluster's state dir). */
    kultaLog: string;
    /** Base URL of the loopback Prometheus stand-in Kulta queries (KULTA_PROMETHEUS_ADDRESS). */
    prometheusUrl: string;
  }
}

/** Starts or reuses the cluster and returns a teardown that stops it only if this run started it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Any failure propagates: integration tests must fail loudly, never skip, without a cluster.
  const binDir = await ensureBinaries();
  const kultaBin = await ensureKultaBinary();
  const { cluster, started } = await startCluster({ binDir, kultaBin });
  if (!cluster.kulta || !cluster.prometheus) throw new Error('the cluster started without Kulta');
  if (!started) process.stderr.write(`[cluster] reusing the running cluster at ${cluster.server}\n`);
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('restrictedKubeconfig', cluster.restrictedKubeconfig);
  project.provide('kubectl', cluster.kubectl);
  project.provide('clusterBinDir', binDir);
  project.provide('kulta', cluster.kulta.binary);
  project.provide('kultaLog', cluster.kulta.log);
  project.provide('prometheusUrl', cluster.prometheus.url);
  return async () => {
    // A cluster from `npm run cluster:up` (or NOPEA_KEEP_CLUSTER=1) stays up for the next run.
    if (started && process.env.NOPEA_KEEP_CLUSTER !== '1') await stopCluster();
  };
}
