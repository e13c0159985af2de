// A service's sync result, for the pure pieces that read one (outcome, CLI summary).
import type { ServiceSyncResult } from '../../../src/surface/sync-types.js';

/** A failed sync of `web` that wrote nothing, with `extra` on top. */
export function serviceResult(extra: Partial<ServiceSyncResult> = {}): ServiceSyncResult {
  return {
    service: 'web',
    deployId: '01J9Z8Q4W3M6N2P5R7T9V1X3Y5',
    outcome: 'failed',
    objects: [],
    kept: [],
    durationMs: 120,
    ...extra,
  };
}
