import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  CurrentSchema,
  DeployRecordSchema,
  GraphSchema,
  InventorySchema,
  LastAppliedSchema,
  OccurrenceSchema,
  parseFormatFile,
  parseStateFile,
  serializeStateWrite,
  type DeployRecord,
  type LastApplied,
  type StateLocation,
} from '../../../src/state/format.js';
import { resolveStatePath, statePaths } from '../../../src/state/layout.js';

const ID = '01J9Z8Q4W3M6N2P5R7T9V1X3Y5';
const at: StateLocation = { branch: 'nopea-state', remote: 'origin', commit: 'a'.repeat(40), path: '' };

const record: DeployRecord = {
  format: 1,
  id: ID,
  service: 'web',
  namespace: 'prod',
  source: { repo: 'acme/web', commit: 'b'.repeat(40), ref: 'refs/heads/main' },
  startedAt: '2026-11-27T10:00:00.000Z',
  finishedAt: '2026-11-27T10:01:30.000Z',
  strategy: { name: 'canary', reason: 'memory: 2 recent failures in prod' },
  plan: { create: 1, update: 2, drift: 0, conflict: 0, unchanged: 7, prune: 1 },
  objects: [
    { id: 'apps/Deployment/prod/api', action: 'configured' },
    { id: '/ConfigMap/prod/old', action: 'pruned' },
  ],
  stages: [
    { name: 'plan', ms: 812 },
    { name: 'apply', ms: 2310 },
  ],
  outcome: 'failed',
  error: { kind: 'deploy', message: 'Deployment prod/api: ImagePullBackOff' },
  actor: 'octocat',
  runUrl: 'https://github.com/acme/web/actions/runs/1',
};

const lastApplied: LastApplied = {
  format: 1,
  id: 'rbac.authorization.k8s.io/ClusterRole//system:auth',
  apiVersion: 'rbac.authorization.k8s.io/v1',
  origin: { file: 'deploy/rbac.yaml', line: 12 },
  deployId: ID,
  appliedAt: '2026-11-27T10:01:00.000Z',
  object: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'system:auth', labels: { app: 'web' } },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  },
};

function roundTrip<T>(schema: Parameters<typeof parseStateFile>[0], relPath: string, value: T): unknown {
  const path = resolveStatePath('web', relPath);
  const text = serializeStateWrite(path, value);
  return parseStateFile(schema, text, { ...at, path });
}

describe('serialisation', () => {
  it('round-trips a deploy record', () => {
    expect(roundTrip(DeployRecordSchema, statePaths.deploy(ID), record)).toEqual(record);
  });

  it('round-trips a last-applied object whole, unknown fields included', () => {
    expect(roundTrip(LastAppliedSchema, statePaths.lastApplied(lastApplied.id), lastApplied)).toEqual(
      lastApplied,
    );
  });

  it('round-trips current, occurrence and graph files', () => {
    const current = {
      format: 1,
      service: 'web',
      deployId: ID,
      status: 'paused',
      updatedAt: '2026-11-27T10:01:30.000Z',
      rollout: { strategy: 'canary', name: 'api', namespace: 'prod', phase: 'Paused', step: 2 },
    };
    expect(roundTrip(CurrentSchema, statePaths.current, current)).toEqual(current);
    const occurrence = {
      format: 1,
      protocol_version: '1.0',
      id: ID,
      timestamp: '2026-11-27T10:01:30.000Z',
      source: 'nopea',
      type: 'deploy.run.failed',
      severity: 'error',
      outcome: 'failure',
      context: {
        service: 'web',
        namespace: 'prod',
        entities: [
          {
            type: 'Deployment',
            id: 'u-1',
            name: 'api',
            namespace: 'prod',
            version: '7',
            source_of_truth: 'k8s-api',
          },
        ],
      },
      data: {
        deploy_id: ID,
        service: 'web',
        namespace: 'prod',
        strategy: 'direct',
        strategy_reason: 'default',
        chosen_by: 'default',
        counts: { configured: 1 },
      },
      history: {
        steps: [
          { name: 'apply', description: 'apply', status: 'ok', duration_ms: 12 },
          {
            name: 'wait',
            description: 'wait',
            status: 'failed',
            error: { code: 'ImagePullBackOff', message: 'pull' },
          },
        ],
      },
      error: {
        code: 'ImagePullBackOff',
        message: 'pull',
        what_failed: 'deploy of web',
        why_it_matters: 'not updated',
      },
      reasoning: { summary: 'web failed', patterns_matched: [], confidence: 0.3 },
    };
    expect(roundTrip(OccurrenceSchema, statePaths.occurrence(ID), occurrence)).toEqual(occurrence);
    const graph = {
      format: 1,
      nodes: [
        { id: 'service:web', type: 'service', name: 'web' },
        { id: 'namespace:prod', type: 'namespace', name: 'prod' },
      ],
      edges: [
        {
          from: 'service:web',
          to: 'namespace:prod',
          relation: 'deployed_to',
          weight: 0.4,
          count: 3,
          updatedAt: '2026-11-27T10:01:30.000Z',
          evidence: [{ deployId: ID, at: '2026-11-27T10:01:30.000Z', outcome: 'failed' }],
        },
      ],
      recent: [],
      observations: 3,
    };
    expect(roundTrip(GraphSchema, statePaths.graph, graph)).toEqual(graph);
  });

  it('writes readable, stable JSON', () => {
    const text = serializeStateWrite(resolveStatePath('web', statePaths.deploy(ID)), record);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "id": "01J9Z8Q4W3M6N2P5R7T9V1X3Y5",\n');
    expect(serializeStateWrite(resolveStatePath('web', statePaths.deploy(ID)), JSON.parse(text))).toBe(text);
  });

  it('sorts the inventory by id and refuses duplicates', () => {
    const path = resolveStatePath('web', statePaths.inventory);
    const objects = [
      { id: 'apps/Deployment/prod/api', apiVersion: 'apps/v1' },
      { id: '/Service/prod/api', apiVersion: 'v1' },
    ];
    const text = serializeStateWrite(path, { format: 1, service: 'web', namespace: 'prod', objects });
    const parsed = parseStateFile(InventorySchema, text, { ...at, path });
    expect(parsed.objects.map((o) => o.id)).toEqual(['/Service/prod/api', 'apps/Deployment/prod/api']);
    const twice = { format: 1, service: 'web', namespace: 'prod', objects: [...objects, objects[0]] };
    expect(() => serializeStateWrite(path, twice)).toThrow(/listed twice/);
  });

  it('reads and writes inventories with and without object uids', () => {
    const path = resolveStatePath('web', statePaths.inventory);
    const older = {
      format: 1,
      service: 'web',
      namespace: 'prod',
      objects: [{ id: '/Service/prod/api', apiVersion: 'v1' }],
    };
    const newer = {
      ...older,
      objects: [
        { id: '/ConfigMap/prod/api', apiVersion: 'v1' },
        { id: '/Service/prod/api', apiVersion: 'v1', uid: '6f1c2a4e-8a2b-4c1d-9e3f-0a1b2c3d4e5f' },
      ],
    };
    for (const inventory of [older, newer]) {
      const text = serializeStateWrite(path, inventory);
      expect(parseStateFile(InventorySchema, text, { ...at, path })).toEqual(inventory);
    }
    const emptyUid = { ...older, objects: [{ id: '/Service/prod/api', apiVersion: 'v1', uid: '' }] };
    expect(() => serializeStateWrite(path, emptyUid)).toThrow(/objects\.0\.uid/);
    expect(() => parseStateFile(InventorySchema, JSON.stringify(emptyUid), { ...at, path })).toThrow(
      /inventory\.json .* is corrupt: objects\.0\.uid/,
    );
  });

  it('refuses writes that disagree with their path or schema', () => {
    expect(() => serializeStateWrite(resolveStatePath('api', statePaths.deploy(ID)), record)).toThrow(
      /service is "web" but the path says "api"/,
    );
    expect(() =>
      serializeStateWrite(resolveStatePath('web', statePaths.deploy('01J9Z8Q4W3M6N2P5R7T9V1X3Y6')), record),
    ).toThrow(/id is/);
    expect(() =>
      serializeStateWrite(resolveStatePath('web', statePaths.deploy(ID)), { ...record, outcome: 'maybe' }),
    ).toThrow(/outcome/);
    expect(() =>
      serializeStateWrite(resolveStatePath('web', statePaths.lastApplied('/Service/web/other')), lastApplied),
    ).toThrow(/id is/);
    expect(() => serializeStateWrite('.nopea/format', '2\n')).toThrow(/written by the state store only/);
  });

  it('stores unknown files as given', () => {
    expect(serializeStateWrite('.nopea/services/web/notes.txt', 'hello')).toBe('hello');
    expect(serializeStateWrite('.nopea/services/web/extra.txt', { a: 1 })).toBe('{\n  "a": 1\n}\n');
  });
});

describe('reading', () => {
  it('names branch, commit and path of corrupt JSON', () => {
    const path = '.nopea/services/web/current.json';
    let error: unknown;
    try {
      parseStateFile(CurrentSchema, '{ "format": 1, ', { ...at, path });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NopeaError);
    expect((error as NopeaError).kind).toBe('state');
    expect((error as NopeaError).message).toMatch(
      /^\.nopea\/services\/web\/current\.json on state branch nopea-state of remote origin at commit aaaaaaaaaaaa is corrupt: not valid JSON/,
    );
  });

  it('names the field that fails the schema', () => {
    const path = '.nopea/services/web/deploys/x.json';
    expect(() =>
      parseStateFile(DeployRecordSchema, JSON.stringify({ ...record, plan: {} }), { ...at, path }),
    ).toThrow(/deploys\/x\.json .* is corrupt: plan\.create: /);
  });

  it('refuses a file nested deeper than nopea writes before parsing it', () => {
    const path = resolveStatePath('web', statePaths.lastApplied(lastApplied.id));
    const nested = (depth: number): string =>
      serializeStateWrite(path, lastApplied).replace(
        '"rules": [',
        `"deep": ${'['.repeat(depth)}"]{[\\"{"${']'.repeat(depth)}, "rules": [`,
      );
    // As deep as the deepest manifest nopea accepts (256 levels) inside the file's two: read.
    expect(parseStateFile(LastAppliedSchema, nested(256), { ...at, path }).object).toHaveProperty('deep');
    let error: unknown;
    try {
      parseStateFile(LastAppliedSchema, nested(100_000), { ...at, path });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NopeaError);
    expect((error as NopeaError).kind).toBe('state');
    expect((error as NopeaError).message).toBe(
      `${path} on state branch nopea-state of remote origin at commit aaaaaaaaaaaa is corrupt: nested more than 512 levels deep, deeper than nopea writes` +
        '\n  hint: the file was changed outside nopea; repair or delete it in a new commit on that branch',
    );
  });

  it('accepts the current format', () => {
    expect(parseFormatFile('1\n', { ...at, path: '.nopea/format' })).toBe(1);
  });

  it('refuses a newer format instead of guessing', () => {
    expect(() => parseFormatFile('2\n', { ...at, path: '.nopea/format' })).toThrow(
      'state format 2 is newer than this nopea understands (1); upgrade nopea',
    );
  });

  it.each(['', 'one', '0', '1.5', '-1'])('reports a format file holding %j as corrupt', (text) => {
    expect(() => parseFormatFile(text, { ...at, path: '.nopea/format' })).toThrow(
      /\.nopea\/format .* is corrupt/,
    );
  });
});
