import { describe, expect, it } from 'vitest';
import { provablyUnchanged } from '../../../src/plan/shortcut.js';
import { deploymentIntent, live, nopeaFields } from './fixtures.js';

describe('dry-run shortcut', () => {
  const intent = deploymentIntent();
  const owned = live(intent, [{ manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields() }]);

  it('skips the dry-run when git did not change it and nopea still owns every field', () => {
    expect(provablyUnchanged(intent, intent, owned)).toBe(true);
  });

  it('needs a dry-run when git changed it, nothing was recorded, it is gone or being deleted', () => {
    expect(provablyUnchanged(deploymentIntent('registry.local/api:v2'), intent, owned)).toBe(false);
    expect(provablyUnchanged(intent, undefined, owned)).toBe(false);
    expect(provablyUnchanged(intent, intent, undefined)).toBe(false);
    const deleting = structuredClone(owned);
    deleting.metadata.deletionTimestamp = '2026-11-27T10:00:00Z';
    expect(provablyUnchanged(intent, intent, deleting)).toBe(false);
  });

  it('needs a dry-run when someone else took a field over', () => {
    const fields = nopeaFields(['app']);
    const drifted = live(intent, [
      { manager: 'nopea', operation: 'Apply', fieldsV1: { ...fields, 'f:spec': { 'f:selector': {} } } },
      { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ]);
    expect(provablyUnchanged(intent, intent, drifted)).toBe(false);
  });
});
