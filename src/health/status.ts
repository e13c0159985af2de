/**
 * Reading what a live object says about itself, defensively: live objects are untyped JSON, and a
 * controller may not have written a field yet. Every readiness rule, the pod-problem extraction and
 * the reading of Events go through these, so a missing or mistyped field means "not reported" and
 * never a crash.
 */
import { isPlainObject, type KubeObject } from '../resources/object.js';

/** One entry of `status.conditions`. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** The value at a path of nested objects, or undefined where the path leaves them. */
export function field(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** A finite number, or undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A string, or undefined. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `status.<name>` as a number, 0 when absent (controllers omit zero counts). */
export function count(obj: KubeObject, name: string): number {
  return num(field(obj, 'status', name)) ?? 0;
}

/** The conditions of an object's status. */
export function conditionsOf(obj: KubeObject): Condition[] {
  const list = field(obj, 'status', 'conditions');
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is Condition => isPlainObject(c) && typeof c.type === 'string' && typeof c.status === 'string',
  );
}

/** The condition of a type, if the object has it. */
export function conditionOf(obj: KubeObject, type: string): Condition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

/** A condition in a few words for a status message: `Reason: message`, or what there is of it. */
export function conditionText(c: Condition): string {
  return c.message ? `${c.reason ?? c.type}: ${c.message}` : (c.reason ?? `${c.type}=${c.status}`);
}

/** The object an Event is about, in either shape (core v1 `involvedObject`, events.k8s.io/v1 `regarding`). */
export function eventSubject(event: Record<string, unknown>): Record<string, unknown> {
  if (isPlainObject(event.involvedObject)) return event.involvedObject;
  return isPlainObject(event.regarding) ? event.regarding : {};
}
