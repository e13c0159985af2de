/**
 * Canary and blue-green as strategies: the service's objects are reshaped into a Kulta Rollout (the
 * builder), applied like any change (after the handover from a plain Deployment, when there is one),
 * and then — instead of a health wait — the rollout is monitored to its end: `Completed` is finalised
 * (the new template becomes stable with every replica), `Failed` or a timeout is rolled back to the
 * template the stable side runs, and a run whose time is up while the rollout waits at a gate ends
 * `paused` (exit 4), to be promoted or rolled back by a later run.
 */
import { NopeaError, cancelledError } from '../errors.js';
import { applyObject, getObject } from '../cluster/objects.js';
import type { ObjectResult } from '../apply/execute.js';
import type { PlanEntry } from '../plan/types.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import { isPlainObject, type KubeObject } from '../resources/object.js';
import { direct } from '../strategy/direct.js';
import type { Applied, ApplySettings, Change, Strategy, WaitSettings, Waited } from '../strategy/types.js';
import { buildRollout, SIDE_LABEL, type BuiltRollout, type ProgressiveStrategy } from './build.js';
import {
  finalise,
  handover,
  kultaTypes,
  readRollout,
  restartCanary,
  restartPreview,
  rollback,
  type RolloutHandle,
} from './lifecycle.js';
import { monitorRollout, type RolloutProgress } from './monitor.js';
import { viewOf } from './rollout.js';

/** A progressive strategy: a Strategy that also reshapes the desired objects before planning. */
export interface ProgressiveRun extends Strategy {
  /** The objects to plan and apply instead of the service's own (the Deployment becomes a Rollout). */
  shape(desired: DesiredObject[], catalog: Change['catalog']): DesiredObject[];
}

/** What the monitor reports, for progress output. */
export type ProgressListener = (progress: RolloutProgress) => void;

/** The labels Kulta adds to a side's pod template, removed to get the template back as nopea applied it. */
const KULTA_LABELS = ['pod-template-hash', SIDE_LABEL, 'rollouts.kulta.io/managed'];

function templateOf(obj: KubeObject | undefined): Record<string, unknown> | undefined {
  const spec = isPlainObject(obj?.spec) ? obj.spec : {};
  return isPlainObject(spec.template) ? spec.template : undefined;
}

/** The pod template a side's ReplicaSet runs, as the Rollout held it (Kulta's labels removed). */
function unlabelled(template: Record<string, unknown>): Record<string, unknown> {
  const metadata = isPlainObject(template.metadata) ? { ...template.metadata } : {};
  if (isPlainObject(metadata.labels)) {
    const labels = { ...metadata.labels };
    for (const l of KULTA_LABELS) delete labels[l];
    metadata.labels = labels;
  }
  return { ...template, metadata };
}

/** Whether a plan entry changes the pod template (a new version to roll out). */
function changesTemplate(entry: PlanEntry | undefined): boolean {
  return Boolean(
    entry && entry.action !== 'unchanged' && entry.changes.some((c) => c.path.startsWith('spec.template')),
  );
}

/** The progressive strategy for a service, with its settings (steps, analysis, route). */
export function progressiveStrategy(
  service: string,
  settings: ProgressiveStrategy,
  onProgress?: ProgressListener,
): ProgressiveRun {
  let built: BuiltRollout | undefined;
  let superseded = false;

  const handle = (change: Change): RolloutHandle => {
    if (!built) throw new NopeaError('internal', 'the progressive strategy applied objects it did not shape');
    const h: RolloutHandle = {
      client: change.client,
      types: kultaTypes(change.catalog),
      namespace: built.rollout.ref.namespace,
      name: built.rollout.ref.name,
    };
    if (change.signal) h.signal = change.signal;
    return h;
  };

  const run: ProgressiveRun = {
    name: settings.name,

    shape(desired, catalog) {
      built = buildRollout({ service, desired, strategy: settings, catalog });
      return built.objects;
    },

    async apply(change: Change, applySettings: ApplySettings): Promise<Applied> {
      const h = handle(change);
      const { replaced, rollout } = built!;
      const live = await readRollout(h);
      const item = change.items.find((i) => i.desired.id === rollout.id);
      const newTemplate = live !== undefined && changesTemplate(item?.entry);
      const objects: ObjectResult[] = [];
      if (!live) {
        // A first progressive deploy of a service that runs as a plain Deployment: hand it over.
        const deployment = await getObject(
          change.client,
          replaced.type,
          replaced.ref.namespace,
          replaced.ref.name,
        );
        if (deployment) {
          change.onStage?.('apply');
          await handover(h, deployment, replaced.type);
          objects.push({ id: replaced.id, action: 'pruned' });
          change.onObject?.({ id: replaced.id, action: 'pruned' });
        }
      } else if (newTemplate) {
        const view = viewOf(live);
        const inProgress =
          view.strategy === 'canary' ? view.phase === 'Progressing' : view.phase === 'Preview';
        if (inProgress) {
          // A new version while one is rolling out: the one in progress goes back to stable first.
          await rollback(h, async () => undefined).catch(() => undefined);
          superseded = true;
        }
      }
      // The replaced Deployment is the handover's, never the prune's (its pods still serve).
      const guard = { ...change.guard, prune: change.guard.prune.filter((e) => e.id !== replaced.id) };
      const applied = await direct.apply({ ...change, guard }, applySettings);
      objects.push(...applied.objects);
      if (applied.error) return { objects, error: applied.error };
      if (newTemplate) await (settings.name === 'canary' ? restartCanary(h) : restartPreview(h));
      return { objects, rollout: viewOf((await readRollout(h)) ?? rollout.object) };
    },

    async wait(change: Change, waitSettings: WaitSettings): Promise<Waited> {
      const h = handle(change);
      const rolloutId = built!.rollout.id;
      // The other objects are waited for as in a direct deploy; the Rollout by its own monitor.
      const others = await direct.wait(
        { ...change, targets: change.targets.filter((t) => t.id !== rolloutId) },
        waitSettings,
      );
      if (others.error) return others;
      const end = await monitorRollout(h, {
        timeoutMs: waitSettings.timeoutMs,
        ...(change.signal ? { signal: change.signal } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
      const restore = async (): Promise<void> => {
        const stable = await getObject(
          change.client,
          h.types.replicaSet,
          h.namespace,
          `${h.name}-${settings.name === 'canary' ? 'stable' : 'active'}`,
        );
        const template = templateOf(stable);
        if (!template) return;
        const intent = intentOf(built!.rollout.object);
        await applyObject(
          change.client,
          h.types.rollout,
          { ...intent, spec: { ...(intent.spec as object), template: unlabelled(template) } },
          { force: true },
        );
      };
      switch (end.end) {
        case 'completed':
          // A canary that just completed is finalised; one already at rest (step -1) is not again.
          if (settings.name === 'canary' && end.view.step !== -1) await finalise(h);
          return { health: others.health, rollout: end.view, ...(superseded ? { superseded } : {}) };
        case 'gate':
          return { health: others.health, rollout: end.view, paused: true };
        case 'aborted':
          return {
            health: others.health,
            rollout: end.view ?? viewOf(built!.rollout.object),
            error: cancelledError(),
          };
        case 'failed':
        case 'timeout': {
          const why = end.why;
          await rollback(h, restore);
          return {
            health: others.health,
            ...(end.view ? { rollout: end.view } : {}),
            rolledBack: true,
            error: new NopeaError('deploy', {
              message: `the ${settings.name} of service ${service} ${end.end === 'failed' ? 'failed' : 'timed out'}: ${why}; rolled back to the stable template`,
              reason: end.end === 'failed' ? 'RolloutFailed' : 'HealthTimeout',
            }),
          };
        }
      }
    },
  };
  return run;
}
