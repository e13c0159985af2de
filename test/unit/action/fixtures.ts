// Plain plan and sync-result values for the Action's pure pieces.
import type { RolloutState } from '../../../src/strategy/types.js';
import type { HealthReport } from '../../../src/health/wait.js';
import { countActions, type Action, type Plan, type PlanEntry } from '../../../src/plan/types.js';
import type { ServiceSyncResult } from '../../../src/surface/sync-types.js';

/** A ConfigMap entry with a one-key diff. */
export function entry(name: string, action: Action, extra: Partial<PlanEntry> = {}): PlanEntry {
  const obj = (v: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'web' },
    data: { value: v },
  });
  const e: PlanEntry = {
    id: `/ConfigMap/web/${name}`,
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: 'web',
    name,
    action,
    origin: { file: `deploy/${name}.yaml`, line: 3 },
    changes: [],
    ...extra,
  };
  if (action === 'create') e.after = obj('new');
  if (action === 'update' || action === 'drift' || action === 'conflict') {
    e.before = obj('old');
    e.after = obj('new');
  }
  if (action === 'prune') e.before = obj('old');
  return e;
}

export function plan(service: string, entries: PlanEntry[], mode: Plan['mode'] = 'cluster'): Plan {
  return { service, mode, entries, counts: countActions(entries) };
}

export function healthy(objects = 2, durationMs = 4200): HealthReport {
  return {
    ok: true,
    timedOut: false,
    aborted: false,
    durationMs,
    polls: 3,
    requests: 6,
    objects: Array.from({ length: objects }, (_, i) => ({
      id: `apps/Deployment/web/d${i}`,
      state: 'ready' as const,
      message: 'ready',
    })),
    failures: [],
  };
}

export function synced(over: Partial<ServiceSyncResult> = {}): ServiceSyncResult {
  const p = plan('web', [
    entry('a', 'create'),
    entry('b', 'update'),
    entry('c', 'drift'),
    entry('d', 'unchanged'),
  ]);
  return {
    service: 'web',
    namespace: 'web',
    deployId: '01JDEPLOY0000000000000000A',
    outcome: 'succeeded',
    plan: p,
    objects: [
      { id: '/ConfigMap/web/a', action: 'created' },
      { id: '/ConfigMap/web/b', action: 'configured' },
      { id: '/ConfigMap/web/c', action: 'configured' },
      { id: '/ConfigMap/web/d', action: 'unchanged' },
    ],
    kept: [],
    health: healthy(),
    durationMs: 5100,
    stateCommit: '0123456789abcdef0123456789abcdef01234567',
    ...over,
  };
}

/** A canary waiting at its gate at step 1, 50%. */
export function waitingRollout(namespace = 'web'): RolloutState {
  return {
    name: 'web',
    namespace,
    strategy: 'canary',
    phase: 'Progressing',
    step: 1,
    weight: 50,
    atGate: true,
  };
}

/** A promote or rollback of deploy D1 by this run, before its outcome is known. */
export function moved(action: 'promote' | 'rollback', rollout: RolloutState) {
  return { service: 'web', deployId: 'D1', action, monitoredBy: 'this run' as const, rollout };
}
