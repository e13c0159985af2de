import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { OPERATIONS, runOperation, SyncRequest, syncJson, syncOptionsOf } from '../../../src/surface/api.js';
import { meaningOf, type Status } from '../../../src/surface/outcome.js';

describe('the operations table', () => {
  it('refuses a request that does not match its schema, naming the field, without running anything', async () => {
    const answer = await runOperation('sync', { dryRun: 'yes', bogus: 1 });
    expect(answer.status).toBe('invalid');
    expect(answer.error?.kind).toBe('input');
    const messages = answer.error?.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/dryRun/);
    expect(messages).toMatch(/bogus/);
  });

  it('needs the service where an operation is about one', async () => {
    for (const name of ['status', 'history', 'context', 'explain'] as const) {
      const answer = await runOperation(name, {});
      expect(answer.status).toBe('invalid');
      expect(answer.error?.problems[0]?.message).toMatch(/^service:/);
    }
  });

  it("passes a deploy's prune settings on as sync's options", () => {
    const req = SyncRequest.parse({
      allowPruneKinds: ['Namespace', 'PersistentVolumeClaim'],
      prunePropagation: 'orphan',
      recreateOnImmutable: true,
    });
    expect(syncOptionsOf(req, { cwd: '/repo' })).toMatchObject({
      allowPruneKinds: ['Namespace', 'PersistentVolumeClaim'],
      propagationPolicy: 'Orphan',
      recreateOnImmutable: true,
    });
    const plain = syncOptionsOf(SyncRequest.parse({}), { cwd: '/repo' });
    expect(plain).not.toHaveProperty('propagationPolicy');
    expect(plain).not.toHaveProperty('allowPruneKinds');
  });

  it('refuses a kind that is not protected, and a namespace for status', async () => {
    const kind = await runOperation('sync', { allowPruneKinds: ['Deployment'] });
    expect(kind.status).toBe('invalid');
    expect(kind.error?.problems[0]?.message).toMatch(/^allowPruneKinds\.0: .*Namespace/);
    const status = await runOperation('status', { service: 'web', namespace: 'prod' });
    expect(status.status).toBe('invalid');
    expect(status.error?.problems[0]?.message).toMatch(/namespace/);
  });

  it('turns a bad duration into an invalid answer, not a throw', async () => {
    const answer = await runOperation('sync', { timeout: 'soon' });
    expect(answer).toMatchObject({ status: 'invalid', error: { kind: 'input' } });
  });

  it('says which requests write', () => {
    expect(OPERATIONS.sync.writes({ dryRun: true })).toBe(false);
    expect(OPERATIONS.sync.writes({})).toBe(true);
    expect(OPERATIONS.promote.writes({})).toBe(true);
    expect(OPERATIONS.rollback.destructive).toBe(true);
    for (const name of ['diff', 'status', 'history', 'services', 'context', 'explain', 'memory'] as const) {
      expect(OPERATIONS[name].readOnly).toBe(true);
      expect(OPERATIONS[name].writes({} as never)).toBe(false);
    }
  });

  it('gives a sync result the JSON shape its schema describes', () => {
    const json = syncJson({
      services: [
        {
          service: 'web',
          deployId: 'd1',
          outcome: 'failed',
          objects: [],
          kept: [],
          durationMs: 5,
          error: new NopeaError('deploy', { message: 'boom', reason: 'HealthTimeout' }),
        },
      ],
    });
    expect(OPERATIONS.sync.result.safeParse(json).success).toBe(true);
    expect(json.services[0]?.error).toEqual({
      kind: 'deploy',
      problems: [{ message: 'boom', reason: 'HealthTimeout' }],
    });
  });
});

describe('what a status means on each interface', () => {
  const cases: [Status, number, number, boolean][] = [
    ['succeeded', 0, 200, false],
    ['dry-run', 0, 200, false],
    ['planned', 0, 200, false],
    ['paused', 4, 202, false],
    ['invalid', 2, 400, true],
    ['refused', 2, 409, true],
    ['failed', 1, 502, true],
    ['rolled-back', 1, 502, true],
    ['cancelled', 1, 503, true],
  ];
  it.each(cases)('%s: exit %i, HTTP %i, MCP isError %s', (status, exitCode, httpStatus, isError) => {
    expect(meaningOf(status)).toEqual({ exitCode, httpStatus, isError });
  });
});
