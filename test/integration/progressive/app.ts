/**
 * What the progressive tests share: a service of four replicas (a Deployment and the Service canary
 * and blue-green split), nopea run against the test cluster, and the Service's ready endpoints sampled
 * while a rollout runs (they must never drop to zero).
 */
import { apiRequest, testCluster } from '../../helpers/cluster.js';
import type { TestRepo } from '../../helpers/git.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import { getLive } from '../sync/scenario.js';

/** `<dir>/deployment.yaml` and `<dir>/service.yaml` of service `name` on `image`. */
export function appFiles(image: string, name = 'web', dir = 'app'): Record<string, string> {
  return {
    [`${dir}/deployment.yaml`]: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 4
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{containerPort: 8080}]
`,
    [`${dir}/service.yaml`]: `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports: [{port: 80, targetPort: 8080}]
`,
  };
}

/** Runs `nopea <args>` in the repository against the test cluster. */
export function nopea(args: string[], repo: TestRepo, onStderr?: (s: string) => void): Promise<NopeaRun> {
  const cluster = testCluster();
  return runNopea([...args, '--kubeconfig', cluster.kubeconfig], {
    cwd: repo.work,
    env: { KUBECONFIG: '', NOPEA_KUBECTL: cluster.kubectl },
    timeoutMs: 240_000,
    ...(onStderr ? { onStderr } : {}),
  });
}

/** Samples the ready endpoints of a Service every 100 ms until stopped; returns the lowest count seen. */
export function sampleEndpoints(
  namespace: string,
  service: string,
): { stop: () => Promise<{ min: number; samples: number }> } {
  let min = Number.POSITIVE_INFINITY;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    const deadline = Date.now() + 600_000;
    while (running && Date.now() < deadline) {
      const res = await apiRequest<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${service}`,
      );
      const ready = res.body.items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready !== false).length;
      min = Math.min(min, ready);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { min, samples };
    },
  };
}

/** A ReplicaSet's ready replicas and the image of its first container (0 and undefined when absent). */
export async function replicaSet(ns: string, name: string): Promise<{ image?: string; ready: number }> {
  const rs = await getLive(`/apis/apps/v1/namespaces/${ns}/replicasets/${name}`);
  const spec = rs?.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined;
  const image = spec?.template?.spec?.containers?.[0]?.image;
  return {
    ...(image ? { image } : {}),
    ready: (rs?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0,
  };
}
