/**
 * What nopea does around Kulta, which runs steps, pauses and the replica split but tracks no
 * revisions, has no abort, skips every pause on its promote annotation, and leaves the stable side
 * empty at `Completed` (contract §9): the handover from a plain Deployment and back, a redeploy of a
 * new template, finalising a completed canary, a one-step and a full promote, a rollback, and
 * blue-green's re-homing. Each is a short sequence of Rollout, status and ReplicaSet operations that
 * §9 verified against the running controller; every wait in it is bounded (`src/poll.ts`).
 */
import { NopeaError } from '../errors.js';
import { poll } from '../poll.js';
import type { KubeClient } from '../cluster/client.js';
import { describeApiError } from '../cluster/explain.js';
import {
  createObject,
  deleteObject,
  getObject,
  listObjects,
  patchObject,
  type PropagationPolicy,
} from '../cluster/objects.js';
import type { ResourceCatalog, ResourceType } from '../resources/catalog.js';
import { isPlainObject, type KubeObject } from '../resources/object.js';
import {
  IDLE_STATUS,
  PROMOTE_ANNOTATION,
  ROLLED_BACK_STATUS,
  nextStepStatus,
  viewOf,
  walkBackWeights,
  type RolloutView,
} from './rollout.js';

/** The types a lifecycle step works with, resolved once from the catalog. */
export interface KultaTypes {
  rollout: ResourceType;
  replicaSet: ResourceType;
  pod: ResourceType;
}

/** Kulta's Rollout and the types around it; an input error when the cluster does not serve Kulta. */
export function kultaTypes(catalog: ResourceCatalog): KultaTypes {
  const rollout = catalog.lookup('kulta.io/v1alpha1', 'Rollout').found;
  const replicaSet = catalog.lookup('apps/v1', 'ReplicaSet').found;
  const pod = catalog.lookup('v1', 'Pod').found;
  if (!rollout) {
    throw new NopeaError('input', {
      message: 'the cluster does not serve rollouts.kulta.io/v1alpha1: Kulta is not installed',
      hint: 'install the Kulta controller and its CRD, or deploy with --strategy direct',
    });
  }
  if (!replicaSet || !pod)
    throw new NopeaError('cluster', 'the cluster does not serve apps/v1 ReplicaSets or v1 Pods');
  return { rollout, replicaSet, pod };
}

/** One Rollout being worked on. */
export interface RolloutHandle {
  client: KubeClient;
  types: KultaTypes;
  namespace: string;
  name: string;
  /** Bound on each wait of a step (ReplicaSets becoming ready, Kulta reacting). */
  stepTimeoutMs?: number;
  signal?: AbortSignal;
}

const STEP_TIMEOUT_MS = 120_000;
const POLL = { initialMs: 200, maxMs: 1_000, factor: 1.5, jitter: 0 };

function rsName(h: RolloutHandle, side: string): string {
  return `${h.name}-${side}`;
}

export async function readRollout(h: RolloutHandle): Promise<KubeObject | undefined> {
  try {
    return await getObject(h.client, h.types.rollout, h.namespace, h.name);
  } catch (err) {
    throw describeApiError(err, `reading Rollout ${h.namespace}/${h.name}`);
  }
}

async function mustRead(h: RolloutHandle): Promise<KubeObject> {
  const r = await readRollout(h);
  if (!r) throw new NopeaError('deploy', `Rollout ${h.namespace}/${h.name} does not exist`);
  return r;
}

async function readReplicaSet(h: RolloutHandle, side: string): Promise<KubeObject | undefined> {
  return getObject(h.client, h.types.replicaSet, h.namespace, rsName(h, side));
}

function ready(rs: KubeObject | undefined): number {
  const status = isPlainObject(rs?.status) ? rs.status : {};
  return typeof status.readyReplicas === 'number' ? status.readyReplicas : 0;
}

/** Waits (bounded) until `check` says yes; a timeout is a deploy error naming what was awaited. */
async function waitUntil(h: RolloutHandle, what: string, check: () => Promise<boolean>): Promise<void> {
  const result = await poll(async () => ((await check()) ? { done: true, value: true } : { done: false }), {
    timeoutMs: h.stepTimeoutMs ?? STEP_TIMEOUT_MS,
    backoff: POLL,
  });
  if (!result.ok) {
    throw new NopeaError('deploy', {
      message: `Rollout ${h.namespace}/${h.name}: ${what} did not happen within ${Math.round((h.stepTimeoutMs ?? STEP_TIMEOUT_MS) / 1000)} s`,
      reason: 'RolloutFailed',
    });
  }
}

/** Waits until a side's ReplicaSet has at least `replicas` ready replicas. */
async function waitSideReady(h: RolloutHandle, side: string, replicas: number): Promise<void> {
  await waitUntil(
    h,
    `${rsName(h, side)} with ${replicas} ready replica(s)`,
    async () => ready(await readReplicaSet(h, side)) >= replicas,
  );
}

async function patchStatus(h: RolloutHandle, status: unknown): Promise<KubeObject> {
  return patchObject(h.client, h.types.rollout, h.namespace, h.name, { status }, { subresource: 'status' });
}

async function setPromote(h: RolloutHandle, on: boolean): Promise<void> {
  await patchObject(h.client, h.types.rollout, h.namespace, h.name, {
    metadata: { annotations: { [PROMOTE_ANNOTATION]: on ? 'true' : null } },
  });
}

/** Any change to the Rollout makes Kulta reconcile at once (it otherwise requeues every 30 s). */
async function nudge(h: RolloutHandle): Promise<void> {
  await patchObject(h.client, h.types.rollout, h.namespace, h.name, {
    metadata: { annotations: { 'nopea.dev/nudged': new Date().toISOString() } },
  });
}

async function deleteSide(
  h: RolloutHandle,
  side: string,
  propagationPolicy: PropagationPolicy = 'Background',
): Promise<void> {
  await deleteObject(h.client, h.types.replicaSet, h.namespace, rsName(h, side), { propagationPolicy });
}

/**
 * The labels Kulta gives a side's ReplicaSet and pods (§5): the template's, the side, `managed`, and a
 * pod-template-hash (Kulta never reads it back; it only has to be there like on its own).
 */
function sideTemplate(
  template: Record<string, unknown>,
  side: string,
): { labels: Record<string, string>; template: Record<string, unknown> } {
  const metadata = isPlainObject(template.metadata) ? template.metadata : {};
  const labels: Record<string, string> = {
    ...(isPlainObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {}),
    'pod-template-hash': 'nopea-handover',
    'rollouts.kulta.io/type': side,
    'rollouts.kulta.io/managed': 'true',
  };
  return { labels, template: { ...template, metadata: { ...metadata, labels } } };
}

/**
 * The first progressive deploy of a service that runs as a plain Deployment: the pod template that
 * serves becomes the stable side, without the service's endpoints ever dropping to zero. That is the
 * template of the Deployment's ReplicaSet with the most ready pods — after a failed rolling update
 * (a new template stuck in ImagePullBackOff) it is the old, working one, not the Deployment's
 * template; with no ready pod at all nothing serves, the Deployment's template is taken and its
 * readiness is not waited for. The Deployment is deleted with its ReplicaSets orphaned (their pods keep
 * serving, and it can no longer adopt Kulta's ReplicaSets, which have no owner references);
 * `<name>-stable` is created from that template at full size (Kulta only scales a ReplicaSet that
 * exists, and never changes its template); once it is ready the orphaned pods go. The Rollout with the
 * new template is applied next, and Kulta starts the canary from there.
 */
export async function handover(
  h: RolloutHandle,
  deployment: KubeObject,
  deploymentType: ResourceType,
): Promise<void> {
  const spec = isPlainObject(deployment.spec) ? deployment.spec : {};
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  // The Deployment's own ReplicaSets: found by its uid before it goes.
  const owned = (await listObjects(h.client, h.types.replicaSet, h.namespace)).filter((rs) =>
    (rs.metadata.ownerReferences as { uid?: string }[] | undefined)?.some(
      (o) => o.uid === deployment.metadata.uid,
    ),
  );
  const serving = owned.filter((rs) => ready(rs) > 0).sort((a, b) => ready(b) - ready(a))[0];
  const servingSpec = isPlainObject(serving?.spec) ? serving.spec : {};
  const live = serving ? servingSpec.template : spec.template;
  const stable = sideTemplate(isPlainObject(live) ? live : {}, 'stable');
  await deleteObject(h.client, deploymentType, h.namespace, deployment.metadata.name ?? h.name, {
    propagationPolicy: 'Orphan',
  });
  await waitUntil(
    h,
    `Deployment ${deployment.metadata.name} gone`,
    async () => !(await getObject(h.client, deploymentType, h.namespace, deployment.metadata.name ?? h.name)),
  );
  if (!(await readReplicaSet(h, 'stable'))) {
    await createObject(h.client, h.types.replicaSet, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: rsName(h, 'stable'), namespace: h.namespace, labels: stable.labels },
      spec: { replicas, selector: { matchLabels: stable.labels }, template: stable.template },
    });
  }
  if (serving) await waitSideReady(h, 'stable', replicas);
  for (const rs of owned)
    await deleteObject(h.client, h.types.replicaSet, h.namespace, rs.metadata.name ?? '', {
      propagationPolicy: 'Background',
    });
}

/**
 * Back to a plain Deployment: the Rollout goes (its ReplicaSets stay, unowned), and the Deployment
 * applied next adopts them by its selector and rolls them over to its own ReplicaSet the way a
 * rolling update does, so endpoints never drop to zero.
 */
export async function handBack(h: RolloutHandle): Promise<void> {
  await deleteObject(h.client, h.types.rollout, h.namespace, h.name, { propagationPolicy: 'Orphan' });
  await waitUntil(h, `Rollout ${h.name} gone`, async () => !(await readRollout(h)));
}

/**
 * A new template on a Rollout whose last canary finished (or was rolled back): Kulta does nothing on
 * its own (§9), so nopea removes the promote annotation, and — once the new template is applied —
 * deletes `-canary` (still at 0 replicas, from the old template) and clears the status; Kulta then
 * starts over as for a new Rollout, the canary from the new template.
 */
export async function restartCanary(h: RolloutHandle): Promise<void> {
  await setPromote(h, false);
  await deleteSide(h, 'canary');
  await patchStatus(h, null);
}

/**
 * After `Completed`: the promoted template becomes `-stable` (its template is copied from `-canary`),
 * replicas walk back to stable one at a time, each waited for, and the Rollout rests at the idle
 * status with every replica on stable — so the stable Service is never left empty.
 */
export async function finalise(h: RolloutHandle): Promise<void> {
  const rollout = await mustRead(h);
  const view = viewOf(rollout);
  await setPromote(h, false);
  const canary = await readReplicaSet(h, 'canary');
  const canarySpec = isPlainObject(canary?.spec) ? canary.spec : {};
  const canaryTemplate = isPlainObject(canarySpec.template) ? canarySpec.template : undefined;
  if (canaryTemplate && isPlainObject(canaryTemplate.spec)) {
    await patchObject(
      h.client,
      h.types.replicaSet,
      h.namespace,
      rsName(h, 'stable'),
      [{ op: 'replace', path: '/spec/template/spec', value: canaryTemplate.spec }],
      { kind: 'json' },
    );
    // Pods of the old template still on stable (none at Completed) are replaced as it scales up.
  }
  for (const weight of walkBackWeights(view.replicas)) {
    await patchStatus(h, { currentWeight: weight });
    const stable = view.replicas - Math.ceil((view.replicas * weight) / 100);
    await waitSideReady(h, 'stable', stable);
  }
  await patchStatus(h, IDLE_STATUS);
  await waitSideReady(h, 'stable', view.replicas);
}

/** Passes exactly the current gate: the status moves one step on, and Kulta holds at the next pause. */
export async function promoteStep(h: RolloutHandle): Promise<RolloutView> {
  const view = viewOf(await mustRead(h));
  return viewOf(await patchStatus(h, nextStepStatus(view, Date.now())));
}

/** Goes to 100%: Kulta's annotation skips every remaining pause (the monitor removes it afterwards). */
export async function promoteFull(h: RolloutHandle): Promise<void> {
  await setPromote(h, true);
}

/**
 * Traffic and replicas back to the last good template: at `Completed` (not yet finalised) the replicas
 * walk back to stable first; then the rolled-back status, which holds every replica on stable;
 * then the Rollout's template is the good one again and `-canary` goes (it returns at 0 from the good
 * template). `applyGood` writes the good template (server-side apply, as every nopea write).
 */
export async function rollback(h: RolloutHandle, applyGood: () => Promise<void>): Promise<void> {
  const view = viewOf(await mustRead(h));
  await setPromote(h, false);
  if (view.strategy === 'canary') {
    if (view.phase === 'Completed' && (view.step ?? -1) >= 0) {
      for (const weight of walkBackWeights(view.replicas)) {
        await patchStatus(h, { currentWeight: weight });
        await waitSideReady(h, 'stable', view.replicas - Math.ceil((view.replicas * weight) / 100));
      }
    }
    await patchStatus(h, ROLLED_BACK_STATUS);
    await waitSideReady(h, 'stable', view.replicas);
    await applyGood();
    await deleteSide(h, 'canary');
    return;
  }
  // Blue-green before promotion: active still serves the good template; the preview goes.
  await applyGood();
  await deleteSide(h, 'preview');
  await patchStatus(h, null);
  await nudge(h);
}

/**
 * Blue-green's promotion, the one clients see without an HTTPRoute: `-active` is re-homed onto the
 * new template — deleted with its pods orphaned (they keep serving), recreated by Kulta from the
 * Rollout's template, waited for, and then the old pods go.
 */
export async function promoteBlueGreen(h: RolloutHandle): Promise<void> {
  const view = viewOf(await mustRead(h));
  const pods = await listObjects(h.client, h.types.pod, h.namespace, {
    labelSelector: 'rollouts.kulta.io/type=active',
  });
  await deleteSide(h, 'active', 'Orphan');
  await nudge(h);
  await waitUntil(h, `${rsName(h, 'active')} recreated`, async () =>
    Boolean(await readReplicaSet(h, 'active')),
  );
  await waitSideReady(h, 'active', view.replicas);
  const fresh = await readReplicaSet(h, 'active');
  for (const pod of pods) {
    const owner = (pod.metadata.ownerReferences as { uid?: string }[] | undefined)?.[0]?.uid;
    if (owner && owner === fresh?.metadata.uid) continue;
    await deleteObject(h.client, h.types.pod, h.namespace, pod.metadata.name ?? '', {
      propagationPolicy: 'Background',
    });
  }
  await setPromote(h, true);
}

/** A second blue-green deploy: the preview side is rebuilt from the new template (after it is applied). */
export async function restartPreview(h: RolloutHandle): Promise<void> {
  await setPromote(h, false);
  await patchStatus(h, null);
  await deleteSide(h, 'preview');
  await nudge(h);
}
