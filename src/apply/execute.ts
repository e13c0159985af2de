/**
 * Stage 7 for the direct strategy: server-side apply of the plan in dependency order. Waves of equal
 * rank run concurrently (bounded by the client); CRDs are waited for until Established before the
 * resources that need them. Unchanged objects are not written. After a failure no new wave starts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NopeaError, type Problem } from '../errors.js';
import type { KubeClient } from '../cluster/client.js';
import { ApiError, conflictFields } from '../cluster/errors.js';
import { describeApiError } from '../cluster/explain.js';
import { applyObject, deleteObject, getObject } from '../cluster/objects.js';
import { assess } from '../health/rules.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import type { KubeObject, ResourceId } from '../resources/object.js';
import { applyWaves } from '../resources/order.js';
import type { PlanEntry } from '../plan/types.js';

export type ObjectAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'failed' | 'skipped';

/** What happened to one object. */
export interface ObjectResult {
  id: ResourceId;
  action: ObjectAction;
  /** The object as the server stored it (applied objects only). */
  applied?: KubeObject;
  /** The intent that was applied (what last-applied records). */
  intent?: KubeObject;
  problem?: Problem;
}

export interface ApplyAllOptions {
  forceConflicts: boolean;
  recreateOnImmutable: boolean;
  /** Stops new writes (SIGTERM/SIGINT); writes in flight finish. */
  signal?: AbortSignal;
  /** Called as each object is done, for progress output. */
  onResult?: (r: ObjectResult) => void;
  /** Bound on waiting for a CRD to be Established. */
  crdTimeoutMs?: number;
}

export interface ApplyItem {
  desired: DesiredObject;
  entry: PlanEntry;
}

/** The server said a field cannot change; names the field when the message does. */
function immutableField(err: ApiError): string | undefined {
  if (err.status !== 422) return undefined;
  const cause = err.causes.find((c) => /immutable/i.test(c.message ?? ''));
  if (cause) return cause.field ?? 'a field';
  return /field is immutable/i.test(err.message)
    ? (/(spec\.[\w.[\]]+)/.exec(err.message)?.[1] ?? 'a field')
    : undefined;
}

function failure(item: ApplyItem, message: string, hint?: string): ObjectResult {
  const problem: Problem = { message, origin: item.desired.origin, object: item.desired.id };
  if (hint) problem.hint = hint;
  return { id: item.desired.id, action: 'failed', problem };
}

async function waitGone(
  client: KubeClient,
  d: DesiredObject,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 250; Date.now() < deadline; delay = Math.min(delay * 2, 2000)) {
    if (!(await getObject(client, d.type, d.ref.namespace, d.ref.name))) return true;
    await sleep(delay, undefined, { signal });
  }
  return false;
}

async function waitEstablished(
  client: KubeClient,
  d: DesiredObject,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not yet observed';
  for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 2, 2000)) {
    const obj = await getObject(client, d.type, '', d.ref.name);
    if (obj) {
      const a = assess(obj, {});
      if (a.state === 'ready') return undefined;
      last = a.message;
      if (a.state === 'failed') return last;
    }
    await sleep(delay, undefined, { signal });
  }
  return `not Established after ${Math.round(timeoutMs / 1000)} s (${last})`;
}

/** A 404 because the object's namespace is not visible yet (the apiserver's admission cache lags a new namespace). */
function namespaceNotYetVisible(err: unknown, namespace: string, fresh: ReadonlySet<string>): boolean {
  return (
    err instanceof ApiError &&
    err.status === 404 &&
    fresh.has(namespace) &&
    err.message.includes(`namespaces "${namespace}" not found`)
  );
}

async function applyOne(
  client: KubeClient,
  item: ApplyItem,
  opts: ApplyAllOptions,
  freshNamespaces: ReadonlySet<string>,
): Promise<ObjectResult> {
  const { desired, entry } = item;
  if (entry.action === 'unchanged') return { id: desired.id, action: 'unchanged' };
  if (opts.signal?.aborted) return { id: desired.id, action: 'skipped' };
  const intent = intentOf(desired.object);
  // Drift is taken back without --force-conflicts: those fields were nopea's until someone changed them.
  const force = opts.forceConflicts || (Boolean(entry.drift?.length) && !entry.conflicts?.length);
  const attempt = async (): Promise<KubeObject> => {
    // A CRD or Namespace applied a moment ago may not be served or admitted yet: retry NotFound briefly.
    for (let i = 0; ; i++) {
      try {
        return await applyObject(client, desired.type, intent, { force });
      } catch (err) {
        const pending =
          (desired.crdPending && err instanceof ApiError && err.status === 404) ||
          namespaceNotYetVisible(err, desired.ref.namespace, freshNamespaces);
        if (!pending || i >= 8) throw err;
        await sleep(250 * (i + 1), undefined, { signal: opts.signal });
      }
    }
  };
  try {
    const applied = await attempt();
    return { id: desired.id, action: entry.action === 'create' ? 'created' : 'configured', applied, intent };
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      const fields = conflictFields(err).map((c) => `${c.field} (owned by ${c.manager})`);
      return failure(
        item,
        `${desired.id}: apply conflicts with another field manager: ${fields.join(', ') || err.message}`,
        'pass --force-conflicts to take the fields over, or remove them from the manifest',
      );
    }
    if (err instanceof ApiError) {
      const field = immutableField(err);
      if (field && !opts.recreateOnImmutable) {
        return failure(
          item,
          `${desired.id}: ${field} is immutable and the manifest changes it: ${err.message}`,
          'pass --recreate-on-immutable to delete and re-create the object (its pods restart and it is briefly absent)',
        );
      }
      if (field) return recreate(client, item, intent, field, force, opts);
      if (err.status === 400 || err.status === 422) {
        return failure(item, `${desired.id}: the cluster rejected it: ${err.message}`, 'fix the manifest');
      }
    }
    const described = describeApiError(err, `apply of ${desired.id}`, desired.id);
    return {
      id: desired.id,
      action: 'failed',
      problem: { ...described.problems[0]!, origin: desired.origin },
    };
  }
}

/** `--recreate-on-immutable`: delete (foreground, so dependents go first), wait until gone, apply again. */
async function recreate(
  client: KubeClient,
  item: ApplyItem,
  intent: KubeObject,
  field: string,
  force: boolean,
  opts: ApplyAllOptions,
): Promise<ObjectResult> {
  const { desired } = item;
  try {
    await deleteObject(client, desired.type, desired.ref.namespace, desired.ref.name, {
      propagationPolicy: 'Foreground',
    });
    if (!(await waitGone(client, desired, 120_000, opts.signal))) {
      return failure(
        item,
        `${desired.id}: deleted to re-create it (immutable ${field}), but it did not go away within 120 s`,
      );
    }
    const applied = await applyObject(client, desired.type, intent, { force });
    return { id: desired.id, action: 'configured', applied, intent };
  } catch (err) {
    const described = describeApiError(err, `re-creating ${desired.id} (immutable ${field})`, desired.id);
    return {
      id: desired.id,
      action: 'failed',
      problem: { ...described.problems[0]!, origin: desired.origin },
    };
  }
}

/** Applies every item in waves; returns per-object results (failed and skipped included). */
export async function applyAll(
  client: KubeClient,
  items: ApplyItem[],
  opts: ApplyAllOptions,
): Promise<ObjectResult[]> {
  const results: ObjectResult[] = [];
  const waves = applyWaves(items, (i) => i.desired.ref);
  const freshNamespaces = new Set<string>();
  let stopped = false;
  for (const wave of waves) {
    if (stopped || opts.signal?.aborted) {
      for (const item of wave) {
        const r: ObjectResult = {
          id: item.desired.id,
          action: item.entry.action === 'unchanged' ? 'unchanged' : 'skipped',
        };
        results.push(r);
        opts.onResult?.(r);
      }
      continue;
    }
    const done = await Promise.all(
      wave.map(async (item) => {
        const r = await applyOne(client, item, opts, freshNamespaces);
        opts.onResult?.(r);
        return r;
      }),
    );
    // CRDs must be Established before anything that uses them is applied.
    for (const [i, item] of wave.entries()) {
      const r = done[i]!;
      if (
        item.desired.ref.kind !== 'CustomResourceDefinition' ||
        r.action === 'failed' ||
        r.action === 'skipped'
      )
        continue;
      const problem = await waitEstablished(client, item.desired, opts.crdTimeoutMs ?? 60_000, opts.signal);
      if (problem) done[i] = failure(item, `${item.desired.id}: ${problem}`);
    }
    for (const [i, item] of wave.entries()) {
      const { ref } = item.desired;
      if (ref.group === '' && ref.kind === 'Namespace' && done[i]!.action === 'created')
        freshNamespaces.add(ref.name);
    }
    results.push(...done);
    if (done.some((r) => r.action === 'failed')) stopped = true;
  }
  return results;
}

/** Raises the first failures as one deploy error (exit 1), keeping every problem. */
export function applyFailure(results: ObjectResult[]): NopeaError | undefined {
  const problems = results.filter((r) => r.action === 'failed' && r.problem).map((r) => r.problem!);
  return problems.length > 0 ? new NopeaError('deploy', problems) : undefined;
}
