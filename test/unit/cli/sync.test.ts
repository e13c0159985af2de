import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { RequestStats } from '../../../src/cluster/client.js';
import { LockRequests } from '../../../src/cluster/lease.js';
import { summary } from '../../../src/cli/commands/sync.js';
import { requestsJson } from '../../../src/surface/api.js';
import { syncExitCode } from '../../../src/surface/outcome.js';
import { serviceResult as result } from '../surface/fixtures.js';

describe('sync summary', () => {
  it('says nothing was changed and no deploy recorded when refused before any write', () => {
    const refused = result({ error: new NopeaError('guard', 'would prune too much') });
    expect(summary(refused)).toBe('Refused web: nothing was changed, no deploy recorded (120 ms)');
    expect(syncExitCode({ services: [refused] })).toBe(2);
  });

  it('says FAILED when a run stopped before writing for another reason (exit 1)', () => {
    const locked = result({ error: new NopeaError('deploy', 'locked by another run') });
    expect(summary(locked)).toMatch(/^FAILED web: nothing was changed, no deploy recorded/);
    expect(syncExitCode({ services: [locked] })).toBe(1);
  });

  it('says Cancelled when a signal stopped the run before it wrote anything', () => {
    const stopped = result({ outcome: 'cancelled', error: new NopeaError('cancelled', 'cancelled') });
    expect(summary(stopped)).toMatch(/^Cancelled web: nothing was changed, no deploy recorded/);
    expect(syncExitCode({ services: [stopped] })).toBe(1);
  });

  it('names counts, health and the record once something was written', () => {
    const done = result({
      outcome: 'succeeded',
      objects: [{ id: '/ConfigMap/web/a', action: 'created' }],
      stateCommit: 'abcdef0123456789',
    });
    expect(summary(done)).toMatch(
      /^Synced web: 1 created, 0 configured, 0 pruned, 0 unchanged; health not checked; deploy 01J9Z8Q4W3M6N2P5R7T9V1X3Y5, recorded in abcdef012345/,
    );
  });
});

describe('sync JSON requests', () => {
  it('reports object requests and, apart, the lock', () => {
    const stats = new RequestStats();
    Object.assign(stats.byVerb, { get: 4, list: 1, create: 1, delete: 1 });
    const lock = new LockRequests();
    Object.assign(lock, { get: 1, create: 1, delete: 1 });
    const json = requestsJson({ services: [], requests: stats, lockRequests: lock });
    expect(json).toMatchObject({
      get: 3,
      list: 1,
      create: 0,
      delete: 0,
      total: 4,
      writes: 0,
      lock: { get: 1, create: 1, update: 0, delete: 1, total: 3, writes: 2 },
    });
  });
});
