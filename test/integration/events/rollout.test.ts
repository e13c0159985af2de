// CDEvents and metrics of a progressive rollout with the real Kulta controller: a canary sync counts
// the rollout's phase transitions, one left at a gate gives service.upgraded (outcome paused), and
// `nopea rollback` from a later run gives service.rolledback in the same deploy's chain, with the
// move counted in the metrics it pushes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { CDEVENT_TYPES } from '../../../src/events/cdevents.js';
import { validEvent as valid } from '../../unit/events/cdevents-schemas.js';
import { startSink, type Sink } from '../../unit/events/sink.js';
import { output } from '../sync/scenario.js';
import { appFiles, nopea } from '../progressive/app.js';

const ns = useNamespace('events-rollout', { scope: 'all' });
let repo: TestRepo;
let events: Sink;
let gateway: Sink;

beforeAll(async () => {
  repo = await makeRepo({ files: appFiles('registry.example/web:1') });
  events = await startSink();
  gateway = await startSink();
});

afterAll(async () => {
  await events?.close();
  await gateway?.close();
  await repo?.cleanup();
});

const telemetry = (): string[] => ['--events-url', events.url, '--pushgateway-url', gateway.url];

describe('events of a progressive rollout', () => {
  it('a canary sync counts the rollout phase transitions it monitored', async () => {
    const base = ['sync', 'app', '-s', 'web', '-n', ns.name, '--strategy', 'canary'];
    const run = await nopea([...base, '--canary-steps', '100', '--timeout', '90s', ...telemetry()], repo);
    expect(run.code, output(run)).toBe(0);
    const [push] = await gateway.waitFor(1);
    expect(push!.url).toBe('/metrics/job/nopea/service/web');
    expect(push!.body).toMatch(
      /^nopea_rollout_phase_transitions_total\{service="web",from="none",to="[A-Za-z]+"\} 1$/m,
    );
    expect(push!.body).toContain(
      'nopea_deploys_total{service="web",strategy="canary",outcome="succeeded"} 1',
    );
    expect(valid((await events.waitFor(1))[0]!.body).type).toBe(CDEVENT_TYPES.deployed);
  });

  it('a rollout left at a gate is upgraded (paused); the later rollback is service.rolledback', async () => {
    for (const [file, text] of Object.entries(appFiles('registry.example/web:2')))
      await writeFile(path.join(repo.work, file), text);
    await repo.commitAll('web 2');
    const started = await nopea(
      [
        'sync',
        'app',
        '-s',
        'web',
        '-n',
        ns.name,
        '--strategy',
        'canary',
        '--canary-steps',
        '50:gate,100',
        '--no-wait',
        '-o',
        'json',
        ...telemetry(),
      ],
      repo,
    );
    expect(started.code, output(started)).toBe(4);
    const deployId = (JSON.parse(started.stdout) as { services: { deployId: string }[] }).services[0]!
      .deployId;
    const paused = valid((await events.waitFor(2))[1]!.body);
    expect(paused).toMatchObject({
      id: deployId,
      type: CDEVENT_TYPES.upgraded,
      data: { customData: { outcome: 'paused', strategy: 'canary', action: 'sync' } },
    });

    const rolled = await nopea(['rollback', '-s', 'web', '--timeout', '60s', ...telemetry()], repo);
    expect(rolled.code, output(rolled)).toBe(0);
    const back = valid((await events.waitFor(3))[2]!.body);
    expect(back).toMatchObject({
      type: CDEVENT_TYPES.rolledback,
      data: {
        context: { chainId: deployId },
        subject: { id: 'web', content: { environment: { id: ns.name } } },
        customData: { deployId, action: 'rollback', outcome: 'rolled-back', strategy: 'canary' },
      },
    });
    expect(back.id).not.toBe(deployId);
    const pushes = await gateway.waitFor(3);
    expect(pushes[2]!.body).toContain(
      'nopea_rollout_moves_total{service="web",action="rollback",outcome="rolled-back"} 1',
    );
  });
});
