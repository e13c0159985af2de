import { afterEach, describe, expect, it } from 'vitest';
import { CDEVENT_TYPES, type CloudEvent } from '../../../src/events/cdevents.js';
import { RunTelemetry, telemetryOptions, type SyncReport } from '../../../src/events/telemetry.js';
import { cdeventErrors } from './cdevents-schemas.js';
import { startSink, type Sink } from './sink.js';

const ID = '01J9Z8Q4W3M6N2P5R7T9V1X3Y5';
const COUNTS = { create: 1, update: 0, drift: 0, conflict: 0, unchanged: 0, prune: 0 };

function report(extra: Partial<SyncReport> = {}): SyncReport {
  return {
    service: 'web',
    namespace: 'shop',
    deployId: ID,
    outcome: 'succeeded',
    durationMs: 2_000,
    stateCommit: 'f00d',
    strategy: { name: 'direct' },
    plan: { entries: [{ id: 'apps/Deployment/shop/web', action: 'create' }], counts: COUNTS },
    objects: [{ id: 'apps/Deployment/shop/web', action: 'created' }],
    ...extra,
  };
}

let sinks: Sink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});
async function sink(answer?: (n: number) => number): Promise<Sink> {
  const s = await startSink(answer);
  sinks.push(s);
  return s;
}

describe('telemetryOptions', () => {
  it('takes the flags, then NOPEA_EVENTS_URL and NOPEA_PUSHGATEWAY_URL; empty is unset', () => {
    const env = { NOPEA_EVENTS_URL: 'http://e', NOPEA_PUSHGATEWAY_URL: ' ' };
    expect(telemetryOptions({}, env)).toEqual({ eventsUrl: 'http://e' });
    expect(telemetryOptions({ eventsUrl: 'http://flag', pushgatewayUrl: 'http://g' }, env)).toEqual({
      eventsUrl: 'http://flag',
      pushgatewayUrl: 'http://g',
    });
  });
});

describe('RunTelemetry', () => {
  // First in the file: loading the process-wide registry (as a push does) is for the whole process.
  it('keeps metrics only when it pushes them or the process keeps its own', async () => {
    const { currentRun } = await import('../../../src/metrics/scope.js');
    const quiet = new RunTelemetry({});
    expect(await quiet.run(async () => currentRun())).toBeUndefined();
    quiet.serviceStarts('web');
    quiet.syncEnded(report());
    expect(await quiet.finish()).toEqual(new Map());
    const pushing = new RunTelemetry({ pushgatewayUrl: 'http://127.0.0.1:9/' });
    expect(await pushing.run(async () => currentRun())).toBeDefined();
    // The registry is loaded now, as in `nopea serve`, which exposes it: every run keeps metrics.
    expect(await new RunTelemetry({}).run(async () => currentRun())).toBeDefined();
  });

  it('sends the events of real deploys only, and pushes each service once', async () => {
    const events = await sink();
    const gateway = await sink();
    const t = new RunTelemetry({ eventsUrl: events.url, pushgatewayUrl: gateway.url });
    await t.run(async () => {
      t.serviceStarts('web');
      t.syncEnded(report());
      t.serviceStarts('api');
      t.syncEnded(report({ service: 'api', deployId: `${ID}A`, inSync: true, stateCommit: undefined }));
      t.syncEnded(report({ service: 'dry', outcome: 'dry-run' }));
    });
    expect(await t.finish()).toEqual(new Map());
    expect(events.received).toHaveLength(1);
    const event = JSON.parse(events.received[0]!.body) as CloudEvent;
    expect(event.type).toBe(CDEVENT_TYPES.deployed);
    expect(cdeventErrors(event)).toEqual([]);
    expect(gateway.received.map((r) => r.url).sort()).toEqual([
      '/metrics/job/nopea/service/api',
      '/metrics/job/nopea/service/web',
    ]);
    const api = gateway.received.find((r) => r.url.endsWith('/api'))!.body;
    expect(api).toContain('nopea_deploys_total{service="api",strategy="direct",outcome="in-sync"} 1');
    expect(api).not.toContain('service="web"');
  });

  it('sends a rolledback event for a rollback, none for a move handed over to the deploy run', async () => {
    const events = await sink();
    const t = new RunTelemetry({ eventsUrl: events.url });
    const move = { service: 'web', deployId: ID, namespace: 'shop', strategy: 'canary' };
    t.moveEnded({ ...move, action: 'promote', outcome: 'handed-over' });
    t.moveEnded({ ...move, action: 'rollback', outcome: 'rolled-back', source: { commit: 'abc' } });
    expect(await t.finish()).toEqual(new Map());
    expect(events.received).toHaveLength(1);
    const event = JSON.parse(events.received[0]!.body) as CloudEvent;
    expect(event.type).toBe(CDEVENT_TYPES.rolledback);
    expect(event.data.context.chainId).toBe(ID);
    expect(cdeventErrors(event)).toEqual([]);
  });

  it('returns what it could not deliver as warnings by service; never throws', async () => {
    const events = await sink(() => 400);
    const t = new RunTelemetry({ eventsUrl: events.url });
    t.syncEnded(report());
    // A malformed result is a warning too.
    t.syncEnded({ ...report({ service: 'bad' }), objects: [{ id: 'not-an-id', action: 'pruned' }] });
    const warnings = await t.finish();
    expect(warnings.get('web')).toEqual([expect.stringMatching(/not delivered .*: HTTP 400/)]);
    expect(warnings.get('bad')).toEqual([
      expect.stringMatching(/metrics or events not recorded: not a resource id/),
    ]);
  });
});
