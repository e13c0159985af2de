import { describe, expect, it } from 'vitest';
import {
  CDEVENT_TYPES,
  CLOUDEVENTS_CONTENT_TYPE,
  environmentChanges,
  serviceEvent,
  serviceEventKind,
  syncEvents,
  type SyncFacts,
} from '../../../src/events/cdevents.js';
import { cdeventErrors, envelopeErrors } from './cdevents-schemas.js';

const ID = '01J9Z8Q4W3M6N2P5R7T9V1X3Y5';
const TIME = new Date('2026-12-01T10:00:00.000Z');
const DEPLOYMENT = 'apps/Deployment/shop/web';
const CONFIG = '/ConfigMap/shop/web-config';

function facts(extra: Partial<SyncFacts> = {}): SyncFacts {
  return {
    service: 'web',
    namespace: 'shop',
    deployId: ID,
    outcome: 'succeeded',
    strategy: { name: 'direct' },
    source: { commit: 'abc123', repo: 'https://example.com/acme/web.git', ref: 'refs/heads/main' },
    plan: {
      entries: [
        { id: DEPLOYMENT, action: 'create' },
        { id: CONFIG, action: 'create' },
      ],
    },
    objects: [
      { id: DEPLOYMENT, action: 'created' },
      { id: CONFIG, action: 'created' },
    ],
    ...extra,
  };
}

function expectValid(events: ReturnType<typeof syncEvents>): void {
  for (const e of events) {
    expect(envelopeErrors(e), e.type).toEqual([]);
    expect(cdeventErrors(e), e.type).toEqual([]);
  }
}

describe('serviceEventKind', () => {
  it('is deployed when none of the service workloads existed before', () => {
    expect(serviceEventKind(facts())).toBe('deployed');
  });

  it('is upgraded when a workload was there (updated, unchanged or replaced)', () => {
    const plan = {
      entries: [
        { id: DEPLOYMENT, action: 'update' },
        { id: CONFIG, action: 'create' },
      ],
    };
    expect(serviceEventKind(facts({ plan }))).toBe('upgraded');
    const toCanary = {
      entries: [
        { id: 'kulta.io/Rollout/shop/web', action: 'create' },
        { id: DEPLOYMENT, action: 'prune' },
      ],
    };
    expect(serviceEventKind(facts({ plan: toCanary, objects: [] }))).toBe('upgraded');
  });

  it('without workloads, looks at every object', () => {
    expect(serviceEventKind(facts({ plan: { entries: [{ id: CONFIG, action: 'create' }] } }))).toBe(
      'deployed',
    );
    expect(serviceEventKind(facts({ plan: { entries: [{ id: CONFIG, action: 'drift' }] } }))).toBe(
      'upgraded',
    );
  });

  it('is rolledback when the rollout was rolled back', () => {
    expect(serviceEventKind(facts({ outcome: 'rolled-back', rolledBack: true }))).toBe('rolledback');
  });

  it('is removed when the sync pruned the last workload', () => {
    const removed = facts({
      plan: {
        entries: [
          { id: CONFIG, action: 'unchanged' },
          { id: DEPLOYMENT, action: 'prune' },
        ],
      },
      objects: [
        { id: CONFIG, action: 'unchanged' },
        { id: DEPLOYMENT, action: 'pruned' },
      ],
    });
    expect(serviceEventKind(removed)).toBe('removed');
    // A prune the guard stopped removed nothing.
    expect(serviceEventKind({ ...removed, objects: [{ id: CONFIG, action: 'unchanged' }] })).toBe('upgraded');
  });
});

describe('syncEvents', () => {
  it('gives a valid service.deployed in a structured CloudEvents envelope, id = deploy id', () => {
    const events = syncEvents(facts(), TIME, '0.1.0');
    expect(events).toHaveLength(1);
    expectValid(events);
    const [e] = events;
    expect(e).toMatchObject({
      specversion: '1.0',
      id: ID,
      type: CDEVENT_TYPES.deployed,
      source: '/nopea/web',
      time: TIME.toISOString(),
      datacontenttype: 'application/json',
      data: {
        context: { version: '0.4.1', id: ID, type: 'dev.cdevents.service.deployed.0.2.0', chainId: ID },
        subject: {
          id: 'web',
          type: 'service',
          content: { environment: { id: 'shop' }, artifactId: 'pkg:generic/web@abc123' },
        },
        customData: {
          deployId: ID,
          outcome: 'succeeded',
          strategy: 'direct',
          sourceCommit: 'abc123',
          sourceRef: 'refs/heads/main',
          action: 'sync',
          nopeaVersion: '0.1.0',
        },
      },
    });
    expect(CLOUDEVENTS_CONTENT_TYPE).toBe('application/cloudevents+json');
  });

  it('every service event kind is valid against its official schema', () => {
    for (const kind of ['deployed', 'upgraded', 'rolledback', 'removed'] as const) {
      const e = serviceEvent(kind, {
        deployId: ID,
        service: 'web',
        action: kind === 'rolledback' ? 'rollback' : 'sync',
        outcome: 'succeeded',
        time: TIME,
      });
      expect(e.type).toBe(CDEVENT_TYPES[kind]);
      expectValid([e]);
    }
  });

  it('a later promote or rollback of the same deploy gets its own id, in the deploy chain', () => {
    const e = serviceEvent('rolledback', {
      deployId: ID,
      service: 'web',
      action: 'rollback',
      outcome: 'rolled-back',
      time: TIME,
    });
    expect(e.id).not.toBe(ID);
    expect(e.id.startsWith(`${ID}.rollback.`)).toBe(true);
    expect(e.data.context.chainId).toBe(ID);
  });

  it('adds environment.modified per namespace with pruned objects or a Namespace written', () => {
    const s = facts({
      plan: {
        entries: [
          { id: DEPLOYMENT, action: 'update' },
          { id: '/Namespace//shop', action: 'create' },
          { id: '/Secret/other/token', action: 'prune' },
        ],
      },
      objects: [
        { id: DEPLOYMENT, action: 'configured' },
        { id: '/Namespace//shop', action: 'created' },
        { id: '/Secret/other/token', action: 'pruned' },
      ],
    });
    expect(environmentChanges(s)).toEqual([
      { namespace: 'shop', pruned: [], namespaceObject: 'created' },
      { namespace: 'other', pruned: ['/Secret/other/token'] },
    ]);
    const events = syncEvents(s, TIME);
    expect(events.map((e) => e.type)).toEqual([
      CDEVENT_TYPES.upgraded,
      CDEVENT_TYPES.environmentModified,
      CDEVENT_TYPES.environmentModified,
    ]);
    expectValid(events);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(events[2]!.data.subject).toMatchObject({
      id: 'other',
      type: 'environment',
      content: { name: 'other' },
    });
  });

  it('carries ids, never object content: no Secret value reaches an event', () => {
    const secret = 'c3VwZXItc2VjcmV0LXZhbHVl';
    const s = {
      ...facts(),
      objects: [
        {
          id: '/Secret/shop/db',
          action: 'created',
          intent: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: secret } },
        },
      ],
    };
    expect(JSON.stringify(syncEvents(s, TIME))).not.toContain(secret);
  });

  it('the schema check is real: a deployed event without artifactId, or with a wrong type, fails', () => {
    const [e] = syncEvents(facts(), TIME);
    const { artifactId: _artifactId, ...content } = e!.data.subject.content;
    expect(
      cdeventErrors({ ...e!, data: { ...e!.data, subject: { ...e!.data.subject, content } } }),
    ).not.toEqual([]);
    const wrong = { ...e!.data.context, type: 'dev.cdevents.service.deployed.0.1.0' };
    expect(cdeventErrors({ ...e!, data: { ...e!.data, context: wrong } })).not.toEqual([]);
  });

  it('falls back to the deploy id as the artifact version without a source commit', () => {
    const [e] = syncEvents(facts({ source: {} }), TIME);
    expect(e!.data.subject.content.artifactId).toBe(`pkg:generic/web@${ID}`);
    expectValid([e!]);
  });
});
