/**
 * `promote` and `rollback`: the later runs (a `workflow_dispatch`, a person at a terminal) that move a
 * progressive rollout waiting at a gate. The deploy id resolves through the service's current.json. When
 * the run that started the rollout is still monitoring it (it holds the service's Lease, as that deploy),
 * this run only makes the move — the monitor sees it, goes on and records the outcome. Otherwise this
 * run takes the Lease, makes the move, monitors to the next gate or the end, and records the outcome.
 */
import { NopeaError, cancelledError } from '../errors.js';
import { openCluster, type ClusterTarget } from './cluster.js';
import { LEASE_TYPE, ServiceLock, holderIdentity } from '../cluster/lease.js';
import { applyObject, getObject, patchObject } from '../cluster/objects.js';
import { refusedBeforeWrite } from '../cluster/explain.js';
import {
  finalise,
  kultaTypes,
  promoteBlueGreen,
  promoteFull,
  promoteStep,
  readRollout,
  rollback,
  type RolloutHandle,
} from '../progressive/lifecycle.js';
import { monitorRollout, type RolloutProgress } from '../progressive/monitor.js';
import { ROLLED_BACK_STATUS, viewOf } from '../progressive/rollout.js';
import { isPlainObject, type KubeObject } from '../resources/object.js';
import type { Current, DeployRecord } from '../state/format.js';
import { statePaths } from '../state/layout.js';
import { observe } from '../memory/graph.js';
import { buildOccurrence } from '../events/occurrence.js';
import type { RolloutState } from '../strategy/types.js';
import { RunTelemetry, type MoveReport, type TelemetryOptions } from '../events/telemetry.js';
import { DEFAULT_TIMEOUT_MS, openStateView, type StateLocationOptions, type StateView } from './prepare.js';
import { memoryAt, observationOf } from './memory.js';

/** `eventsUrl`/`pushgatewayUrl` (TelemetryOptions): where the move's CDEvent and metrics go. */
export interface RolloutRequest extends StateLocationOptions, TelemetryOptions, ClusterTarget {
  /** The deploy whose rollout to move; default: the service's current one. */
  deployId?: string;
  service?: string;
  /** Promote to 100% at once (every remaining gate), not just the current one. */
  full?: boolean;
  /** Bound on monitoring after the move (to the next gate or the end). */
  timeoutMs?: number;
  wait?: boolean;
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (service: string, progress: RolloutProgress) => void;
}

export interface RolloutResult {
  service: string;
  deployId: string;
  action: 'promote' | 'rollback';
  /** Who went on from the move: this run, or the run still monitoring the rollout. */
  monitoredBy: 'this run' | 'the deploy run';
  outcome: 'succeeded' | 'paused' | 'rolled-back' | 'failed' | 'handed-over';
  rollout?: RolloutState;
  error?: NopeaError;
  stateCommit?: string;
  /** Things that did not fail the move but a person should know (an event or a metrics push not delivered). */
  warnings?: string[];
}

/** The service and its current deploy the request is about; exit 2 naming what is there otherwise. */
async function resolve(view: StateView, req: RolloutRequest): Promise<{ service: string; current: Current }> {
  let service = req.service;
  if (!service && req.deployId) {
    for (const name of await view.store.listServices()) {
      if ((await view.store.readService(name)).current?.deployId === req.deployId) service = name;
    }
  }
  if (!service && view.config?.services.length === 1) service = view.config.services[0]!.name;
  if (!service) {
    throw new NopeaError('input', {
      message: req.deployId ? `no service's current deploy is ${req.deployId}` : 'no service named',
      hint: 'pass -s SERVICE; `nopea services` lists them, `nopea status SERVICE` shows the current deploy',
    });
  }
  const { current } = await view.store.readService(service);
  const waiting = current?.rollout && (current.status === 'paused' || current.status === 'progressing');
  if (!current || !waiting || (req.deployId && req.deployId !== current.deployId)) {
    const now = current
      ? `its current deploy is ${current.deployId} (${current.status}${current.rollout ? '' : ', no rollout'})`
      : 'it has no deploy';
    throw new NopeaError('input', {
      message: `service ${service} has no rollout${req.deployId ? ` of deploy ${req.deployId}` : ''} waiting for a promote or rollback: ${now}`,
      hint: `run \`nopea status ${service}\``,
    });
  }
  return { service, current };
}

/** Whether the run that started the rollout still holds the service's Lease (and so monitors it). */
async function monitoredElsewhere(
  handle: RolloutHandle,
  namespace: string,
  service: string,
  deployId: string,
): Promise<boolean> {
  const lease = await getObject(handle.client, LEASE_TYPE, namespace, `nopea-${service}`);
  const spec = isPlainObject(lease?.spec) ? lease.spec : {};
  return typeof spec.holderIdentity === 'string' && spec.holderIdentity.startsWith(`${deployId}@`);
}

/**
 * `nopea promote` / `nopea rollback`. The move updates the metrics; at its end its CDEvent is
 * delivered and its metrics pushed when `eventsUrl` and `pushgatewayUrl` say where (a failure to is
 * a warning on the result).
 */
export async function moveRollout(
  action: 'promote' | 'rollback',
  req: RolloutRequest,
): Promise<RolloutResult> {
  const telemetry = new RunTelemetry(req);
  const onProgress = (service: string, progress: RolloutProgress): void => {
    telemetry.rolloutPhase(service, progress.view.phase);
    req.onProgress?.(service, progress);
  };
  const result = await telemetry.run(() => move(action, { ...req, onProgress }, telemetry));
  const warnings = (await telemetry.finish()).get(result.service);
  if (warnings) result.warnings = [...(result.warnings ?? []), ...warnings];
  return result;
}

/** What telemetry says about a move: the result, with the namespace, strategy and source of its deploy. */
async function moveReport(view: StateView, result: RolloutResult, live: KubeObject): Promise<MoveReport> {
  const report: MoveReport = {
    ...result,
    namespace: live.metadata.namespace ?? '',
    strategy: viewOf(live).strategy,
  };
  const record = await view.store.readDeploy(result.service, result.deployId).catch(() => undefined);
  if (record?.source) report.source = record.source;
  return report;
}

/**
 * A step before the move writes anything: credentials or RBAC the cluster turns away there are a
 * configuration problem with nothing changed (exit 2), as for a sync.
 */
async function beforeWrite<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw err instanceof NopeaError ? refusedBeforeWrite(err) : err;
  }
}

async function move(
  action: 'promote' | 'rollback',
  req: RolloutRequest,
  telemetry: RunTelemetry,
): Promise<RolloutResult> {
  const view = await openStateView(req);
  const { service, current } = await resolve(view, req);
  telemetry.serviceStarts(service);
  const rollout = current.rollout!;
  const { client, catalog } = await beforeWrite(() => openCluster(req));
  try {
    const h: RolloutHandle = {
      client,
      types: kultaTypes(catalog),
      namespace: rollout.namespace,
      name: rollout.name,
    };
    if (req.signal) h.signal = req.signal;
    const result: RolloutResult = {
      service,
      deployId: current.deployId,
      action,
      monitoredBy: 'this run',
      outcome: 'failed',
    };
    const live = await beforeWrite(() => readRollout(h));
    if (!live)
      throw new NopeaError(
        'deploy',
        `Rollout ${rollout.namespace}/${rollout.name} of deploy ${current.deployId} no longer exists`,
      );

    if (await beforeWrite(() => monitoredElsewhere(h, rollout.namespace, service, current.deployId))) {
      // The deploy run waits on this rollout and records its end: make the move and let it go on.
      if (action === 'promote') await promote(h, live, req.full);
      else
        await patchObject(
          client,
          h.types.rollout,
          h.namespace,
          h.name,
          { status: ROLLED_BACK_STATUS },
          { subresource: 'status' },
        );
      const handed: RolloutResult = {
        ...result,
        monitoredBy: 'the deploy run',
        outcome: 'handed-over',
        rollout: viewOf((await readRollout(h)) ?? live),
      };
      telemetry.moveEnded(await moveReport(view, handed, live));
      return handed;
    }

    // Held as the deploy itself: a second promote run then sees this one as the run monitoring it.
    const lock = await beforeWrite(() =>
      ServiceLock.acquire(client, {
        namespace: rollout.namespace,
        service,
        holder: holderIdentity(current.deployId),
        ...(req.lockTimeoutMs !== undefined ? { waitTimeoutMs: req.lockTimeoutMs } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      }),
    );
    try {
      const restore = async (): Promise<void> => {
        const side = viewOf(live).strategy === 'canary' ? 'stable' : 'active';
        const rs = await getObject(client, h.types.replicaSet, h.namespace, `${h.name}-${side}`);
        const template =
          isPlainObject(rs?.spec) && isPlainObject(rs.spec.template) ? rs.spec.template : undefined;
        if (!template) return;
        await applyObject(client, h.types.rollout, restoredRollout(live, template), { force: true });
      };
      if (action === 'rollback') {
        await rollback(h, restore);
        result.outcome = 'rolled-back';
      } else {
        await promote(h, live, req.full);
        if (req.wait ?? true) {
          const end = await monitorRollout(h, {
            timeoutMs: req.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            ...(req.signal ? { signal: req.signal } : {}),
            onProgress: (p) => req.onProgress?.(service, p),
          });
          result.rollout = end.view ?? viewOf(live);
          if (end.end === 'completed') {
            if (viewOf(live).strategy === 'canary') await finalise(h);
            result.outcome = 'succeeded';
          } else if (end.end === 'gate') result.outcome = 'paused';
          else if (end.end === 'aborted') {
            result.outcome = 'paused';
            result.error = cancelledError(
              'promote cancelled while monitoring: the rollout goes on; its outcome is recorded by the next promote, rollback or sync',
            );
          } else {
            await rollback(h, restore);
            result.outcome = 'rolled-back';
            result.error = new NopeaError('deploy', {
              message: `the rollout of deploy ${current.deployId} ${end.end === 'failed' ? 'failed' : 'timed out'}: ${end.why}; rolled back`,
              reason: end.end === 'failed' ? 'RolloutFailed' : 'HealthTimeout',
            });
          }
        } else result.outcome = 'paused';
      }
      result.rollout ??= viewOf((await readRollout(h)) ?? live);
      try {
        result.stateCommit = await recordMove(view, service, current, result);
      } catch (err) {
        if (!(err instanceof NopeaError)) throw err;
        // The move is made: saying only that the push failed would hide that the rollout changed.
        const { namespace, name } = rollout;
        throw new NopeaError(
          err.kind,
          [
            ...err.problems,
            {
              message: `the ${action} of deploy ${current.deployId} was made (outcome ${result.outcome}) but is not recorded on the state branch`,
              hint: `the Rollout ${namespace}/${name} has moved (kubectl get rollouts.kulta.io ${name} -n ${namespace}); fix what kept the state branch from being written before the next promote or rollback`,
            },
          ],
          { cause: err },
        );
      }
    } finally {
      await lock.release();
    }
    telemetry.moveEnded(await moveReport(view, result, live));
    return result;
  } finally {
    client.close();
  }
}

/** One promote: blue-green re-homes its active side; a canary passes one gate, or every gate (`full`). */
async function promote(h: RolloutHandle, live: KubeObject, full: boolean | undefined): Promise<void> {
  if (viewOf(live).strategy === 'blue-green') await promoteBlueGreen(h);
  else await (full ? promoteFull(h) : promoteStep(h));
}

/** The Rollout with the template the stable side runs (Kulta's own labels taken off again). */
function restoredRollout(live: KubeObject, template: Record<string, unknown>): KubeObject {
  const metadata = isPlainObject(template.metadata) ? { ...template.metadata } : {};
  const labels = isPlainObject(metadata.labels) ? { ...metadata.labels } : {};
  for (const l of ['pod-template-hash', 'rollouts.kulta.io/type', 'rollouts.kulta.io/managed'])
    delete labels[l];
  return {
    apiVersion: live.apiVersion,
    kind: live.kind,
    metadata: { name: live.metadata.name, namespace: live.metadata.namespace },
    spec: { ...(live.spec as object), template: { ...template, metadata: { ...metadata, labels } } },
  };
}

/** Records the move: the deploy's record ends (or stays paused), current.json, the occurrence and memory. */
async function recordMove(
  view: StateView,
  service: string,
  current: Current,
  result: RolloutResult,
): Promise<string | undefined> {
  const outcome: DeployRecord['outcome'] =
    result.outcome === 'rolled-back'
      ? 'rolled-back'
      : result.outcome === 'succeeded'
        ? 'succeeded'
        : result.outcome === 'failed'
          ? 'failed'
          : 'paused';
  const now = new Date().toISOString();
  const committed = await view.store.commit({
    service,
    message: `${result.action} ${service} ${current.deployId} ${outcome}`,
    derive: async (base) => {
      const before = await base.readDeploy(service, current.deployId);
      const writes: Record<string, unknown> = {};
      const next: Record<string, unknown> = { ...current, status: outcome, updatedAt: now };
      if (outcome !== 'paused') delete next.rollout;
      else if (result.rollout)
        next.rollout = {
          ...current.rollout,
          phase: result.rollout.phase,
          step: result.rollout.step,
          weight: result.rollout.weight,
        };
      writes[statePaths.current] = next;
      if (before) {
        const record: DeployRecord = { ...before, outcome, finishedAt: now };
        if (result.error)
          record.error = {
            kind: result.error.kind,
            message: result.error.message,
            ...(result.error.problems.some((p) => p.reason)
              ? { reasons: result.error.problems.flatMap((p) => (p.reason ? [p.reason] : [])) }
              : {}),
          };
        if (outcome === 'rolled-back')
          record.error ??= {
            kind: 'deploy',
            message: `rolled back by ${result.action}`,
            reasons: ['RolledBack'],
          };
        writes[statePaths.deploy(current.deployId)] = record;
        const occurrence = buildOccurrence({ record, touched: [], problems: result.error?.problems ?? [] });
        if (occurrence) writes[statePaths.occurrence(current.deployId)] = occurrence;
        const observation = observationOf(record);
        const memory = await memoryAt(base);
        writes[statePaths.graph] = observation ? observe(memory.graph, observation) : memory.graph;
      }
      return { writes };
    },
  });
  return committed.commit;
}
