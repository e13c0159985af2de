/**
 * The vocabulary every readiness rule shares: what a rule is given (the object, related objects,
 * options) and what it returns (an assessment), with the constructors and the one judgement all
 * controller-backed kinds start with (has the controller seen the spec yet?). Kept apart from the
 * table in rules.ts so that the per-kind rules in kinds/ and the table that lists them do not import
 * each other.
 */
import type { KubeObject } from '../resources/object.js';
import { field, num } from './status.js';

/** Ready: done; progressing: keep waiting; failed: stop the wait now. */
export type HealthState = 'ready' | 'progressing' | 'failed';

/** A judgement of one object: its state, a machine reason when there is one, and a short human status. */
export interface Assessment {
  state: HealthState;
  reason?: string;
  message: string;
}

/** Objects a rule may look at besides the object itself. */
export interface Related {
  /** Pods of the workload (for a Deployment, those of its newest ReplicaSet). */
  pods?: KubeObject[];
  /** ReplicaSets a Deployment owns. */
  replicaSets?: KubeObject[];
  /** StorageClass of a PersistentVolumeClaim, when known. */
  storageClass?: KubeObject;
}

/** Switches that change what "ready" means. */
export interface RuleOptions {
  /** Wait for a LoadBalancer Service to get an ingress address (off by default). */
  waitForLoadBalancer?: boolean;
}

/** A ready assessment, with a reason when readiness needs explaining (paused, suspended, ...). */
export function ready(message: string, reason?: string): Assessment {
  return reason ? { state: 'ready', reason, message } : { state: 'ready', message };
}

/** A progressing assessment. */
export function progressing(message: string, reason?: string): Assessment {
  return reason ? { state: 'progressing', reason, message } : { state: 'progressing', message };
}

/**
 * An applied object the wait does not find: still progressing (a LIST served from the API server's
 * cache can lag a write), so only the timeout reports it.
 */
export function notFound(): Assessment {
  return progressing('not found', 'NotFound');
}

/** A failed assessment; a failure always has a reason. */
export function failed(reason: string, message: string): Assessment {
  return { state: 'failed', reason, message };
}

/** `status.observedGeneration` lags `metadata.generation`: the controller has not seen the spec yet. */
export function staleGeneration(obj: KubeObject): Assessment | undefined {
  const generation = num(obj.metadata.generation);
  const observed = num(field(obj, 'status', 'observedGeneration'));
  if (generation === undefined) return undefined;
  if (observed === undefined || observed < generation) {
    return {
      state: 'progressing',
      reason: 'ObservedGeneration',
      message:
        observed === undefined
          ? `waiting for observedGeneration ${generation} (not reported yet)`
          : `waiting for observedGeneration ${generation} (saw ${observed})`,
    };
  }
  return undefined;
}
