/**
 * The shape of a Kubernetes object as nopea handles it: plain JSON, never a typed client model
 * (typed serializers drop fields they do not know).
 */
import type { Origin } from '../errors.js';

/** The field manager nopea applies as (server-side apply). */
export const FIELD_MANAGER = 'nopea';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** One desired object as read from the repository, with where it came from. */
export interface Manifest {
  object: KubeObject;
  origin: Origin;
}

/** Identity of an object: API group (empty for core), kind, namespace (empty when cluster-scoped), name. */
export interface ResourceRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** `group/Kind/namespace/name`, e.g. `apps/Deployment/web/api`, `/Service/web/api`, `/Namespace//web`. */
export type ResourceId = string;

export function formatId(ref: ResourceRef): ResourceId {
  return `${ref.group}/${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function parseId(id: ResourceId): ResourceRef {
  const parts = id.split('/');
  if (parts.length !== 4) throw new Error(`not a resource id: ${id}`);
  const [group, kind, namespace, name] = parts as [string, string, string, string];
  return { group, kind, namespace, name };
}

/** `apps/v1` → `apps`; `v1` → `` (core). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `apps/v1` → `v1`. */
export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
