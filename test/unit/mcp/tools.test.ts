import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { answerText, eventText } from '../../../src/mcp/text.js';
import {
  camelCase,
  inputSchemaOf,
  openSchema,
  outputSchemaOf,
  requestOf,
  snakeCase,
} from '../../../src/mcp/tools.js';
import { OPERATIONS, SyncRequest, type Operation } from '../../../src/surface/api.js';
import type { SyncEvent } from '../../../src/surface/sync-types.js';

const operations = Object.entries(OPERATIONS as unknown as Record<string, Operation>);

describe('the key mapping', () => {
  it('maps every request field to snake_case and back', () => {
    for (const [, op] of operations) {
      for (const key of Object.keys((op.request as z.ZodObject).shape)) {
        expect(camelCase(snakeCase(key))).toBe(key);
      }
    }
    expect(snakeCase('deployId')).toBe('deploy_id');
    expect(snakeCase('maxPrune')).toBe('max_prune');
    expect(camelCase('force_conflicts')).toBe('forceConflicts');
  });

  it('turns parsed tool arguments into a request the operation accepts', () => {
    const input = inputSchemaOf(SyncRequest, { dryRun: true });
    const args = input.parse({
      service: 'web',
      force_conflicts: true,
      max_prune: '25%',
      canary_steps: '10,100',
    });
    const request = requestOf(args);
    expect(request).toEqual({
      service: 'web',
      forceConflicts: true,
      maxPrune: '25%',
      canarySteps: '10,100',
      dryRun: true,
    });
    expect(SyncRequest.safeParse(request).success).toBe(true);
    expect(requestOf(input.parse({ dry_run: false }))).toEqual({ dryRun: false });
  });

  it('keeps the request strict: camelCase or unknown arguments are refused', () => {
    const input = inputSchemaOf(SyncRequest);
    expect(input.safeParse({ dryRun: true }).success).toBe(false);
    expect(input.safeParse({ bogus: 1 }).success).toBe(false);
    expect(input.safeParse({ dry_run: 'yes' }).success).toBe(false);
  });
});

describe('output schemas', () => {
  it('accept results with more fields than the schema names, at any depth', () => {
    const open = openSchema(
      z.object({ a: z.array(z.object({ b: z.string() })), c: z.object({ d: z.number() }).optional() }),
    );
    const value = { a: [{ b: 'x', extra: 1 }], c: { d: 1, more: true }, top: 'level' };
    expect(open.parse(value)).toEqual(value);
    expect(open.safeParse({ a: [{ b: 1 }] }).success).toBe(false);
  });

  it('accept every answer: a result, or an error without one', () => {
    for (const [, op] of operations) {
      const schema = outputSchemaOf(op.result);
      expect(schema.safeParse({ status: 'invalid', error: { kind: 'input', problems: [] } }).success).toBe(
        true,
      );
    }
    const sync = outputSchemaOf(OPERATIONS.sync.result);
    expect(sync.safeParse({ status: 'failed', result: { services: [] } }).success).toBe(true);
    expect(sync.safeParse({ status: 'nonsense' }).success).toBe(false);
  });
});

describe('texts', () => {
  it('says the status, its exit code, the deploy id and counts of a sync in a line or two', () => {
    const text = answerText('nopea_deploy', 'sync', {
      status: 'succeeded',
      result: {
        services: [
          {
            service: 'web',
            deployId: '01JDEPLOY',
            outcome: 'succeeded',
            durationMs: 10,
            stateCommit: '0123456789abcdef',
            objects: [{ action: 'created' }, { action: 'created' }, { action: 'configured' }],
          },
        ],
      },
    });
    expect(text).toBe(
      'nopea_deploy: succeeded (exit 0)\nweb: succeeded, deploy 01JDEPLOY; objects: 2 created, 1 configured; recorded in 0123456789ab',
    );
  });

  it('lists the problems of a failure with file, line and hint', () => {
    const text = answerText('nopea_deploy', 'sync', {
      status: 'invalid',
      error: {
        kind: 'input',
        problems: [{ message: 'bad', origin: { file: 'deploy/a.yaml', line: 3 }, hint: 'fix it' }],
      },
    });
    expect(text).toBe('nopea_deploy: invalid (exit 2), input error:\ndeploy/a.yaml:3: bad\n  hint: fix it');
  });

  it("includes the problems inside a failed sync's result", () => {
    const text = answerText('nopea_deploy', 'sync', {
      status: 'failed',
      result: {
        services: [
          {
            service: 'web',
            deployId: 'd1',
            outcome: 'failed',
            objects: [],
            error: { kind: 'deploy', problems: [{ message: 'pod web-1: ImagePullBackOff' }] },
          },
        ],
      },
    });
    expect(text).toMatch(
      /^nopea_deploy: failed \(exit 1\)\nweb: failed, deploy d1; .*\npod web-1: ImagePullBackOff$/,
    );
  });

  it('words every progress event in one line', () => {
    const events: SyncEvent[] = [
      {
        type: 'plan',
        service: 'web',
        plan: {
          service: 'web',
          mode: 'cluster',
          entries: [],
          counts: { create: 2, update: 0, drift: 0, conflict: 0, unchanged: 1, prune: 0 },
        },
      },
      { type: 'stage', service: 'web', stage: 'apply' },
      { type: 'object', service: 'web', result: { id: 'apps/Deployment/ns/web', action: 'created' } },
      {
        type: 'health',
        service: 'web',
        snapshot: { poll: 1, elapsedMs: 5, ready: 1, total: 2, objects: [] },
      },
      { type: 'lock-wait', service: 'web', holder: 'ci-1', expiresInSeconds: 30 },
      {
        type: 'rollout',
        service: 'web',
        progress: {
          view: {
            name: 'web',
            namespace: 'ns',
            strategy: 'canary',
            phase: 'Progressing',
            step: 1,
            weight: 25,
            atGate: false,
            steps: [],
            promoting: false,
            replicas: 4,
          },
          readyStable: 3,
          readyCanary: 1,
          elapsedMs: 10,
        },
      },
    ];
    expect(events.map(eventText)).toEqual([
      'web: plan 2 create, 1 unchanged',
      'web: apply',
      'web: apps/Deployment/ns/web created',
      'web: 1/2 ready',
      'web: waiting for the lock held by ci-1 (expires in 30s)',
      'web: rollout Progressing, step 2, 25%, ready 3 stable / 1 new',
    ]);
  });
});
