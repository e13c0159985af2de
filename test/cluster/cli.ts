// `npm run cluster:up` / `npm run cluster:down` / `node --import tsx test/cluster/cli.ts status`.
// Progress goes to stderr; `up` ends stdout with KUBECTL=... and KUBECONFIG=... so a shell can eval
// or grep them (KULTA=... and PROMETHEUS=... come just before).
import {
  clusterDir,
  clusterStatus,
  ensureBinaries,
  ensureKultaBinary,
  startCluster,
  stopCluster,
} from './harness.js';

const usage = 'usage: node --import tsx test/cluster/cli.ts up|down|status';

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const binDir = await ensureBinaries();
      const kultaBin = await ensureKultaBinary();
      const { cluster, started: fresh } = await startCluster({ binDir, kultaBin });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(
        fresh
          ? `[cluster] started in ${seconds}s (state in ${cluster.dir})\n`
          : `[cluster] reusing the running cluster (checked in ${seconds}s; state in ${cluster.dir})\n`,
      );
      process.stdout.write(
        [
          `SERVER=${cluster.server}`,
          `RESTRICTED_KUBECONFIG=${cluster.restrictedKubeconfig}`,
          `KULTA=${cluster.kulta?.binary ?? ''}`,
          `KULTA_LOG=${cluster.kulta?.log ?? ''}`,
          `PROMETHEUS=${cluster.prometheus?.url ?? ''}`,
          `KUBECTL=${cluster.kubectl}`,
          `KUBECONFIG=${cluster.kubeconfig}`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'down': {
      const stopped = await stopCluster();
      process.stderr.write(
        stopped > 0
          ? `[cluster] stopped ${stopped} processes\n`
          : `[cluster] nothing was running (${clusterDir()})\n`,
      );
      return 0;
    }
    case 'status': {
      const status = await clusterStatus();
      process.stdout.write(`${status.state}\n`);
      for (const problem of status.problems) process.stdout.write(`  ${problem}\n`);
      // Kulta and the stand-in do not make the cluster unhealthy: the next `up` restarts them alone.
      for (const problem of status.addonProblems)
        process.stdout.write(`  ${problem} (cluster:up restarts it)\n`);
      if (status.cluster) {
        if (status.cluster.kulta) process.stdout.write(`KULTA=${status.cluster.kulta.binary}\n`);
        if (status.cluster.prometheus) process.stdout.write(`PROMETHEUS=${status.cluster.prometheus.url}\n`);
        process.stdout.write(`KUBECTL=${status.cluster.kubectl}\nKUBECONFIG=${status.cluster.kubeconfig}\n`);
      }
      return status.state === 'running' ? 0 : 1;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[cluster] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
