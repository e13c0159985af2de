/**
 * Options shared by every surface call that plans or syncs, and the resolution of which services a
 * run covers: `nopea.yaml` declares services, flags override it.
 */
import { inputError } from '../errors.js';
import type { NopeaConfig, ServiceConfig } from '../source/config.js';
import { invalidNamespace } from '../source/names.js';
import type { CiProvenance } from '../state/repository.js';
import type { StrategyRequest } from '../strategy/names.js';
import type { ClusterTarget } from './cluster.js';

/** Where the desired state and the cluster are, as given by flags, Action inputs or API calls. */
export interface RunOptions extends ClusterTarget {
  /** Directory inside the repository (default: the current directory). */
  cwd?: string;
  /** Manifest paths; default: the service's paths from nopea.yaml. */
  paths?: string[];
  service?: string;
  namespace?: string;
  stateBranch?: string;
  stateRemote?: string;
  /** Plan against the state branch only, without a cluster. */
  offline?: boolean;
  /** kubectl used to render kustomizations (default: NOPEA_KUBECTL, then kubectl on PATH). */
  kubectl?: string;
  /** Extra http header for git fetch/push (e.g. a token), never logged. */
  gitAuthHeader?: string;
  /** Where the run comes from in CI (repository, commit, actor, run URL), read by the interface. */
  provenance?: CiProvenance;
}

/** One service to plan or sync, with everything resolved. */
export interface ServiceSpec {
  name: string;
  paths: string[];
  namespace?: string;
  prune: boolean;
  strategy?: StrategyRequest;
  /** How kustomizations render (`kustomize:` in nopea.yaml): remote bases only when allowed. */
  kustomize?: { allowRemote: boolean };
  /** How canary and blue-green run for this service (`canary:`/`blueGreen:` in nopea.yaml). */
  canary?: ServiceConfig['canary'];
  blueGreen?: ServiceConfig['blueGreen'];
}

const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** How a declared service deploys: its strategy and the settings of each, and kustomize's rules. */
function copyDeploySettings(from: ServiceConfig, spec: ServiceSpec): void {
  if (from.strategy) spec.strategy = from.strategy;
  if (from.kustomize) spec.kustomize = from.kustomize;
  if (from.canary) spec.canary = from.canary;
  if (from.blueGreen) spec.blueGreen = from.blueGreen;
}

/** The services a run covers, from flags and the optional nopea.yaml. */
export function selectServices(opts: RunOptions, config: NopeaConfig | undefined): ServiceSpec[] {
  const declared = config?.services ?? [];
  if (opts.service !== undefined && !SERVICE_NAME.test(opts.service)) {
    throw inputError({
      message: `service name "${opts.service}" is not valid`,
      hint: 'use lower-case letters, digits and "-" (a DNS label, at most 63 characters)',
    });
  }
  const badNamespace = opts.namespace === undefined ? undefined : invalidNamespace(opts.namespace);
  if (badNamespace) {
    throw inputError({
      message: `namespace ${JSON.stringify(opts.namespace)} ${badNamespace}`,
      hint: 'pass the namespace of an existing or declared Namespace with -n/--namespace',
    });
  }
  if (opts.service) {
    const fromConfig = declared.find((s) => s.name === opts.service);
    const paths = opts.paths?.length ? opts.paths : fromConfig?.paths;
    if (!paths?.length) {
      const names = declared.map((s) => s.name);
      throw inputError({
        message: `no manifests for service "${opts.service}"`,
        hint: names.length
          ? `nopea.yaml declares ${names.map((n) => `"${n}"`).join(', ')}; check -s, or give manifest paths on the command line`
          : 'give manifest paths on the command line, or declare the service with its paths in nopea.yaml',
      });
    }
    const spec: ServiceSpec = { name: opts.service, paths, prune: fromConfig?.prune ?? true };
    const namespace = opts.namespace ?? fromConfig?.namespace;
    if (namespace) spec.namespace = namespace;
    if (fromConfig) copyDeploySettings(fromConfig, spec);
    return [spec];
  }
  if (declared.length === 0) {
    throw inputError({
      message: 'no service named',
      hint: 'pass -s SERVICE (state on the branch is kept per service), or declare services in nopea.yaml',
    });
  }
  if (opts.paths?.length && declared.length > 1) {
    throw inputError({
      message: `nopea.yaml declares ${declared.length} services; manifest paths on the command line need -s SERVICE`,
      hint: `name one of: ${declared.map((s) => s.name).join(', ')}`,
    });
  }
  return declared.map((s) => {
    const spec: ServiceSpec = {
      name: s.name,
      paths: opts.paths?.length ? opts.paths : s.paths,
      prune: s.prune ?? true,
    };
    const namespace = opts.namespace ?? s.namespace;
    if (namespace) spec.namespace = namespace;
    copyDeploySettings(s, spec);
    return spec;
  });
}
