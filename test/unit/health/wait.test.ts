// The wait loop against a loopback API server whose objects the test sets, on a clock the test
// drives: the poll rhythm (pollMs growing by half to maxPollMs, woken at a grace period's end), its
// bounds, and what it makes of a Job that is gone.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/cluster/client.js';
import { waitForHealth, type HealthTarget } from '../../../src/health/wait.js';
import type { Clock } from '../../../src/poll.js';
import { builtinCatalog, ResourceCatalog, type ResourceType } from '../../../src/resources/catalog.js';
import type { KubeObject } from '../../../src/resources/object.js';

/** What the server answers, by path; a function is called per request. Anything else is 404. */
let routes: Map<string, unknown | (() => unknown)>;
let server: http.Server;
let client: KubeClient;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes.get(path);
    const body = typeof route === 'function' ? (route as () => unknown)() : route;
    res.setHeader('content-type', 'application/json');
    if (body === undefined) {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client = new KubeClient(
    { server: url, agent: new http.Agent(), headers: async () => ({}) },
    { maxAttempts: 1 },
  );
});

afterAll(async () => {
  client.close();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  routes = new Map();
});

const eventType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
  verbs: ['list'],
};
const catalog = new ResourceCatalog([...builtinCatalog().types(), eventType], true);
const jobType = catalog.lookup('batch/v1', 'Job').found!;
const podType = catalog.lookup('v1', 'Pod').found!;
const JOB_PATH = '/apis/batch/v1/namespaces/web/jobs/migrate';
const EVENTS_PATH = '/api/v1/namespaces/web/events';

/** A clock that moves only when the loop sleeps, recording every sleep. */
function fakeClock(): Clock & { sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: (ms) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

function job(conditions: { type: string; status: string }[] = []): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', namespace: 'web', uid: 'uid-now' },
    spec: { template: { spec: { containers: [{ name: 'migrate', image: 'migrate:v1' }] } } },
    status: { active: 1, conditions },
  };
}

const jobTarget = (uid?: string): HealthTarget => ({ id: 'batch/Job/web/migrate', type: jobType, uid });

describe('waitForHealth rhythm', () => {
  it('polls at pollMs, growing by half up to maxPollMs, until the timeout', async () => {
    routes.set(JOB_PATH, job());
    const clock = fakeClock();
    const report = await waitForHealth(client, catalog, [jobTarget()], {
      timeoutMs: 15_000,
      pollMs: 1_000,
      maxPollMs: 3_000,
      clock,
    });
    expect(report).toMatchObject({ ok: false, timedOut: true, aborted: false, durationMs: 15_000 });
    expect(clock.sleeps).toEqual([1_000, 1_500, 2_250, 3_000, 3_000, 3_000, 1_250]);
    expect(report.polls).toBe(8);
  });

  it('wakes early when a pod problem’s grace period ends', async () => {
    routes.set('/api/v1/namespaces/web/pods/p', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'web', uid: 'pod-uid' },
      spec: { containers: [{ name: 'app', image: 'app:fail-pull' }] },
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
          },
        ],
      },
    });
    const clock = fakeClock();
    const report = await waitForHealth(client, catalog, [{ id: '/Pod/web/p', type: podType }], {
      timeoutMs: 60_000,
      pollMs: 1_000,
      failGraceMs: 2_000,
      clock,
    });
    expect(report).toMatchObject({ ok: false, timedOut: false, durationMs: 2_000, polls: 3 });
    expect(report.objects[0]).toMatchObject({ state: 'failed', reason: 'ImagePullBackOff' });
    // 1 s, then the grace period's end (1 s later) instead of the next interval (1.5 s).
    expect(clock.sleeps).toEqual([1_000, 1_000]);
  });

  it('is bounded by a poll count when the clock never moves', async () => {
    routes.set(JOB_PATH, job());
    const still: Clock = { now: () => 0, sleep: () => Promise.resolve() };
    const report = await waitForHealth(client, catalog, [jobTarget()], {
      timeoutMs: 5_000,
      pollMs: 1_000,
      clock: still,
    });
    expect(report).toMatchObject({ ok: false, timedOut: true, polls: 20 });
  });

  it('stops without a poll when the signal has aborted', async () => {
    routes.set(JOB_PATH, job());
    const report = await waitForHealth(client, catalog, [jobTarget()], {
      signal: AbortSignal.abort(),
      clock: fakeClock(),
    });
    expect(report).toMatchObject({ ok: false, aborted: true, timedOut: false, polls: 0 });
  });
});

describe('waitForHealth from objects just read', () => {
  const cmType = catalog.lookup('v1', 'ConfigMap').found!;
  const cm = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'web', uid: `uid-${name}` },
  });
  const target = (name: string): HealthTarget => ({ id: `/ConfigMap/web/${name}`, type: cmType });

  it('judges its first poll from them without a request, and reads what they lack', async () => {
    // The server has neither: a read would find them missing.
    const seen = new Map([['/ConfigMap/web/a', cm('a')]]);
    const report = await waitForHealth(client, catalog, [target('a')], { seen, clock: fakeClock() });
    expect(report).toMatchObject({ ok: true, polls: 1, requests: 0 });

    routes.set('/api/v1/namespaces/web/configmaps/b', cm('b'));
    const partly = await waitForHealth(client, catalog, [target('a'), target('b')], {
      seen,
      timeoutMs: 3_000,
      clock: fakeClock(),
    });
    // What they lack is read, and so is the rest of that poll's targets: one look at one moment.
    expect(partly).toMatchObject({ ok: false, timedOut: true });
    expect(partly.requests).toBeGreaterThan(0);
    expect(partly.objects.find((o) => o.id === '/ConfigMap/web/b')).toMatchObject({ state: 'ready' });
  });
});

describe('waitForHealth on a Job that is gone', () => {
  const completed = (uid: string) => ({
    items: [
      {
        reason: 'Completed',
        message: 'Job completed',
        source: { component: 'job-controller' },
        involvedObject: { kind: 'Job', namespace: 'web', name: 'migrate', uid },
      },
    ],
  });

  it('is ready at the first look when the job controller recorded it Completed', async () => {
    routes.set(EVENTS_PATH, completed('uid-now'));
    const report = await waitForHealth(client, catalog, [jobTarget('uid-now')], { clock: fakeClock() });
    expect(report.ok).toBe(true);
    expect(report.objects[0]).toMatchObject({ state: 'ready', reason: 'DeletedAfterCompletion' });
    expect(report.polls).toBe(1);
  });

  it('is ready when it vanishes after a poll saw its success criteria met', async () => {
    let gets = 0;
    routes.set(JOB_PATH, () =>
      ++gets === 1 ? job([{ type: 'SuccessCriteriaMet', status: 'True' }]) : undefined,
    );
    routes.set(EVENTS_PATH, { items: [] });
    const report = await waitForHealth(client, catalog, [jobTarget()], { clock: fakeClock() });
    expect(report.ok).toBe(true);
    expect(report.polls).toBe(2);
  });

  it('is ready when it vanishes while running and the Completed event of its uid turns up', async () => {
    let gets = 0;
    routes.set(JOB_PATH, () => (++gets === 1 ? job() : undefined));
    // Learns the uid from the first poll: the target does not carry one.
    routes.set(EVENTS_PATH, completed('uid-now'));
    const report = await waitForHealth(client, catalog, [jobTarget()], { clock: fakeClock() });
    expect(report.ok).toBe(true);
  });

  it('stays not found until the timeout without either', async () => {
    routes.set(EVENTS_PATH, completed('uid-before'));
    const report = await waitForHealth(client, catalog, [jobTarget('uid-now')], {
      timeoutMs: 5_000,
      clock: fakeClock(),
    });
    expect(report).toMatchObject({ ok: false, timedOut: true });
    expect(report.objects[0]).toMatchObject({
      state: 'progressing',
      reason: 'NotFound',
      message: 'not found',
    });
  });
});
