/**
 * Reading and writing objects: GET, paged LIST, server-side apply (real or dry-run) and DELETE,
 * all as raw JSON against URLs built from the resource catalog.
 */
import type { ResourceType } from '../resources/catalog.js';
import { FIELD_MANAGER, type KubeObject } from '../resources/object.js';
import type { KubeClient } from './client.js';
import { ApiError } from './errors.js';

/** `/apis/apps/v1/namespaces/web/deployments/api` and friends. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string): string {
  let p = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  if (type.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${type.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  return p;
}

/** GET one object; undefined when it does not exist. */
export async function getObject(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  name: string,
): Promise<KubeObject | undefined> {
  const res = await client.request<KubeObject>({
    method: 'GET',
    path: resourcePath(type, namespace, name),
    verb: 'get',
    allow: [404],
  });
  return res.status === 404 ? undefined : res.body;
}

/** LIST all objects of a type in a namespace (or cluster-wide), following `continue` pages. */
export async function listObjects(
  client: KubeClient,
  type: ResourceType,
  namespace: string | undefined,
  opts: { labelSelector?: string; pageSize?: number } = {},
): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  // Bounded: a page loop that never ends would mean a broken server.
  for (let page = 0; page < 10_000; page++) {
    const res = await client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
      method: 'GET',
      path: resourcePath(type, namespace),
      query: { limit: opts.pageSize ?? 500, continue: token, labelSelector: opts.labelSelector },
      verb: 'list',
    });
    const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
    // List items carry no apiVersion/kind; restore them so items look like GET results.
    for (const item of res.body.items ?? []) items.push({ ...item, apiVersion, kind: type.kind });
    token = res.body.metadata?.continue || undefined;
    if (!token) return items;
  }
  throw new Error(`LIST ${resourcePath(type, namespace)} did not finish after 10000 pages`);
}

export interface ApplyObjectOptions {
  dryRun?: boolean;
  /** Take over fields other managers own (SSA `force=true`). */
  force?: boolean;
  signal?: AbortSignal;
}

/** Server-side apply of the full intent; returns the object as the server stored (or would store) it. */
export async function applyObject(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  opts: ApplyObjectOptions = {},
): Promise<KubeObject> {
  return (await sendApply<KubeObject>(client, type, object, opts)).body;
}

/** What a write's answer is read for: the identity and version the server gave the object. */
export interface WrittenMetadata {
  metadata: KubeObject['metadata'];
}

/**
 * `applyObject` for a caller that only reads the stored object's metadata (uid, resourceVersion): the
 * server answers with its `PartialObjectMetadata` (meta.k8s.io/v1), so neither side encodes or
 * parses the rest of the object. A server that cannot (before Kubernetes 1.15) sends the whole object.
 */
export async function applyForMetadata(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  opts: Omit<ApplyObjectOptions, 'dryRun'> = {},
): Promise<WrittenMetadata> {
  const res = await sendApply<WrittenMetadata>(client, type, object, opts, METADATA_ONLY);
  return { metadata: res.body.metadata };
}

/** The Accept header of a write whose answer is read for its metadata alone. */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

function sendApply<T>(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  opts: ApplyObjectOptions,
  accept?: string,
): Promise<{ body: T }> {
  return client.request<T>({
    method: 'PATCH',
    path: resourcePath(type, object.metadata.namespace, object.metadata.name),
    query: {
      fieldManager: FIELD_MANAGER,
      // Strict: an unknown or duplicated field is an error, as with kubectl, not a silent drop.
      fieldValidation: 'Strict',
      force: opts.force ? true : undefined,
      dryRun: opts.dryRun ? 'All' : undefined,
    },
    body: object,
    contentType: 'application/apply-patch+yaml',
    ...(accept ? { accept } : {}),
    verb: opts.dryRun ? 'dry-run' : 'apply',
    signal: opts.signal,
  });
}

/** How a patch is read: a JSON merge patch (RFC 7386) or a JSON patch (RFC 6902). */
export type PatchKind = 'merge' | 'json';

const PATCH_TYPES: Record<PatchKind, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

/**
 * PATCH one object, or its `status` subresource (a controller's own fields — how a progressive
 * rollout is walked one step, or rolled back). Returns the object as the server stored it.
 */
export async function patchObject(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  name: string,
  patch: unknown,
  opts: { kind?: PatchKind; subresource?: 'status'; signal?: AbortSignal } = {},
): Promise<KubeObject> {
  const path = resourcePath(type, namespace, name) + (opts.subresource ? `/${opts.subresource}` : '');
  const res = await client.request<KubeObject>({
    method: 'PATCH',
    path,
    query: { fieldManager: FIELD_MANAGER },
    body: patch,
    contentType: PATCH_TYPES[opts.kind ?? 'merge'],
    verb: 'update',
    signal: opts.signal,
  });
  return res.body;
}

/**
 * POST a new object; returns it as the server stored it. A create is not idempotent: when an attempt
 * was retried after its answer was lost and the retry finds the name taken, the object is the one the
 * lost attempt created if nopea created it, and is returned; any other conflict is thrown.
 */
export async function createObject(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
): Promise<KubeObject> {
  const res = await client.request<KubeObject>({
    method: 'POST',
    path: resourcePath(type, object.metadata.namespace),
    query: { fieldManager: FIELD_MANAGER },
    body: object,
    verb: 'create',
    allow: [409],
  });
  if (res.status !== 409) return res.body;
  if ((res.attempt ?? 1) > 1) {
    const existing = await getObject(
      client,
      type,
      object.metadata.namespace ?? '',
      object.metadata.name ?? '',
    );
    const managers =
      (existing?.metadata.managedFields as { manager?: string; operation?: string }[] | undefined) ?? [];
    if (existing && managers.some((m) => m.manager === FIELD_MANAGER && m.operation === 'Update'))
      return existing;
  }
  throw ApiError.fromResponse(
    'POST',
    resourcePath(type, object.metadata.namespace),
    409,
    res.body,
    res.headers,
  );
}

export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

/** `--prune-propagation` and the API's `prunePropagation`, as the DELETE's propagationPolicy. */
export const PROPAGATION_POLICIES = {
  background: 'Background',
  foreground: 'Foreground',
  orphan: 'Orphan',
} as const satisfies Record<string, PropagationPolicy>;

/** Which object a DELETE may remove: only the one with this uid (and, when given, this resourceVersion). */
export interface DeletePreconditions {
  uid: string;
  resourceVersion?: string;
}

export interface DeleteObjectOptions {
  propagationPolicy?: PropagationPolicy;
  dryRun?: boolean;
  preconditions?: DeletePreconditions;
  signal?: AbortSignal;
}

/**
 * What a DELETE did: `deleted`; `gone` when nothing had that name; `changed` when the object with that
 * name failed the preconditions (re-created under a new uid, or written since that resourceVersion),
 * so it was left alone. Without preconditions a 409 is not expected and is thrown like any failure.
 */
export type DeleteOutcome = 'deleted' | 'gone' | 'changed';

/** DELETE one object, guarded by preconditions when they are given. */
export async function deleteObject(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  name: string,
  opts: DeleteObjectOptions = {},
): Promise<DeleteOutcome> {
  const res = await client.request({
    method: 'DELETE',
    path: resourcePath(type, namespace, name),
    query: { dryRun: opts.dryRun ? 'All' : undefined },
    body: {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: opts.propagationPolicy ?? 'Background',
      ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
    },
    verb: 'delete',
    // The API server answers a failed precondition with 409 Conflict.
    allow: opts.preconditions ? [404, 409] : [404],
    signal: opts.signal,
  });
  if (res.status === 404) return 'gone';
  return res.status === 409 ? 'changed' : 'deleted';
}
