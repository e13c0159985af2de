/**
 * The Action's inputs: what the step sets (`with:`), completed by the inputs of a `workflow_dispatch`
 * event, checked and turned into the facade's options. Pure: the entry point passes in how to read a
 * step input and the event payload.
 *
 * A JavaScript action cannot tell an input the step left unset from one action.yml defaults, so the
 * inputs a "Run workflow" button may set have no default in action.yml: the defaults live here.
 */
import path from 'node:path';
import { NopeaError, type Problem } from '../errors.js';
import { parseDuration } from '../duration.js';
import { parseRequestTimeout } from '../surface/cluster.js';
import { parsePruneLimit, PROTECTED_KINDS, type PruneLimit } from '../apply/guard.js';
import { PROPAGATION_POLICIES, type PropagationPolicy } from '../cluster/objects.js';
import type { CiProvenance } from '../state/repository.js';
import { STRATEGY_REQUESTS, type StrategyRequest } from '../strategy/names.js';
import type { SyncOptions } from '../surface/sync-types.js';

export type ActionCommand = 'sync' | 'diff' | 'promote' | 'rollback';
export const COMMANDS: readonly ActionCommand[] = ['sync', 'diff', 'promote', 'rollback'];

/** Inputs a `workflow_dispatch` run may supply (the secrets `kubeconfig` and `token` never come from it). */
export const DISPATCHABLE = [
  'command',
  'path',
  'service',
  'namespace',
  'context',
  'state-branch',
  'offline',
  'dry-run',
  'prune',
  'wait',
  'strategy',
  'deploy-id',
  'full',
  'timeout',
  'request-timeout',
  'force-conflicts',
  'max-prune',
  'allow-prune-kind',
  'prune-propagation',
  'recreate-on-immutable',
] as const;

/** Every input action.yml declares. */
export const INPUT_NAMES = [...DISPATCHABLE, 'kubeconfig', 'token'] as const;
export type InputName = (typeof INPUT_NAMES)[number];

/** The inputs, checked, with defaults applied. */
export interface ActionInputs {
  command: ActionCommand;
  /** Manifest paths relative to the workspace; empty means "from nopea.yaml". */
  paths: string[];
  service?: string;
  namespace?: string;
  /** Kubeconfig content (not a path). */
  kubeconfig?: string;
  context?: string;
  stateBranch?: string;
  offline: boolean;
  dryRun: boolean;
  /** Unset: nopea.yaml decides (default on). */
  prune?: boolean;
  wait: boolean;
  timeoutMs?: number;
  /** Deadline of one API request attempt (`request-timeout`). */
  requestTimeoutMs?: number;
  forceConflicts: boolean;
  maxPrune?: PruneLimit;
  /** Protected kinds prune may delete (`allow-prune-kind`). */
  allowPruneKinds: string[];
  /** Unset: `Background`. */
  propagationPolicy?: PropagationPolicy;
  recreateOnImmutable: boolean;
  /** Unset: nopea.yaml, then memory decide (`auto`). */
  strategy?: StrategyRequest;
  /** promote/rollback: the deploy whose rollout to move (default: the service's current one). */
  deployId?: string;
  /** promote: past every remaining gate. */
  full: boolean;
  token?: string;
  /** Where each dispatchable input came from, for the log. */
  sources: Partial<Record<InputName, 'step' | 'workflow_dispatch'>>;
}

/** The `inputs` of a workflow_dispatch event as strings (booleans arrive as "true"/"false"). */
export function dispatchInputs(eventName: string | undefined, payload: unknown): Record<string, string> {
  if (eventName !== 'workflow_dispatch') return {};
  const inputs = (payload as { inputs?: unknown } | null)?.inputs;
  if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(inputs as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
      out[key] = String(value);
    }
  }
  return out;
}

/** Splits the `path` input: one path per line or comma-separated, blanks dropped. */
export function splitPaths(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((p) => p.trim())
    .filter(Boolean);
}

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

/** A YAML 1.2 core-schema boolean (what `core.getBooleanInput` accepts), or a problem. */
function parseBoolean(name: string, value: string, problems: Problem[]): boolean | undefined {
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  problems.push({
    message: `input ${name} is "${value}", not a boolean`,
    hint: 'use true or false',
  });
  return undefined;
}

/**
 * Reads, completes and checks the inputs. `read(name)` returns the step input ('' when unset);
 * `dispatched` are the workflow_dispatch inputs. An input the step sets wins over the event's.
 * Every problem is reported at once, as one input error.
 */
export function resolveInputs(
  read: (name: InputName) => string,
  dispatched: Record<string, string>,
): ActionInputs {
  const sources: ActionInputs['sources'] = {};
  const get = (name: InputName): string => {
    const fromStep = read(name).trim();
    if (fromStep) {
      sources[name] = 'step';
      return fromStep;
    }
    if (!(DISPATCHABLE as readonly string[]).includes(name)) return '';
    // Dispatch inputs are often spelled with underscores (dry_run) where action inputs use hyphens.
    const fromEvent = (dispatched[name] ?? dispatched[name.replaceAll('-', '_')] ?? '').trim();
    if (fromEvent) sources[name] = 'workflow_dispatch';
    return fromEvent;
  };
  const problems: Problem[] = [];

  const commandText = get('command') || 'sync';
  const command = COMMANDS.find((c) => c === commandText);
  if (!command) {
    problems.push({
      message: `input command is "${commandText}"${sources.command === 'workflow_dispatch' ? ' (from the workflow_dispatch inputs)' : ''}`,
      hint: `use one of: ${COMMANDS.join(', ')}`,
    });
  }
  const bool = (name: InputName): boolean | undefined => {
    const v = get(name);
    return v ? parseBoolean(name, v, problems) : undefined;
  };

  const inputs: ActionInputs = {
    command: command ?? 'sync',
    paths: splitPaths(get('path')),
    offline: bool('offline') ?? false,
    dryRun: bool('dry-run') ?? false,
    wait: bool('wait') ?? true,
    forceConflicts: bool('force-conflicts') ?? false,
    allowPruneKinds: [],
    recreateOnImmutable: bool('recreate-on-immutable') ?? false,
    full: bool('full') ?? false,
    sources,
  };
  const prune = bool('prune');
  if (prune !== undefined) inputs.prune = prune;
  const strings = [
    ['service', 'service'],
    ['namespace', 'namespace'],
    ['context', 'context'],
    ['state-branch', 'stateBranch'],
    ['deploy-id', 'deployId'],
    ['token', 'token'],
  ] as const;
  for (const [name, key] of strings) {
    const v = get(name);
    if (v) inputs[key] = v;
  }
  // The kubeconfig keeps its exact text (no trimming inside); only an all-blank value counts as unset.
  const kubeconfig = read('kubeconfig');
  if (kubeconfig.trim()) inputs.kubeconfig = kubeconfig;

  const collect = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (err instanceof NopeaError) problems.push(...err.problems);
      else throw err;
    }
  };
  const timeout = get('timeout');
  if (timeout) collect(() => (inputs.timeoutMs = parseDuration(timeout, 'input timeout')));
  const requestTimeout = get('request-timeout');
  if (requestTimeout) {
    collect(() => (inputs.requestTimeoutMs = parseRequestTimeout(requestTimeout, 'input request-timeout')));
  }
  const strategy = get('strategy');
  if (strategy) {
    const known = STRATEGY_REQUESTS.find((r) => r === strategy);
    if (known) inputs.strategy = known;
    else
      problems.push({
        message: `input strategy is "${strategy}"${sources.strategy === 'workflow_dispatch' ? ' (from the workflow_dispatch inputs)' : ''}`,
        hint: `use one of: ${STRATEGY_REQUESTS.join(', ')}`,
      });
  }
  const maxPrune = get('max-prune');
  if (maxPrune) collect(() => (inputs.maxPrune = parsePruneLimit(maxPrune, 'input max-prune')));
  for (const kind of splitPaths(get('allow-prune-kind'))) {
    if (PROTECTED_KINDS.includes(kind)) inputs.allowPruneKinds.push(kind);
    else
      problems.push({
        message: `input allow-prune-kind names "${kind}", which is not a protected kind`,
        hint: `name one or more of: ${PROTECTED_KINDS.join(', ')} (other kinds are pruned without it)`,
      });
  }
  const propagation = get('prune-propagation');
  if (propagation) {
    if (Object.hasOwn(PROPAGATION_POLICIES, propagation)) {
      inputs.propagationPolicy = PROPAGATION_POLICIES[propagation as keyof typeof PROPAGATION_POLICIES];
    } else
      problems.push({
        message: `input prune-propagation is "${propagation}"`,
        hint: `use one of: ${Object.keys(PROPAGATION_POLICIES).join(', ')}`,
      });
  }
  // A promote or rollback has no dry run: dropping the input silently would move the rollout.
  if ((inputs.command === 'promote' || inputs.command === 'rollback') && (inputs.dryRun || inputs.offline)) {
    const input = inputs.dryRun ? 'dry-run' : 'offline';
    problems.push({
      message: `input ${input} applies to ${input === 'dry-run' ? 'sync' : 'diff'} only; command ${inputs.command} would move the rollout${sources[input] === 'workflow_dispatch' ? ` (${input} came from the workflow_dispatch inputs)` : ''}`,
      hint: `drop ${input} to ${inputs.command}, or run command: diff to see the plan`,
    });
  }
  if (inputs.offline && inputs.command === 'sync') {
    problems.push({
      message: 'input offline applies to the diff command only; a sync needs the cluster',
      hint: 'set command: diff, or drop offline and give the cluster with the kubeconfig input',
    });
  }
  if (inputs.kubeconfig !== undefined && !looksLikeKubeconfig(inputs.kubeconfig)) {
    problems.push({
      message: 'input kubeconfig does not look like a kubeconfig (it takes the file content, not a path)',
      hint: 'pass the content, e.g. kubeconfig: ${{ secrets.KUBECONFIG }}, or set the KUBECONFIG environment variable to a file path',
    });
  }
  if (problems.length > 0) throw new NopeaError('input', problems);
  return inputs;
}

/** A kubeconfig is YAML or JSON with a mapping at the top; a bare path is neither. */
function looksLikeKubeconfig(text: string): boolean {
  return /^\s*[{]/.test(text) || /^[ \t]*[A-Za-z"'-][^\n]*:/m.test(text);
}

/** Where the Action runs and what its entry point prepared for it. */
export interface ActionContext {
  /** The checkout (GITHUB_WORKSPACE). */
  workspace: string;
  /** The workflow run (repository, commit, actor, run URL), for the deploy record. */
  provenance?: CiProvenance;
  /** Path of the kubeconfig file written from the input. */
  kubeconfigPath?: string;
  /** Extra http header for the state branch's fetch and push. */
  gitAuthHeader?: string;
  signal?: AbortSignal;
  hurry?: AbortSignal;
  onEvent?: SyncOptions['onEvent'];
}

/** The facade's options for the inputs. */
export function toSyncOptions(inputs: ActionInputs, ctx: ActionContext): SyncOptions {
  const opts: SyncOptions = { cwd: ctx.workspace };
  if (ctx.provenance) opts.provenance = ctx.provenance;
  if (inputs.paths.length) opts.paths = inputs.paths.map((p) => path.resolve(ctx.workspace, p));
  if (inputs.service) opts.service = inputs.service;
  if (inputs.namespace) opts.namespace = inputs.namespace;
  if (inputs.context) opts.context = inputs.context;
  if (inputs.stateBranch) opts.stateBranch = inputs.stateBranch;
  if (ctx.gitAuthHeader) opts.gitAuthHeader = ctx.gitAuthHeader;
  if (inputs.command === 'diff' && inputs.offline) {
    opts.offline = true;
    return opts;
  }
  if (ctx.kubeconfigPath) opts.kubeconfig = ctx.kubeconfigPath;
  if (inputs.requestTimeoutMs !== undefined) opts.requestTimeoutMs = inputs.requestTimeoutMs;
  if (inputs.command === 'sync') {
    opts.dryRun = inputs.dryRun;
    opts.wait = inputs.wait;
    if (inputs.prune !== undefined) opts.prune = inputs.prune;
    if (inputs.timeoutMs !== undefined) opts.timeoutMs = inputs.timeoutMs;
    opts.forceConflicts = inputs.forceConflicts;
    if (inputs.maxPrune) opts.maxPrune = inputs.maxPrune;
    opts.allowPruneKinds = inputs.allowPruneKinds;
    opts.recreateOnImmutable = inputs.recreateOnImmutable;
    if (inputs.propagationPolicy) opts.propagationPolicy = inputs.propagationPolicy;
    if (inputs.strategy) opts.strategy = inputs.strategy;
    if (ctx.signal) opts.signal = ctx.signal;
    if (ctx.hurry) opts.hurry = ctx.hurry;
    if (ctx.onEvent) opts.onEvent = ctx.onEvent;
  }
  return opts;
}
