/**
 * Readiness of every kind without a rule of its own, by the kstatus conventions most controllers
 * follow: `Stalled` True fails, a stale `observedGeneration` or `Reconciling` True is progressing, and
 * a `Ready` (else `Available`) condition decides. A kind with none of these is ready once applied.
 */
import type { KubeObject } from '../../resources/object.js';
import { failed, progressing, ready, staleGeneration, type Assessment } from '../assessment.js';
import { conditionsOf, conditionText, field, num } from '../status.js';

/** Any other kind: kstatus-style conditions when present, else ready once applied. */
export function genericAssess(obj: KubeObject): Assessment {
  const conditions = conditionsOf(obj);
  const generation = num(obj.metadata.generation);
  const stalled = conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (stalled) return failed(stalled.reason ?? 'Stalled', stalled.message ?? 'stalled');
  if (field(obj, 'status', 'observedGeneration') !== undefined) {
    const stale = staleGeneration(obj);
    if (stale) return stale;
  }
  const reconciling = conditions.find((c) => c.type === 'Reconciling' && c.status === 'True');
  if (reconciling) return progressing(`reconciling: ${conditionText(reconciling)}`, reconciling.reason);
  const c = conditions.find((x) => x.type === 'Ready') ?? conditions.find((x) => x.type === 'Available');
  if (!c) return ready('applied');
  // A condition written for an older generation says nothing about the spec just applied.
  if (generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation) {
    return progressing(
      `${c.type} condition is for generation ${c.observedGeneration}, waiting for ${generation}`,
    );
  }
  if (c.status === 'True') return ready(c.type);
  return progressing(
    `${c.type}=${c.status}${c.reason || c.message ? `: ${conditionText(c)}` : ''}`,
    c.reason,
  );
}
