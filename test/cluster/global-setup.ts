// vitest globalSetup for the integration project: starts (or reuses) the test control plane and
// hands its paths to the tests through provide/inject.
import type { TestProject } from 'vitest/node';
import { ensureBinaries, startCluster, stopCluster } from './harness.js';

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
  }
}

/** Starts or reuses the cluster and returns a teardown that stops it only if this run started it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Any failure propagates: integration tests must fail loudly, never skip, without a cluster.
  const binDir = await ensureBinaries();
  const { cluster, started } = await startCluster({ binDir });
  if (!started) process.stderr.write(`[cluster] reusing the running cluster at ${cluster.server}\n`);
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('restrictedKubeconfig', cluster.restrictedKubeconfig);
  project.provide('kubectl', cluster.kubectl);
  project.provide('clusterBinDir', binDir);
  return async () => {
    // A cluster from `npm run cluster:up` (or NOPEA_KEEP_CLUSTER=1) stays up for the next run.
    if (started && process.env.NOPEA_KEEP_CLUSTER !== '1') await stopCluster();
  };
}
