/**
 * CDEvents (spec v0.4.1) for deploys, in a CloudEvents 1.0 structured envelope. Pure: plain values
 * in, events out. Which event a deploy gives:
 *
 * - `service.deployed` — the service's first deploy: none of its workloads existed before this sync;
 * - `service.upgraded` — a later deploy of a service that was there;
 * - `service.rolledback` — a progressive rollout was rolled back (by the sync, or `nopea rollback`);
 * - `service.removed` — the sync pruned the service's last workload (nothing it declares runs any more);
 * - `environment.modified` — one per namespace (the environment) where the sync pruned objects, or
 *   whose Namespace object it created, changed or pruned; alongside the service's event.
 *
 * Events carry ids (service, namespace, deploy id, object ids), the source commit and the outcome —
 * never an object's content, so no Secret value can reach them.
 */
import { parseId, type ResourceId } from '../resources/object.js';

export const CDEVENTS_SPEC_VERSION = '0.4.1';

export const CDEVENT_TYPES = {
  deployed: 'dev.cdevents.service.deployed.0.2.0',
  upgraded: 'dev.cdevents.service.upgraded.0.2.0',
  rolledback: 'dev.cdevents.service.rolledback.0.2.0',
  removed: 'dev.cdevents.service.removed.0.2.0',
  environmentModified: 'dev.cdevents.environment.modified.0.2.0',
} as const;

export type ServiceEventKind = 'deployed' | 'upgraded' | 'rolledback' | 'removed';

/** The content type of a structured-mode CloudEvent on the wire. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export interface CDEvent {
  context: {
    version: string;
    id: string;
    source: string;
    type: string;
    timestamp: string;
    chainId?: string;
  };
  subject: { id: string; source?: string; type: string; content: Record<string, unknown> };
  customData?: Record<string, unknown>;
  customDataContentType?: string;
}

/** A CloudEvents 1.0 event in structured mode, whose `data` is the CDEvent. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: CDEvent;
}

/** What a deploy event says about the deploy: ids and outcome, nothing of the objects' content. */
export interface DeployFacts {
  deployId: string;
  service: string;
  /** The service's namespace: the environment (default `default`). */
  namespace?: string;
  /** What nopea did: a sync, or a later promote or rollback. */
  action: 'sync' | 'promote' | 'rollback';
  outcome: string;
  strategy?: string;
  source?: { repo?: string; commit?: string; ref?: string };
  time: Date;
  /** nopea's version, for the consumer. */
  version?: string;
}

/** A plan entry or an object result: an object id and what was (to be) done to it. */
export interface IdAction {
  id: ResourceId;
  action: string;
}

/** A finished sync of one service, as the events see it (a ServiceSyncResult fits). */
export interface SyncFacts {
  service: string;
  namespace?: string;
  deployId: string;
  outcome: string;
  rolledBack?: boolean;
  strategy?: { name: string };
  plan?: { entries: readonly IdAction[] };
  objects: readonly IdAction[];
  source?: DeployFacts['source'];
}

/** Kinds that run something: a service with none of them left runs nothing. */
const WORKLOAD_KINDS = new Set([
  'apps/Deployment',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ReplicaSet',
  'batch/Job',
  'batch/CronJob',
  '/Pod',
  'kulta.io/Rollout',
]);

function isWorkload(id: ResourceId): boolean {
  const ref = parseId(id);
  return WORKLOAD_KINDS.has(`${ref.group}/${ref.kind}`);
}

/** Which service event a finished sync gives (see the module's comment). */
export function serviceEventKind(s: SyncFacts): ServiceEventKind {
  if (s.rolledBack || s.outcome === 'rolled-back') return 'rolledback';
  const entries = s.plan?.entries ?? [];
  const prunedWorkload = s.objects.some((o) => o.action === 'pruned' && isWorkload(o.id));
  const remaining = entries.filter((e) => e.action !== 'prune' && isWorkload(e.id));
  if (prunedWorkload && remaining.length === 0) return 'removed';
  // The service was there when anything it runs (or, running nothing, anything it has) already existed.
  const workloads = entries.filter((e) => isWorkload(e.id));
  const considered = workloads.length > 0 ? workloads : entries;
  return considered.some((e) => e.action !== 'create') ? 'upgraded' : 'deployed';
}

/** A `purl`-style id of what was deployed: the service's manifests at the source commit. */
export function artifactIdOf(facts: DeployFacts): string {
  const version = facts.source?.commit ?? facts.deployId;
  return `pkg:generic/${encodeURIComponent(facts.service)}@${encodeURIComponent(version)}`;
}

function sourceOf(facts: DeployFacts): string {
  return `/nopea/${encodeURIComponent(facts.service)}`;
}

function customDataOf(facts: DeployFacts, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const data: Record<string, unknown> = {
    deployId: facts.deployId,
    service: facts.service,
    namespace: facts.namespace ?? 'default',
    action: facts.action,
    outcome: facts.outcome,
  };
  if (facts.strategy) data.strategy = facts.strategy;
  if (facts.source?.commit) data.sourceCommit = facts.source.commit;
  if (facts.source?.repo) data.sourceRepo = facts.source.repo;
  if (facts.source?.ref) data.sourceRef = facts.source.ref;
  if (facts.version) data.nopeaVersion = facts.version;
  return { ...data, ...extra };
}

/** Wraps a CDEvent in its CloudEvents envelope (structured mode: the CDEvent is `data`). */
export function envelope(event: CDEvent): CloudEvent {
  return {
    specversion: '1.0',
    id: event.context.id,
    source: event.context.source,
    type: event.context.type,
    time: event.context.timestamp,
    subject: event.subject.id,
    datacontenttype: 'application/json',
    data: event,
  };
}

/**
 * The event id: the deploy id for a sync's service event; other events of the same deploy (a
 * promote or rollback later, an environment's event) add what tells them apart.
 */
function eventId(facts: DeployFacts, suffix?: string): string {
  const base =
    facts.action === 'sync' ? facts.deployId : `${facts.deployId}.${facts.action}.${facts.time.getTime()}`;
  return suffix ? `${base}.${suffix}` : base;
}

function context(facts: DeployFacts, type: string, id: string): CDEvent['context'] {
  return {
    version: CDEVENTS_SPEC_VERSION,
    id,
    source: sourceOf(facts),
    type,
    timestamp: facts.time.toISOString(),
    chainId: facts.deployId,
  };
}

/** A service event: deployed, upgraded, rolled back or removed. */
export function serviceEvent(kind: ServiceEventKind, facts: DeployFacts): CloudEvent {
  const environment = { id: facts.namespace ?? 'default' };
  const content: Record<string, unknown> =
    kind === 'removed' ? { environment } : { environment, artifactId: artifactIdOf(facts) };
  return envelope({
    context: context(facts, CDEVENT_TYPES[kind], eventId(facts)),
    subject: { id: facts.service, source: sourceOf(facts), type: 'service', content },
    customData: customDataOf(facts),
    customDataContentType: 'application/json',
  });
}

/** What a sync changed in one environment (namespace). */
export interface EnvironmentChange {
  namespace: string;
  /** Ids of the objects pruned there. */
  pruned: ResourceId[];
  /** What happened to the Namespace object itself, if the sync touched it. */
  namespaceObject?: string;
}

/** The environments a sync modified: namespaces where it pruned, and Namespaces it wrote or pruned. */
export function environmentChanges(s: SyncFacts): EnvironmentChange[] {
  const byNamespace = new Map<string, EnvironmentChange>();
  const of = (namespace: string): EnvironmentChange => {
    let change = byNamespace.get(namespace);
    if (!change) byNamespace.set(namespace, (change = { namespace, pruned: [] }));
    return change;
  };
  for (const o of s.objects) {
    const ref = parseId(o.id);
    if (ref.group === '' && ref.kind === 'Namespace') {
      if (o.action === 'created' || o.action === 'configured' || o.action === 'pruned')
        of(ref.name).namespaceObject = o.action;
    } else if (o.action === 'pruned' && ref.namespace) of(ref.namespace).pruned.push(o.id);
  }
  return [...byNamespace.values()];
}

export function environmentEvent(change: EnvironmentChange, facts: DeployFacts): CloudEvent {
  const extra: Record<string, unknown> = { pruned: change.pruned };
  if (change.namespaceObject) extra.namespaceObject = change.namespaceObject;
  return envelope({
    context: context(
      facts,
      CDEVENT_TYPES.environmentModified,
      eventId(facts, `environment.${change.namespace}`),
    ),
    subject: {
      id: change.namespace,
      source: sourceOf(facts),
      type: 'environment',
      content: { name: change.namespace },
    },
    customData: customDataOf(facts, extra),
    customDataContentType: 'application/json',
  });
}

/** Every event of a finished sync: its service event, then one per environment it modified. */
export function syncEvents(s: SyncFacts, time: Date, version?: string): CloudEvent[] {
  const facts: DeployFacts = {
    deployId: s.deployId,
    service: s.service,
    action: 'sync',
    outcome: s.outcome,
    time,
  };
  if (s.namespace) facts.namespace = s.namespace;
  if (s.strategy) facts.strategy = s.strategy.name;
  if (s.source) facts.source = s.source;
  if (version) facts.version = version;
  return [
    serviceEvent(serviceEventKind(s), facts),
    ...environmentChanges(s).map((c) => environmentEvent(c, facts)),
  ];
}
