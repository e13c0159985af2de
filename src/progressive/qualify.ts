/**
 * Whether memory's advice of a canary can be followed (`--strategy auto`): Kulta is served, the service
 * has one Deployment and a Service selecting its pods, and what the canary derives is free to take. An
 * answer, never a throw, so the strategy choice can fall back to direct and say why.
 */
import type { ResourceCatalog } from '../resources/catalog.js';
import type { DesiredObject } from '../resources/identify.js';
import { locateTarget, ROLLOUT_API_VERSION, ROLLOUT_KIND } from './target.js';

export type Qualification = { ok: true } | { ok: false; why: string };

/** Whether the service can deploy as a canary; `why` not, in a few words, when it cannot. */
export function qualifies(desired: readonly DesiredObject[], catalog: ResourceCatalog): Qualification {
  // The builder assumes Kulta offline, for an explicit --strategy; advice is only followed when the
  // cluster says Kulta is there.
  if (!catalog.authoritative && !catalog.lookup(ROLLOUT_API_VERSION, ROLLOUT_KIND).found) {
    return { ok: false, why: 'offline, it is unknown whether the cluster runs Kulta' };
  }
  const located = locateTarget(desired, catalog, 'canary', 'the service');
  return located.ok ? { ok: true } : { ok: false, why: located.why };
}
