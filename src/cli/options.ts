/**
 * Flags shared by the commands: which manifests, which service, which cluster, which state branch.
 */
import type { Argv } from 'yargs';
import type { RunOptions } from '../surface/options.js';
import type { StateLocationOptions } from '../surface/prepare.js';
import { ciProvenance } from '../state/repository.js';

/** Adds the selection, cluster and state flags. */
export function withRunOptions<T>(y: Argv<T>) {
  return withStateOptions(y)
    .positional('paths', {
      type: 'string',
      array: true,
      describe: 'manifest files or directories (default: from nopea.yaml)',
    })
    .option('service', {
      requiresArg: true,
      alias: 's',
      type: 'string',
      describe: 'service name (state is kept per service)',
    })
    .option('namespace', {
      requiresArg: true,
      alias: 'n',
      type: 'string',
      describe: 'namespace for namespaced objects that name none',
    })
    .option('kubeconfig', {
      requiresArg: true,
      type: 'string',
      describe: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)',
    })
    .option('context', { requiresArg: true, type: 'string', describe: 'kubeconfig context' })
    .option('kubectl', {
      requiresArg: true,
      type: 'string',
      describe: 'kubectl used to render kustomizations (default: NOPEA_KUBECTL or PATH)',
    });
}

/** The flags of the commands that only read the state branch: where it is, and the output format. */
export function withStateOptions<T>(y: Argv<T>) {
  return y
    .option('state-branch', {
      requiresArg: true,
      type: 'string',
      describe: 'git branch holding .nopea/ state (default: nopea-state)',
    })
    .option('state-remote', {
      requiresArg: true,
      type: 'string',
      describe: 'git remote of the state branch (default: origin)',
    })
    .option('output', {
      requiresArg: true,
      alias: 'o',
      choices: ['text', 'json'] as const,
      default: 'text' as const,
      describe: 'output format',
    });
}

/** Where the state branch is, from parsed flags. */
export function stateOptionsFrom(argv: {
  stateBranch?: string | undefined;
  stateRemote?: string | undefined;
}): StateLocationOptions {
  const out: StateLocationOptions = {};
  if (argv.stateBranch) out.stateBranch = argv.stateBranch;
  if (argv.stateRemote) out.stateRemote = argv.stateRemote;
  return out;
}

/** The surface options from parsed flags. */
export function runOptionsFrom(argv: {
  paths?: string[] | undefined;
  service?: string | undefined;
  namespace?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  stateBranch?: string | undefined;
  stateRemote?: string | undefined;
  kubectl?: string | undefined;
}): RunOptions {
  // Run from a CI job (`npx nopea` in a GitHub Actions step), the record names the run.
  const out: RunOptions = { provenance: ciProvenance(process.env), ...stateOptionsFrom(argv) };
  if (argv.paths?.length) out.paths = argv.paths;
  if (argv.service) out.service = argv.service;
  if (argv.namespace) out.namespace = argv.namespace;
  if (argv.kubeconfig) out.kubeconfig = argv.kubeconfig;
  if (argv.context) out.context = argv.context;
  if (argv.kubectl) out.kubectl = argv.kubectl;
  return out;
}
