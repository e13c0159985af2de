// CDEvents and the Pushgateway push of a real `nopea sync`: a first deploy gives service.deployed, a
// changed image service.upgraded, pruning the workload service.removed (with environment.modified);
// every event is checked against the official CDEvents schemas. Delivery is retried past a 500, and
// a sink that is down is a warning, never a failed deploy. The steps build on each other, so they
// run in order on one namespace, one repository and one loopback sink.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';
import type { NopeaRun } from '../../helpers/nopea.js';
import { CDEVENT_TYPES, type CloudEvent } from '../../../src/events/cdevents.js';
import { validEvent } from '../../unit/events/cdevents-schemas.js';
import { deadUrl, startSink, type Received, type Sink } from '../../unit/events/sink.js';
import { jsonOf, output, scenario, syncCli } from '../sync/scenario.js';

const SERVICE = 'events-web';
const ns = useNamespace('events', { scope: 'all' });
let repo: TestRepo;
let events: Sink;
let gateway: Sink;
/** How the events sink answers the n-th request of the current step. */
let answer: (n: number) => number = () => 200;
let offset = 0;

beforeAll(async () => {
  repo = await makeRepo({
    files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'app'),
  });
  events = await startSink((n) => answer(n - offset));
  gateway = await startSink();
});

afterAll(async () => {
  await events?.close();
  await gateway?.close();
  await repo?.cleanup();
});

function sync(...extra: string[]): Promise<NopeaRun> {
  return syncCli(['app', '-s', SERVICE, '-n', ns.name, '--timeout', '60s', '-o', 'json', ...extra], {
    cwd: repo.work,
  });
}

/** A sync whose events go to the sink, answered by `how`; resolves to the run and the requests it made. */
async function syncWithEvents(
  how: (n: number) => number,
  ...extra: string[]
): Promise<{ run: NopeaRun; got: Received[] }> {
  offset = events.received.length;
  answer = how;
  const run = await sync('--events-url', `${events.url}/cdevents`, ...extra);
  return { run, got: events.received.slice(offset) };
}

/** The services of a `-o json` run, with the warnings the tests read. */
function services(
  run: NopeaRun,
): (ReturnType<typeof jsonOf>['services'][number] & { warnings?: string[] })[] {
  return jsonOf(run).services;
}

function parsed(got: Received[]): CloudEvent[] {
  return got.map((r) => {
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/cdevents');
    expect(r.headers['content-type']).toBe('application/cloudevents+json');
    return validEvent(r.body);
  });
}

async function setTag(tag: string): Promise<string> {
  const file = path.join(repo.work, 'app', 'deployment.yaml');
  const files = await scenario('web', { TAG: tag, REPLICAS: '1', MIN_READY: '0' }, 'app');
  await writeFile(file, files['app/deployment.yaml']!);
  return repo.commitAll(`web ${tag}`);
}

/** Every sample line of Prometheus text must parse; returns the samples by series. */
function promSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

describe('events of nopea sync', () => {
  it('a first deploy gives service.deployed, and its metrics reach the Pushgateway', async () => {
    const head = await git(repo.work, 'rev-parse', 'HEAD');
    const { run, got } = await syncWithEvents(() => 200, '--pushgateway-url', gateway.url);
    expect(run.code, output(run)).toBe(0);
    const [service] = jsonOf(run).services;
    expect(service!.outcome).toBe('succeeded');
    const [event, ...rest] = parsed(got);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      id: service!.deployId,
      type: CDEVENT_TYPES.deployed,
      data: {
        subject: {
          id: SERVICE,
          content: { environment: { id: ns.name }, artifactId: `pkg:generic/${SERVICE}@${head}` },
        },
        customData: {
          deployId: service!.deployId,
          outcome: 'succeeded',
          sourceCommit: head,
          strategy: 'direct',
        },
      },
    });

    const [push, ...more] = await gateway.waitFor(1);
    expect(more).toEqual([]);
    expect(push!.method).toBe('PUT');
    expect(push!.url).toBe(`/metrics/job/nopea/service/${SERVICE}`);
    const samples = promSamples(push!.body);
    expect(
      samples.get(`nopea_deploys_total{service="${SERVICE}",strategy="direct",outcome="succeeded"}`),
    ).toBe(1);
    expect(samples.get(`nopea_plan_objects_total{service="${SERVICE}",class="create"}`)).toBe(2);
    expect(
      samples.get(
        `nopea_deploy_duration_seconds_count{service="${SERVICE}",strategy="direct",outcome="succeeded"}`,
      ),
    ).toBe(1);
    expect(samples.get('nopea_kube_api_requests_total{verb="apply",code="201"}')).toBeGreaterThanOrEqual(2);
    expect(samples.get('nopea_kube_api_requests_total{verb="discovery",code="200"}')).toBeGreaterThan(0);
  });

  it('a changed image gives service.upgraded', async () => {
    const head = await setTag('1.1.0');
    const { run, got } = await syncWithEvents(() => 200);
    expect(run.code, output(run)).toBe(0);
    const [event, ...rest] = parsed(got);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      id: jsonOf(run).services[0]!.deployId,
      type: CDEVENT_TYPES.upgraded,
      data: { customData: { outcome: 'succeeded', sourceCommit: head } },
    });
  });

  it('a resync that changes nothing sends nothing', async () => {
    const { run, got } = await syncWithEvents(() => 200);
    expect(run.code, output(run)).toBe(0);
    expect(jsonOf(run).services[0]!.inSync).toBe(true);
    expect(got).toEqual([]);
  });

  it('pruning the workload gives service.removed and environment.modified', async () => {
    await rm(path.join(repo.work, 'app', 'deployment.yaml'));
    await repo.commitAll('retire web');
    const { run, got } = await syncWithEvents(() => 200);
    expect(run.code, output(run)).toBe(0);
    const deployId = jsonOf(run).services[0]!.deployId;
    const byType = new Map(parsed(got).map((e) => [e.type, e]));
    expect([...byType.keys()].sort()).toEqual(
      [CDEVENT_TYPES.environmentModified, CDEVENT_TYPES.removed].sort(),
    );
    expect(byType.get(CDEVENT_TYPES.removed)).toMatchObject({
      id: deployId,
      data: { subject: { id: SERVICE, content: { environment: { id: ns.name } } } },
    });
    expect(byType.get(CDEVENT_TYPES.environmentModified)).toMatchObject({
      data: {
        context: { chainId: deployId },
        subject: { id: ns.name, type: 'environment' },
        customData: { pruned: [`apps/Deployment/${ns.name}/web`] },
      },
    });
  });

  it('delivers after a retry when the sink answers 500 first; a redeploy is service.deployed again', async () => {
    await setTag('1.2.0');
    const { run, got } = await syncWithEvents((n) => (n === 1 ? 500 : 200));
    expect(run.code, output(run)).toBe(0);
    expect(got).toHaveLength(2);
    expect(got[1]!.body).toBe(got[0]!.body);
    const [event] = parsed([got[1]!]);
    expect(event!.type).toBe(CDEVENT_TYPES.deployed);
    expect(services(run)[0]!.warnings ?? []).toEqual([]);
    expect(run.stderr).not.toContain('not delivered');
  });

  it('a sink that is down is a warning, and the deploy still succeeds', async () => {
    await setTag('1.3.0');
    const down = await deadUrl();
    const run = await sync('--events-url', down, '--pushgateway-url', down);
    expect(run.code, output(run)).toBe(0);
    const [service] = services(run);
    expect(service!.outcome).toBe('succeeded');
    expect(service!.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^event dev\.cdevents\.service\.upgraded\.0\.2\.0 \S+ not delivered to http:\/\/127\.0\.0\.1:\d+\/ after \d attempt\(s\)/,
        ),
        expect.stringMatching(/^metrics of events-web not pushed to the Pushgateway/),
      ]),
    );
    expect(run.stderr).toMatch(/warning: events-web: event .* not delivered/);
  });

  it('NOPEA_EVENTS_URL names the sink when no flag does', async () => {
    await setTag('1.4.0');
    offset = events.received.length;
    answer = () => 200;
    const run = await syncCli(['app', '-s', SERVICE, '-n', ns.name, '--timeout', '60s'], {
      cwd: repo.work,
      env: { NOPEA_EVENTS_URL: `${events.url}/cdevents` },
    });
    expect(run.code, output(run)).toBe(0);
    const [event] = parsed(events.received.slice(offset));
    expect(event!.type).toBe(CDEVENT_TYPES.upgraded);
  });
});
