/**
 * The dry-run shortcut: an object whose intent git did not change, and whose live copy still has
 * every field of that intent owned by nopea, is unchanged without asking the server. Server-side
 * apply moves ownership of a field to whoever changes its value, so "still owned" means "still the
 * value nopea applied". This keeps a no-op resync to reads only (argo-cd #20423 is the cost of not
 * doing this).
 */
import { FIELD_MANAGER, type KubeObject } from '../resources/object.js';
import { comparableIntent } from './classify.js';
import { unownedPaths } from './ownership.js';
import { jsonEqual } from './paths.js';

/** Whether the object needs no server dry-run to be classified `unchanged`. */
export function provablyUnchanged(
  intent: KubeObject,
  lastApplied: KubeObject | undefined,
  live: KubeObject | undefined,
): boolean {
  if (!lastApplied || !live) return false;
  // An object being deleted must be re-applied once it is gone; let the dry-run say what happens.
  if (live.metadata.deletionTimestamp) return false;
  if (!jsonEqual(comparableIntent(intent, lastApplied), lastApplied)) return false;
  return unownedPaths(lastApplied, live, FIELD_MANAGER).length === 0;
}
