/**
 * Turns API and transport failures into NopeaErrors that say what failed and what to do, keeping
 * the server's own words (they name verb, resource and namespace for RBAC denials).
 */
import { NopeaError, errorMessage, type Problem } from '../errors.js';
import { ApiError, ThroughProxy } from './errors.js';

/** A NopeaError for a failed cluster request; `action` says what nopea was doing (e.g. "apply of apps/Deployment/web/api"). */
export function describeApiError(err: unknown, action: string, object?: string): NopeaError {
  if (err instanceof NopeaError) return err;
  const problem: Problem = { message: `${action} failed: ${errorMessage(err)}` };
  if (object) problem.object = object;
  if (err instanceof ApiError) {
    switch (err.status) {
      case 401:
        problem.message = `${action} failed: the cluster rejected the credentials (401 Unauthorized)`;
        problem.reason = 'Unauthorized';
        problem.hint =
          'check the user of the current kubeconfig context; tokens and certificates may have expired';
        break;
      case 403:
        problem.message = `${action} failed: forbidden: ${err.message}`;
        problem.reason = 'Forbidden';
        problem.hint =
          'the kubeconfig user lacks an RBAC permission: grant it the verb on that resource and namespace';
        break;
      case 404:
        problem.message = `${action} failed: not found: ${err.message}`;
        break;
      default:
        problem.message = `${action} failed: ${err.reason} (${err.status}): ${err.message}`;
    }
    return new NopeaError('cluster', problem, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT'))) {
    // Through a proxy too: TLS to the server runs inside the tunnel, so it is still the server's certificate.
    problem.hint =
      "the server's TLS certificate is not trusted: check certificate-authority in the kubeconfig";
  } else if (err instanceof ThroughProxy) {
    const check = `that the proxy runs, takes this runner's requests, and lets them reach the API server`;
    problem.hint =
      err.source === 'proxy-url'
        ? `check the proxy-url of the kubeconfig cluster (${err.proxy}): ${check}`
        : `check ${err.source} in the environment (${err.proxy}): ${check}; or add the server to NO_PROXY to connect directly`;
  } else if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT'].includes(code)
  ) {
    problem.hint =
      'check the server address of the kubeconfig context and that the cluster is reachable from here';
  }
  return new NopeaError('cluster', problem, { cause: err });
}

/**
 * A cluster that turns the credentials away (401, or 403 for RBAC) before anything was written is a
 * configuration problem with nothing changed: exit 2, like any other refusal before writing. The same
 * denial once objects were written is a failed deploy (exit 1), because the cluster may be half-changed.
 */
export function refusedBeforeWrite(err: NopeaError): NopeaError {
  const cause = err.cause;
  if (err.kind === 'cluster' && cause instanceof ApiError && (cause.status === 401 || cause.status === 403)) {
    return new NopeaError('input', err.problems, { cause });
  }
  return err;
}
