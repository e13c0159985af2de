/**
 * Stage 7 for the direct strategy: server-side apply of the plan in dependency order. Waves of equal
 * rank run concurrently (bounded by the client); CRDs are waited for until Established before the
 * resources that need them. Unchanged objects are not written. After a failure, a signal, or a
 * refusal from `mayWrite` (the lock is no longer safely held) no new wave starts and what was not
 * written is `skipped`; every object gets a result, and nothing here throws.
 */
import { NopeaError, type Problem } from '../errors.js';
import type { KubeClient } from '../cluster/client.js';
import { ApiError, RequestCutShort, conflictFields, invalidObjectReason } from '../cluster/errors.js';
import { describeApiError } from '../cluster/explain.js';
import { applyForMetadata, deleteObject, getObject, type WrittenMetadata } from '../cluster/objects.js';
import { assess } from '../health/rules.js';
import { poll, retry } from '../poll.js';
import type { DesiredObject } from '../resources/identify.js';
import { intentOf } from '../resources/normalize.js';
import type { KubeObject, ResourceId } from '../resources/object.js';
import { applyWaves } from '../resources/order.js';
import { isSecret } from '../resources/secrets.js';
import type { PlanEntry } from '../plan/types.js';

export type ObjectAction = 'created' | 'configured' | 'unchanged' | 'pruned' | 'failed' | 'skipped';

/** What happened to one object. */
export interface ObjectResult {
  id: ResourceId;
  action: ObjectAction;
  /** The metadata the server stored the object with (written objects only, failed ones included: a CRD never Established). */
  applied?: WrittenMetadata;
  /** The intent that was applied (what last-applied records). */
  intent?: KubeObject;
  problem?: Problem;
  /** The cluster refused the object itself as invalid: the manifest is at fault, not the deploy. */
  invalid?: boolean;
  /** For a skipped object: the error that stopped the writes before it (see `mayWrite`). */
  stoppedBy?: NopeaError;
  /** A failed write cut short in flight: it may have been applied, so the record keeps tracking it. */
  uncertain?: boolean;
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
  /**
   * Asked before each wave whether writing may go on (the service lock is still safely held). An
   * error stops the writes: that wave and the rest are skipped with it, and applyFailure reports it.
   */
  mayWrite?: () => NopeaError | undefined;
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

function failure(item: ApplyItem, message: string, hint?: string, reason?: string): ObjectResult {
  const problem: Problem = { message, origin: item.desired.origin, object: item.desired.id };
  if (hint) problem.hint = hint;
  if (reason) problem.reason = reason;
  return { id: item.desired.id, action: 'failed', problem };
}

/** How the waits here look again: soon, then every 2 s. */
const WAIT_BACKOFF = { initialMs: 250, maxMs: 2_000, jitter: 0 };

/** How long `--recreate-on-immutable` waits for the deleted object to be gone. */
const RECREATE_WAIT_MS = 120_000;

/** Whether the object is gone within the bound. */
async function waitGone(client: KubeClient, d: DesiredObject, timeoutMs: number): Promise<boolean> {
  const gone = await poll(
    async () =>
      (await getObject(client, d.type, d.ref.namespace, d.ref.name))
        ? { done: false }
        : { done: true, value: true },
    { timeoutMs, backoff: WAIT_BACKOFF },
  );
  return gone.ok;
}

/**
 * Waits until a CRD is Established: undefined when it is, or when the signal ended the wait (then
 * no later wave is applied, so nothing needs the CRD); otherwise why it is not.
 */
async function waitEstablished(
  client: KubeClient,
  d: DesiredObject,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const established = await poll<string | undefined>(
    async () => {
      let obj: KubeObject | undefined;
      try {
        obj = await getObject(client, d.type, '', d.ref.name);
      } catch (err) {
        return { done: true, value: describeApiError(err, `reading ${d.id}`).problems[0]!.message };
      }
      if (!obj) return { done: false, reason: 'not yet observed' };
      const a = assess(obj, {});
      if (a.state === 'ready') return { done: true, value: undefined };
      if (a.state === 'failed') return { done: true, value: a.message };
      return { done: false, reason: a.message };
    },
    { timeoutMs, backoff: WAIT_BACKOFF, signal },
  );
  if (established.ok) return established.value;
  if (established.why === 'aborted') return undefined;
  return `not Established after ${Math.round(timeoutMs / 1000)} s (${established.last ?? 'not yet observed'})`;
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

/** Retrying a NotFound while a CRD or Namespace applied a moment ago becomes served: about 10 s. */
const NOT_YET_SERVED = { timeoutMs: 10_000, maxAttempts: 9, backoff: WAIT_BACKOFF };

function skipped(id: ResourceId, stoppedBy?: NopeaError): ObjectResult {
  return stoppedBy ? { id, action: 'skipped', stoppedBy } : { id, action: 'skipped' };
}

async function applyOne(
  client: KubeClient,
  item: ApplyItem,
  opts: ApplyAllOptions,
  freshNamespaces: ReadonlySet<string>,
): Promise<ObjectResult> {
  const { desired, entry } = item;
  if (entry.action === 'unchanged') return { id: desired.id, action: 'unchanged' };
  if (opts.signal?.aborted) return skipped(desired.id);
  const intent = intentOf(desired.object);
  // Drift is taken back without --force-conflicts: those fields were nopea's until someone changed them.
  const force = opts.forceConflicts || (Boolean(entry.drift?.length) && !entry.conflicts?.length);
  // A CRD or Namespace applied a moment ago may not be served or admitted yet.
  const notYetServed = (err: unknown): boolean =>
    (desired.crdPending && err instanceof ApiError && err.status === 404) ||
    namespaceNotYetVisible(err, desired.ref.namespace, freshNamespaces);
  try {
    const applied = await retry(() => applyForMetadata(client, desired.type, intent, { force }), {
      ...NOT_YET_SERVED,
      retryable: notYetServed,
      signal: opts.signal,
    });
    return { id: desired.id, action: entry.action === 'create' ? 'created' : 'configured', applied, intent };
  } catch (err) {
    // The signal ended the wait for its CRD or namespace: the object was never written.
    if (opts.signal?.aborted && (notYetServed(err) || (err as Error).name === 'AbortError')) {
      return skipped(desired.id);
    }
    if (err instanceof ApiError && err.status === 409) {
      const fields = conflictFields(err).map((c) => `${c.field} (owned by ${c.manager})`);
      return failure(
        item,
        `${desired.id}: apply conflicts with another field manager: ${fields.join(', ') || err.message}`,
        'pass --force-conflicts to take the fields over, or remove them from the manifest',
        'Conflict',
      );
    }
    if (err instanceof ApiError) {
      const field = immutableField(err);
      if (field && !opts.recreateOnImmutable) {
        return failure(
          item,
          `${desired.id}: ${field} is immutable and the manifest changes it: ${err.message}`,
          'pass --recreate-on-immutable to delete and re-create the object (its pods restart and it is briefly absent)',
          'Immutable',
        );
      }
      if (field) return recreate(client, item, intent, field, force, opts);
    }
    if (err instanceof RequestCutShort) {
      return { ...failure(item, `${desired.id}: ${err.message}`), uncertain: true };
    }
    const invalid = invalidObjectReason(err, isSecret(desired.object));
    if (invalid !== undefined) {
      return {
        ...failure(item, `${desired.id}: the cluster rejected it: ${invalid}`, 'fix the manifest', 'Invalid'),
        invalid: true,
      };
    }
    const described = describeApiError(err, `apply of ${desired.id}`, desired.id);
    return {
      id: desired.id,
      action: 'failed',
      problem: { ...described.problems[0]!, origin: desired.origin },
    };
  }
}

/**
 * `--recreate-on-immutable`: delete (foreground, so dependents go first), wait until gone, apply
 * again. A stopping run deletes nothing; once the delete went out, the wait and the re-create run to
 * their end whatever the signal, so the object is never left deleted.
 */
async function recreate(
  client: KubeClient,
  item: ApplyItem,
  intent: KubeObject,
  field: string,
  force: boolean,
  opts: ApplyAllOptions,
): Promise<ObjectResult> {
  const { desired } = item;
  if (opts.signal?.aborted) return skipped(desired.id);
  try {
    await deleteObject(client, desired.type, desired.ref.namespace, desired.ref.name, {
      propagationPolicy: 'Foreground',
    });
    if (!(await waitGone(client, desired, RECREATE_WAIT_MS))) {
      return failure(
        item,
        `${desired.id}: deleted to re-create it (immutable ${field}), but it did not go away within ${RECREATE_WAIT_MS / 1000} s`,
      );
    }
    const applied = await applyForMetadata(client, desired.type, intent, { force });
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
  let failed = false;
  let stoppedBy: NopeaError | undefined;
  for (const wave of waves) {
    if (!failed && !stoppedBy && !opts.signal?.aborted) stoppedBy = opts.mayWrite?.();
    if (failed || stoppedBy || opts.signal?.aborted) {
      for (const item of wave) {
        const r =
          item.entry.action === 'unchanged'
            ? { id: item.desired.id, action: 'unchanged' as const }
            : skipped(item.desired.id, stoppedBy);
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
      // Failed, but written: the CRD is in the cluster, and the record must keep tracking it.
      if (problem)
        done[i] = {
          ...failure(item, `${item.desired.id}: ${problem}`),
          applied: r.applied,
          intent: r.intent,
        };
    }
    for (const [i, item] of wave.entries()) {
      const { ref } = item.desired;
      if (ref.group === '' && ref.kind === 'Namespace' && done[i]!.action === 'created')
        freshNamespaces.add(ref.name);
    }
    results.push(...done);
    if (done.some((r) => r.action === 'failed')) failed = true;
  }
  return results;
}

/**
 * The failure the results amount to: the failed objects' problems as one error — `input` (exit 2)
 * when the cluster refused every one of them as invalid before anything was written, `deploy`
 * (exit 1) otherwise — or, when nothing failed, the error that stopped the writes (`mayWrite`).
 */
export function applyFailure(results: ObjectResult[]): NopeaError | undefined {
  const failed = results.filter((r) => r.action === 'failed' && r.problem);
  if (failed.length > 0) {
    // Invalid input means nothing was changed (exit 2) only when nothing was: a rejection after earlier
    // waves were written is a failed deploy.
    const wrote = results.some(
      (r) =>
        r.applied !== undefined ||
        r.action === 'created' ||
        r.action === 'configured' ||
        r.action === 'pruned',
    );
    const kind = !wrote && failed.every((r) => r.invalid) ? 'input' : 'deploy';
    return new NopeaError(
      kind,
      failed.map((r) => r.problem!),
    );
  }
  return results.find((r) => r.stoppedBy)?.stoppedBy;
}
