/**
 * Flags shared by the commands: which manifests, which service, which cluster, which state branch.
 */
import type { Argv } from 'yargs';
import { parseRequestTimeout, type ClusterTarget } from '../surface/cluster.js';
import type { RunOptions } from '../surface/options.js';
import type { StateLocationOptions } from '../surface/prepare.js';
import { ciProvenance } from '../state/repository.js';
import { telemetryOptions, type TelemetryOptions } from '../events/telemetry.js';

/** Adds `--events-url` and `--pushgateway-url` (sync, promote, rollback). */
export function withTelemetryOptions<T>(y: Argv<T>) {
  return y
    .option('events-url', {
      requiresArg: true,
      type: 'string',
      describe: 'POST a CDEvent for every deploy here (default: NOPEA_EVENTS_URL)',
    })
    .option('pushgateway-url', {
      requiresArg: true,
      type: 'string',
      describe: "push the run's metrics to this Prometheus Pushgateway (default: NOPEA_PUSHGATEWAY_URL)",
    });
}

/** Where events and metrics go: the flags, then the environment. */
export function telemetryOptionsFrom(argv: {
  eventsUrl?: string | undefined;
  pushgatewayUrl?: string | undefined;
}): TelemetryOptions {
  const flags: TelemetryOptions = {};
  if (argv.eventsUrl) flags.eventsUrl = argv.eventsUrl;
  if (argv.pushgatewayUrl) flags.pushgatewayUrl = argv.pushgatewayUrl;
  return telemetryOptions(flags, process.env);
}

const CLUSTER_FLAGS = {
  kubeconfig: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)',
  context: 'kubeconfig context',
  'request-timeout':
    'deadline of one API request, e.g. 10s; one that runs out is retried, up to 5 attempts (default 30s)',
} as const;

export interface ClusterArgs {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  requestTimeout?: string | undefined;
}

/** Adds one string flag taking a value per entry of `flags` (flag → description). */
function withStringFlags<T, A>(y: Argv<T>, flags: Record<string, string>): Argv<T & A> {
  let parser: Argv<T> = y;
  for (const [flag, describe] of Object.entries(flags)) {
    parser = parser.option(flag, { requiresArg: true, type: 'string', describe }) as unknown as Argv<T>;
  }
  return parser as Argv<T & A>;
}

/** Adds which cluster to talk to and how long one request to it may take. */
export function withClusterOptions<T>(y: Argv<T>): Argv<T & ClusterArgs> {
  return withStringFlags<T, ClusterArgs>(y, CLUSTER_FLAGS);
}

/** The cluster target from parsed flags (a bad `--request-timeout` is a usage error, exit 2). */
export function clusterOptionsFrom(argv: ClusterArgs): ClusterTarget {
  const out: ClusterTarget = {};
  if (argv.kubeconfig) out.kubeconfig = argv.kubeconfig;
  if (argv.context) out.context = argv.context;
  if (argv.requestTimeout !== undefined) {
    out.requestTimeoutMs = parseRequestTimeout(argv.requestTimeout, '--request-timeout');
  }
  return out;
}

/** Adds the selection, cluster and state flags. */
export function withRunOptions<T>(y: Argv<T>) {
  return withClusterOptions(withStateOptions(y))
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
export function runOptionsFrom(
  argv: ClusterArgs & {
    paths?: string[] | undefined;
    service?: string | undefined;
    namespace?: string | undefined;
    stateBranch?: string | undefined;
    stateRemote?: string | undefined;
    kubectl?: string | undefined;
  },
): RunOptions {
  // Run from a CI job (`npx nopea` in a GitHub Actions step), the record names the run.
  const out: RunOptions = {
    provenance: ciProvenance(process.env),
    ...stateOptionsFrom(argv),
    ...clusterOptionsFrom(argv),
  };
  if (argv.paths?.length) out.paths = argv.paths;
  if (argv.service) out.service = argv.service;
  if (argv.namespace) out.namespace = argv.namespace;
  if (argv.kubectl) out.kubectl = argv.kubectl;
  return out;
}

/** The flags that say where a server's operations run (`nopea mcp`, `nopea serve`), each taking one value. */
const SERVER_WHERE = {
  'state-branch': 'git branch holding the .nopea/ state (default: nopea-state)',
  'state-remote': 'git remote of the state branch (and of the refs a deploy names; default: origin)',
  kubectl: 'kubectl used to render kustomizations (default: NOPEA_KUBECTL or PATH)',
} as const;

export interface ServerWhereArgs extends ClusterArgs {
  stateBranch?: string | undefined;
  stateRemote?: string | undefined;
  kubectl?: string | undefined;
}

/** Adds the flags of SERVER_WHERE; requests to the server can never change them. */
export function withServerOptions<T>(y: Argv<T>): Argv<T & ServerWhereArgs> {
  return withStringFlags<T & ClusterArgs, ServerWhereArgs>(withClusterOptions(y), SERVER_WHERE);
}

/**
 * A server's operation context: those flags, CI provenance, and where events and metrics go
 * (`NOPEA_EVENTS_URL`, `NOPEA_PUSHGATEWAY_URL`), all read here, by the interface.
 */
export function serverContextFrom(argv: ServerWhereArgs): ClusterTarget &
  TelemetryOptions & {
    stateBranch?: string;
    stateRemote?: string;
    kubectl?: string;
    provenance: ReturnType<typeof ciProvenance>;
  } {
  const context: { stateBranch?: string; stateRemote?: string; kubectl?: string } = {};
  for (const key of ['stateBranch', 'stateRemote', 'kubectl'] as const) {
    const value = argv[key];
    if (value) context[key] = value;
  }
  return {
    provenance: ciProvenance(process.env),
    ...telemetryOptions({}, process.env),
    ...clusterOptionsFrom(argv),
    ...context,
  };
}
