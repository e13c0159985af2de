// Helpers for integration tests against the test control plane started by test/cluster/global-setup.ts.
// Test-only plumbing: production code talks to Kubernetes through src/cluster, never through these.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { apiCall, apiTargetOf } from '../cluster/harness.js';

export interface TestClusterPaths {
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** Kubeconfig of user `restricted`: full rights in namespace `nopea-restricted`, nothing elsewhere. */
  restrictedKubeconfig: string;
  /** The kubectl built with the control plane. */
  kubectl: string;
  /** Directory with the control-plane binaries. */
  binDir: string;
  /** The Kulta controller binary running against the cluster (one controller per cluster, all namespaces). */
  kulta: string;
  /** Kulta's log (logs/kulta.log in the cluster's state dir), for diagnostics. */
  kultaLog: string;
  /** Base URL of the loopback Prometheus stand-in Kulta queries; drive it with test/helpers/prometheus.ts. */
  prometheusUrl: string;
}

/** Namespace in which the restricted user may do anything. */
export const RESTRICTED_NAMESPACE = 'nopea-restricted';

/** Returns the paths global-setup provided; only valid inside the integration project. */
export function testCluster(): TestClusterPaths {
  return {
    kubeconfig: inject('kubeconfig'),
    restrictedKubeconfig: inject('restrictedKubeconfig'),
    kubectl: inject('kubectl'),
    binDir: inject('clusterBinDir'),
    kulta: inject('kulta'),
    kultaLog: inject('kultaLog'),
    prometheusUrl: inject('prometheusUrl'),
  };
}

// ---------------------------------------------------------------------------------------------
// waitFor

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/** Polls fn until it returns a truthy value and returns it; throws with `what` and the last result on timeout. */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitOptions): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / intervalMs) + 1;
  let last = 'no attempt finished';
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const value = await fn();
      if (value) return value as Truthy<T>;
      last = `last result: ${preview(value)}`;
    } catch (error) {
      // Errors count as "not yet": the thing awaited often 404s until it exists.
      last = `last error: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() + intervalMs > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${options.what} (${last})`);
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// kubectl

export interface KubectlOptions {
  /** Defaults to the admin kubeconfig. */
  kubeconfig?: string;
  /** Written to kubectl's stdin (e.g. for `apply -f -`). */
  input?: string;
  timeoutMs?: number;
  /** Throw when kubectl exits non-zero (default: return the result). */
  check?: boolean;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when kubectl was killed (timeout). */
  code: number | null;
}

/** Runs the built kubectl against the test cluster; returns its output and never throws unless `check` is set. */
export async function kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const paths = testCluster();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fullArgs = [`--kubeconfig=${options.kubeconfig ?? paths.kubeconfig}`, ...args];
  const result = await new Promise<KubectlResult>((resolve) => {
    const child = spawn(paths.kubectl, fullArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: kubectlEnv() });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      stderr += `\n(kubectl killed after ${timeoutMs / 1000}s)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: `${stderr}${error.message}`, code: null });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.end(options.input ?? '');
  });
  if (options.check && result.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}

function kubectlEnv(): NodeJS.ProcessEnv {
  // A KUBECONFIG from the developer's shell must never leak into a test.
  const env = { ...process.env };
  delete env.KUBECONFIG;
  return env;
}

// ---------------------------------------------------------------------------------------------
// Raw API requests

export interface ApiRequestOptions {
  /** Defaults to the admin kubeconfig. */
  kubeconfig?: string;
  /** Defaults to application/merge-patch+json for PATCH and application/json otherwise. */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  /** Parsed JSON body; the type parameter is the caller's claim about its shape. */
  body: T;
  /** Raw body text. */
  text: string;
}

/** Sends one request to the API server named by a kubeconfig (admin by default) and returns status and JSON body. */
export async function apiRequest<T = unknown>(
  method: string,
  apiPath: string,
  body?: unknown,
  options: ApiRequestOptions = {},
): Promise<ApiResponse<T>> {
  const target = apiTargetOf(options.kubeconfig ?? testCluster().kubeconfig);
  const url = new URL(apiPath, target.server);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const contentType =
    options.contentType ??
    (method.toUpperCase() === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
  const { status, text } = await apiCall(
    target,
    method.toUpperCase(),
    `${url.pathname}${url.search}`,
    body,
    options.timeoutMs ?? 30_000,
    contentType,
  );
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status, body: parsed as T, text };
}

// ---------------------------------------------------------------------------------------------
// Namespaces

export interface NamespaceOptions {
  /**
   * How long cleanup waits for the namespace to disappear. The namespace controller waits 5s before it
   * even starts, so by default cleanup only checks that the deletion was accepted (names are unique).
   */
  waitForDeletionMs?: number;
}

export interface TestNamespace {
  name: string;
  cleanup: () => Promise<void>;
}

/** Creates a uniquely named namespace (and waits for its default ServiceAccount) and returns it with a cleanup. */
export async function createNamespace(
  prefix: string,
  options: NamespaceOptions = {},
): Promise<TestNamespace> {
  const base =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  const name = `${base}-${randomBytes(3).toString('hex')}`;
  const created = await apiRequest('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'nopea.test/integration': 'true' } },
  });
  if (created.status !== 201)
    throw new Error(`creating namespace ${name}: HTTP ${created.status} ${created.text}`);
  // Pods are rejected until the ServiceAccount controller has created `default`.
  await waitFor(
    async () =>
      (await apiRequest('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200,
    { what: `ServiceAccount default in ${name}`, timeoutMs: 30_000, intervalMs: 100 },
  );
  const cleanup = async () => {
    const deleted = await apiRequest('DELETE', `/api/v1/namespaces/${name}`);
    if (![200, 202, 404].includes(deleted.status)) {
      throw new Error(`deleting namespace ${name}: HTTP ${deleted.status} ${deleted.text}`);
    }
    if (options.waitForDeletionMs) {
      await waitFor(async () => (await apiRequest('GET', `/api/v1/namespaces/${name}`)).status === 404, {
        what: `namespace ${name} to be deleted`,
        timeoutMs: options.waitForDeletionMs,
        intervalMs: 250,
      });
    }
  };
  return { name, cleanup };
}

export interface NamespaceHandle {
  /** The current test's namespace; only valid inside tests and hooks of the registering suite. */
  readonly name: string;
}

/**
 * Registers hooks that give every test (scope 'each', the default) or the whole suite (scope 'all')
 * its own fresh namespace, deleted afterwards.
 */
export function useNamespace(
  prefix: string,
  options: NamespaceOptions & { scope?: 'each' | 'all' } = {},
): NamespaceHandle {
  let current: TestNamespace | undefined;
  const setup = async () => {
    current = await createNamespace(prefix, options);
  };
  const teardown = async () => {
    const namespace = current;
    current = undefined;
    await namespace?.cleanup();
  };
  if (options.scope === 'all') {
    beforeAll(setup);
    afterAll(teardown);
  } else {
    beforeEach(setup);
    afterEach(teardown);
  }
  return {
    get name(): string {
      if (!current) throw new Error(`useNamespace('${prefix}'): no namespace outside a test of its suite`);
      return current.name;
    },
  };
}
