/** Builders of valid state files and changes for the state store's integration tests. */
import type { StateChange } from '../../../src/state/change.js';
import type { DeployRecord, Inventory, LastApplied, Occurrence } from '../../../src/state/format.js';
import { statePaths } from '../../../src/state/layout.js';
import { parseId } from '../../../src/resources/object.js';

/** A deploy record of `service` with id `id`. */
export function deployRecord(
  service: string,
  id: string,
  overrides: Partial<DeployRecord> = {},
): DeployRecord {
  return {
    format: 1,
    id,
    service,
    namespace: service,
    source: { repo: 'acme/app', commit: 'c'.repeat(40), ref: 'refs/heads/main' },
    startedAt: '2026-11-27T10:00:00.000Z',
    finishedAt: '2026-11-27T10:00:42.000Z',
    strategy: { name: 'direct', reason: 'no failures recorded for this service' },
    plan: { create: 1, update: 0, drift: 0, conflict: 0, unchanged: 0, prune: 0 },
    stages: [{ name: 'apply', ms: 120 }],
    outcome: 'succeeded',
    ...overrides,
  };
}

/** The last-applied file of a ConfigMap-like object with the given id. */
export function lastApplied(id: string, deployId: string): LastApplied {
  const ref = parseId(id);
  const apiVersion = ref.group ? `${ref.group}/v1` : 'v1';
  return {
    format: 1,
    id,
    apiVersion,
    origin: { file: 'deploy/app.yaml', line: 1 },
    deployId,
    appliedAt: '2026-11-27T10:00:40.000Z',
    object: {
      apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
      data: { key: `value of ${ref.name}` },
    },
  };
}

/** The occurrence of a deploy. */
export function occurrence(service: string, deployId: string): Occurrence {
  return {
    format: 1,
    protocol_version: '1.0',
    id: deployId,
    timestamp: '2026-11-27T10:00:42.000Z',
    source: 'nopea',
    type: 'deploy.run.completed',
    severity: 'info',
    outcome: 'success',
    context: { service, namespace: service, entities: [] },
    data: {
      deploy_id: deployId,
      service,
      namespace: service,
      strategy: 'direct',
      strategy_reason: 'default',
      counts: {},
    },
    history: { steps: [] },
  };
}

/** Everything one deploy records: record, occurrence, current, inventory and the full last-applied set. */
export function deployChange(service: string, deployId: string, objectIds: readonly string[]): StateChange {
  const inventory: Inventory = {
    format: 1,
    service,
    namespace: service,
    objects: objectIds.map((id) => ({ id, apiVersion: lastApplied(id, deployId).apiVersion })),
  };
  const writes: Record<string, unknown> = {
    [statePaths.deploy(deployId)]: deployRecord(service, deployId),
    [statePaths.occurrence(deployId)]: occurrence(service, deployId),
    [statePaths.inventory]: inventory,
    [statePaths.current]: {
      format: 1,
      service,
      deployId,
      status: 'succeeded',
      updatedAt: '2026-11-27T10:00:42.000Z',
    },
  };
  for (const id of objectIds) writes[statePaths.lastApplied(id)] = lastApplied(id, deployId);
  return {
    service,
    message: `deploy ${service} ${deployId} succeeded`,
    writes,
    replaceDirs: [statePaths.lastAppliedDir],
  };
}
