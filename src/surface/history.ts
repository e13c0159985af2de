/**
 * `history`, `status` and `services`: what the state branch records about deploys, read at its tip
 * only (no history walk, no cluster).
 */
import { NopeaError } from '../errors.js';
import { errorKindsOf } from '../memory/error-kinds.js';
import type { MemoryErrorKind } from '../memory/types.js';
import type { Current, DeployRecord } from '../state/format.js';
import { assertServiceName } from '../state/layout.js';
import { openStateView, type StateLocationOptions, type StateView } from './prepare.js';

/** One deploy, as `nopea history` lists it. */
export interface HistoryEntry {
  deployId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  commit?: string;
  strategy: DeployRecord['strategy'];
  outcome: DeployRecord['outcome'];
  errorKinds: MemoryErrorKind[];
  error?: string;
}

export interface HistoryResult {
  service: string;
  /** Newest first. */
  deploys: HistoryEntry[];
}

function entryOf(record: DeployRecord): HistoryEntry {
  const entry: HistoryEntry = {
    deployId: record.id,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationMs: Date.parse(record.finishedAt) - Date.parse(record.startedAt),
    strategy: record.strategy,
    outcome: record.outcome,
    errorKinds: errorKindsOf(record.error, record.outcome),
  };
  if (record.source.commit) entry.commit = record.source.commit;
  if (record.error) entry.error = record.error.message.split('\n')[0] ?? '';
  return entry;
}

/** The service must have been deployed: a mistyped name is an error naming the services there are. */
async function knownService(view: StateView, service: string): Promise<void> {
  selectServicesOnBranch(await view.store.listServices(), view.store.branch, service);
}

/**
 * The services of the branch a command covers: every one without a name, else the one named, which
 * must be on the branch (an input error that lists the services it has otherwise). Pure.
 */
export function selectServicesOnBranch(known: readonly string[], branch: string, service?: string): string[] {
  if (service === undefined) return [...known];
  assertServiceName(service);
  if (known.includes(service)) return [service];
  throw new NopeaError('input', {
    message: `service ${service} has no deploys on ${branch}`,
    hint: known.length ? `services on the branch: ${known.join(', ')}` : 'no service has been deployed yet',
  });
}

/** `nopea history SERVICE`: its deploys, newest first (at most `limit`, default all that are kept). */
export async function history(
  opts: StateLocationOptions & { service: string; limit?: number },
): Promise<HistoryResult> {
  const view = await openStateView(opts);
  await knownService(view, opts.service);
  const records = await view.store.listDeploys(
    opts.service,
    opts.limit === undefined ? {} : { limit: opts.limit },
  );
  return { service: opts.service, deploys: records.map(entryOf) };
}

/** A service's current deploy and how its last one ended. */
export interface StatusResult {
  service: string;
  namespace: string;
  current: Current;
  last?: HistoryEntry;
}

/** `nopea status SERVICE`: the current deploy id and status, and the last outcome. */
export async function status(opts: StateLocationOptions & { service: string }): Promise<StatusResult> {
  const view = await openStateView(opts);
  await knownService(view, opts.service);
  const [state, [last]] = await Promise.all([
    view.store.readService(opts.service),
    view.store.listDeploys(opts.service, { limit: 1 }),
  ]);
  if (!state.current) {
    throw new NopeaError('state', `service ${opts.service} has no current.json on ${view.store.branch}`);
  }
  const result: StatusResult = {
    service: opts.service,
    namespace: state.inventory?.namespace ?? last?.namespace ?? '',
    current: state.current,
  };
  if (last) result.last = entryOf(last);
  return result;
}

/** One service on the state branch, as `nopea services` lists it. */
export interface ServiceSummary {
  service: string;
  namespace: string;
  lastOutcome?: DeployRecord['outcome'];
  lastDeployAt?: string;
  strategy?: DeployRecord['strategy']['name'];
  status?: Current['status'];
}

/** `nopea services`: every service on the state branch. */
export async function services(opts: StateLocationOptions): Promise<{ services: ServiceSummary[] }> {
  const view = await openStateView(opts);
  const names = await view.store.listServices();
  const out = await Promise.all(
    names.map(async (service): Promise<ServiceSummary> => {
      const [state, [last]] = await Promise.all([
        view.store.readService(service),
        view.store.listDeploys(service, { limit: 1 }),
      ]);
      const summary: ServiceSummary = {
        service,
        namespace: last?.namespace ?? state.inventory?.namespace ?? '',
      };
      if (last) {
        summary.lastOutcome = last.outcome;
        summary.lastDeployAt = last.finishedAt;
        summary.strategy = last.strategy.name;
      }
      if (state.current) summary.status = state.current.status;
      return summary;
    }),
  );
  return { services: out };
}

/** The namespace a service's memory is asked about: the one given, nopea.yaml's, or its last deploy's. */
export async function serviceNamespace(view: StateView, service: string, given?: string): Promise<string> {
  if (given) return given;
  const configured = view.config?.services.find((s) => s.name === service)?.namespace;
  if (configured) return configured;
  const [last] = await view.store.listDeploys(service, { limit: 1 });
  return last?.namespace ?? '';
}
