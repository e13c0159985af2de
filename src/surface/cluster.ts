/**
 * Reaching the cluster, the same way for every operation: which kubeconfig and context, how long one
 * API request may take, then discovery of what the cluster serves (once per run).
 */
import type { KubeClient } from '../cluster/client.js';
import { parseDuration } from '../duration.js';
import { NopeaError } from '../errors.js';
import { connect, type ConnectOptions } from '../cluster/connect.js';
import { discover } from '../cluster/discover.js';
import { describeApiError } from '../cluster/explain.js';
import type { ResourceCatalog } from '../resources/catalog.js';

/** Which cluster, and how patient to be with it: from flags, Action inputs or the server's settings. */
export interface ClusterTarget {
  /** Kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  context?: string;
  /**
   * Deadline of one API request attempt, from connecting to the last byte (default 30 s). An attempt
   * that runs out is retried like a dropped connection, within the client's attempt bound.
   */
  requestTimeoutMs?: number;
}

/** `--request-timeout` / the `request-timeout` input: a duration of at least 100 ms (`what` names it). */
export function parseRequestTimeout(value: string, what: string): number {
  const ms = parseDuration(value, what);
  if (ms < 100) {
    throw new NopeaError('input', {
      message: `${what} "${value}" is too short for any API request`,
      hint: 'give at least 100ms, e.g. 10s (the default is 30s)',
    });
  }
  return ms;
}

/** A client for the target's cluster (no request sent yet). */
export function connectCluster(target: ClusterTarget): Promise<KubeClient> {
  const opts: ConnectOptions = {};
  if (target.kubeconfig) opts.kubeconfig = target.kubeconfig;
  if (target.context) opts.context = target.context;
  if (target.requestTimeoutMs !== undefined) opts.client = { timeoutMs: target.requestTimeoutMs };
  return connect(opts);
}

/** What the cluster serves, or an error naming the server and what to check. */
export async function discoverCluster(client: KubeClient): Promise<ResourceCatalog> {
  try {
    return await discover(client);
  } catch (err) {
    throw describeApiError(err, `API discovery at ${client.server}`);
  }
}

/** A connected client and what its cluster serves; the client is closed when discovery fails. */
export async function openCluster(
  target: ClusterTarget,
): Promise<{ client: KubeClient; catalog: ResourceCatalog }> {
  const client = await connectCluster(target);
  try {
    return { client, catalog: await discoverCluster(client) };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** The target's fields of a larger options object, without the ones it left out. */
export function clusterTarget(from: ClusterTarget): ClusterTarget {
  const target: ClusterTarget = {};
  if (from.kubeconfig !== undefined) target.kubeconfig = from.kubeconfig;
  if (from.context !== undefined) target.context = from.context;
  if (from.requestTimeoutMs !== undefined) target.requestTimeoutMs = from.requestTimeoutMs;
  return target;
}
