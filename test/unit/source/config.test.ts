import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { loadConfig, parseConfig } from '../../../src/source/config.js';

let repo: string;

beforeEach(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'nopea-config-'));
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

function problems(text: string): { line: number | undefined; message: string; hint?: string }[] {
  try {
    parseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).kind).toBe('input');
    return (err as NopeaError).problems.map((p) => {
      expect(p.origin?.file).toBe('nopea.yaml');
      return p.hint
        ? { line: p.origin?.line, message: p.message, hint: p.hint }
        : { line: p.origin?.line, message: p.message };
    });
  }
  throw new Error('expected parseConfig to throw');
}

describe('loadConfig', () => {
  it('returns undefined when there is no nopea.yaml', async () => {
    expect(await loadConfig(repo)).toBeUndefined();
  });

  it('reads services with defaults applied', async () => {
    await writeFile(
      path.join(repo, 'nopea.yaml'),
      [
        'stateBranch: deploy/state',
        'stateRemote: origin',
        'services:',
        '  - name: web',
        '    paths: [deploy/web, deploy/shared]',
        '    namespace: web',
        '    strategy: canary',
        '  - name: api',
        '    paths: [deploy/api]',
        '    namespace: api',
        '    prune: false',
      ].join('\n'),
    );
    expect(await loadConfig(repo)).toEqual({
      stateBranch: 'deploy/state',
      stateRemote: 'origin',
      services: [
        {
          name: 'web',
          paths: ['deploy/web', 'deploy/shared'],
          namespace: 'web',
          strategy: 'canary',
          prune: true,
        },
        { name: 'api', paths: ['deploy/api'], namespace: 'api', prune: false },
      ],
    });
  });

  it('refuses a nopea.yaml that links into .git, without quoting it', async () => {
    await mkdir(path.join(repo, '.git'));
    await writeFile(
      path.join(repo, '.git/config'),
      '[http]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX0ZBS0U=\n',
    );
    await symlink('.git/config', path.join(repo, 'nopea.yaml'));
    const err = await loadConfig(repo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).problems).toEqual([
      expect.objectContaining({
        message: "symlink to .git/config resolves to .git/config, inside .git, git's own directory",
        origin: { file: 'nopea.yaml', line: 1 },
      }),
    ]);
    expect((err as NopeaError).message).not.toMatch(/extraheader|eC1h/);
  });

  it('tells to rename nopea.yml', async () => {
    await writeFile(path.join(repo, 'nopea.yml'), 'services: []\n');
    await expect(loadConfig(repo)).rejects.toThrow(/found nopea.yml, but nopea only reads nopea.yaml/);
  });
});

describe('parseConfig', () => {
  it('reports every problem at once, each at the line of its key, saying what is allowed', () => {
    const text = [
      'stateBrunch: main', // 1
      'services:', // 2
      '  - name: web', // 3
      '    paths: []', // 4
      '    namespace: web', // 5
      '    strategy: blue_green', // 6
      '  - name: api', // 7
      '    namespace: 42', // 8
      '    paths: [x]', // 9
      '    prune: yes', // 10
      '  - name: web', // 11
      '    paths: [y]', // 12
      '    namespace: web', // 13
    ].join('\n');
    expect(problems(text)).toEqual([
      {
        line: 1,
        message: 'unknown key "stateBrunch" in nopea.yaml',
        hint: 'did you mean "stateBranch"? allowed keys: services, stateBranch, stateRemote, memory, retention',
      },
      {
        line: 4,
        message: 'services[0].paths must not be empty',
        hint: 'list the manifest files or directories of the service, relative to the repository root',
      },
      {
        line: 6,
        message:
          'services[0].strategy must be one of "auto", "direct", "canary", "blue-green"; found the string "blue_green"',
      },
      { line: 8, message: 'services[1].namespace must be a string, found the number 42' },
      { line: 10, message: 'services[1].prune must be a boolean, found the string "yes"' },
      {
        line: 11,
        message: 'service "web" is declared twice (first on line 3)',
        hint: 'service names must be unique: state, inventory and prune are kept per service',
      },
    ]);
  });

  it('says which bounds a number is outside, and that a count is a whole number', () => {
    const svc = 'services: [{ name: web, paths: [k8s], namespace: web }]\n';
    const cases: [string, string][] = [
      ['memory: { canaryThreshold: 0 }', 'memory.canaryThreshold must be above 0, found the number 0'],
      ['memory: { canaryThreshold: 1 }', 'memory.canaryThreshold must be below 1, found the number 1'],
      ['retention: { deploys: 20000 }', 'retention.deploys must be at most 10000, found the number 20000'],
      ['retention: { deploys: 0 }', 'retention.deploys must be at least 1, found the number 0'],
      ['retention: { deploys: 1.5 }', 'retention.deploys must be a whole number, found the number 1.5'],
    ];
    for (const [text, message] of cases) {
      expect(problems(`${svc}${text}\n`).map((p) => p.message)).toEqual([message]);
    }
  });

  it('requires services and refuses a file that is not a mapping', () => {
    expect(problems('stateBranch: main\n')).toEqual([
      {
        line: 1,
        message: 'services is missing',
        hint: 'add e.g. services: [{ name: web, paths: [deploy/web], namespace: web }]',
      },
    ]);
    expect(problems('')[0]!.message).toMatch(/must be a mapping with a "services" list, found nothing/);
    expect(problems('- web\n')[0]!.message).toMatch(/found a list/);
  });

  it('rejects invalid branch names and YAML errors with lines', () => {
    const text = 'stateBranch: "bad..name"\nservices:\n  - {name: web, paths: [a], namespace: web}\n';
    expect(problems(text)).toEqual([
      { line: 1, message: 'stateBranch "bad..name" is not a valid git branch name' },
    ]);
    expect(problems('services:\n  - name: a\n    name: b\n')[0]).toMatchObject({
      line: 3,
      message: 'duplicate key "name" in the same mapping',
    });
  });

  it('rejects service namespaces that are no namespace name, such as a path', () => {
    const service = (namespace: string) =>
      `services:\n  - name: web\n    paths: [deploy]\n    namespace: ${JSON.stringify(namespace)}\n`;
    for (const namespace of ['../../etc', 'Not_Valid', 'x'.repeat(64)]) {
      expect(problems(service(namespace)), namespace).toEqual([
        {
          line: 4,
          message: `services[0].namespace ${JSON.stringify(namespace)} is not a valid namespace name: use lowercase letters, digits and "-", starting and ending with a letter or digit (DNS label, at most 63 characters)`,
        },
      ]);
    }
  });

  it('reads kustomize.allowRemote per service, false unless given, and checks its keys', () => {
    const text = (kustomize: string) =>
      `services:\n  - name: web\n    paths: [deploy]\n    namespace: web\n    kustomize: ${kustomize}\n`;
    expect(parseConfig(text('{ allowRemote: true }')).services[0]!.kustomize).toEqual({ allowRemote: true });
    expect(parseConfig(text('{}')).services[0]!.kustomize).toEqual({ allowRemote: false });
    expect(problems(text('{ allowRemotes: true }'))).toEqual([
      {
        line: 5,
        message: 'unknown key "allowRemotes" in services[0].kustomize',
        hint: 'did you mean "allowRemote"? allowed keys: allowRemote',
      },
    ]);
    expect(problems(text('{ allowRemote: "yes" }'))).toEqual([
      { line: 5, message: 'services[0].kustomize.allowRemote must be a boolean, found the string "yes"' },
    ]);
  });
});

describe('parseConfig: progressive delivery settings', () => {
  const service = (lines: string[]): string =>
    ['services:', '  - name: web', '    paths: [deploy]', '    namespace: web', ...lines].join('\n');

  it('reads canary steps, analysis and routes into values the Rollout builder takes', () => {
    const text = service([
      '    canary:', // 5
      '      steps:', // 6
      '        - { weight: 10, pause: 30s }', // 7
      '        - { weight: 50, pause: gate }', // 8
      '        - { weight: 75, pause: 1m30s }', // 9
      '        - { weight: 100 }', // 10
      '      analysis:', // 11
      '        warmupDuration: 2m', // 12
      '        metrics:', // 13
      '          - { name: error-rate, threshold: 5 }', // 14
      '          - { name: latency-p95, threshold: 0.5 }', // 15
      '      httpRoute: web', // 16
      '    blueGreen: { httpRoute: web-bg }', // 17
    ]);
    expect(parseConfig(text).services[0]).toEqual({
      name: 'web',
      paths: ['deploy'],
      namespace: 'web',
      prune: true,
      canary: {
        steps: [
          { weight: 10, pause: { seconds: 30 } },
          { weight: 50, pause: 'gate' },
          { weight: 75, pause: { seconds: 90 } },
          { weight: 100 },
        ],
        analysis: {
          warmupSeconds: 120,
          metrics: [
            { name: 'error-rate', threshold: 5 },
            { name: 'latency-p95', threshold: 0.5 },
          ],
        },
        httpRoute: 'web',
      },
      blueGreen: { httpRoute: 'web-bg' },
    });
  });

  it('leaves the steps out when none are written: the flag, else the default steps, apply', () => {
    expect(parseConfig(service(['    canary: { httpRoute: web }'])).services[0]!.canary).toEqual({
      httpRoute: 'web',
    });
  });

  it('refuses each mistake in a step at its line, saying what to write', () => {
    const text = service([
      '    canary:', // 5
      '      steps:', // 6
      '        - weight: ten', // 7
      '        - pause: 30s', // 8
      '        - weight: 150', // 9
      '        - weight: 20', // 10
      '          pause: 30', // 11
      '        - weight: 30', // 12
      '          pause: {}', // 13
      '        - weight: 40', // 14
      '          pause: 7d', // 15
      '        - weight: 50', // 16
      '          wait: 1m', // 17
      '        - weight: 100', // 18
    ]);
    const weightHint =
      'every step needs a weight from 0 to 100, e.g. weight: 25; Kulta rejects a step with only a pause: put the pause on the step with the weight';
    expect(problems(text)).toEqual([
      {
        line: 7,
        message: 'services[0].canary.steps[0].weight must be a number, found the string "ten"',
        hint: weightHint,
      },
      { line: 8, message: 'services[0].canary.steps[1].weight is missing', hint: weightHint },
      {
        line: 9,
        message:
          'services[0].canary.steps[2].weight must be a whole number from 0 to 100 (the percent of replicas on the new version), found 150',
      },
      {
        line: 11,
        message: 'services[0].canary.steps[3].pause needs a unit, found the number 30',
        hint: 'write 30s, 30m or 30h, or gate to wait for nopea promote',
      },
      {
        line: 13,
        message: 'services[0].canary.steps[4].pause must be a duration such as 30s, or gate, found a mapping',
        hint: "for Kulta's pause: {} (wait for a promote) write gate; for a timed pause a duration such as 30s",
      },
      {
        line: 15,
        message: 'services[0].canary.steps[5].pause "7d" is not a duration or gate',
        hint: 'Kulta has no unit for days: write 168h (at most 168h)',
      },
      {
        line: 17,
        message: 'unknown key "wait" in services[0].canary.steps[6]',
        hint: 'allowed keys: weight, pause',
      },
    ]);
  });

  it('refuses steps out of order at the line of the step', () => {
    const text = service([
      '    canary:', // 5
      '      steps:', // 6
      '        - { weight: 50, pause: gate }', // 7
      '        - { weight: 25, pause: 30s }', // 8
      '        - { weight: 100, pause: gate }', // 9
      '        - { weight: 90, pause: 48h }', // 10
    ]);
    expect(problems(text)).toEqual([
      {
        line: 8,
        message:
          'services[0].canary.steps[1].weight 25 is lower than the step before (50): weights must not go down',
        hint: 'a canary only moves forward; to go back to the old version, run nopea rollback',
      },
      {
        line: 9,
        message:
          'services[0].canary.steps[2].weight is 100 before the last step: a step of 100 ends the rollout',
        hint: 'lower it below 100, or make it the last step',
      },
      {
        line: 10,
        message:
          'services[0].canary.steps[3].weight 90 is lower than the step before (100): weights must not go down',
        hint: 'a canary only moves forward; to go back to the old version, run nopea rollback',
      },
      {
        line: 10,
        message: 'services[0].canary.steps[3].weight is 90 on the last step: the last step must be 100',
        hint: 'end with {weight: 100}: after its last step Kulta moves every replica to the new version anyway',
      },
    ]);
    expect(
      problems(service(['    canary:', '      steps:', '        - { weight: 100, pause: 1h }'])),
    ).toEqual([
      {
        line: 7,
        message:
          'services[0].canary.steps[0].pause is on the last step, which ends the rollout at 100: there is nothing left to wait for',
        hint: 'put the pause on the step before',
      },
    ]);
    expect(problems(service(['    canary: { steps: [] }']))).toEqual([
      {
        line: 5,
        message: 'services[0].canary.steps must not be empty',
        hint: 'list the steps, e.g. steps: [{weight: 10, pause: 30s}, {weight: 50, pause: gate}, {weight: 100}]',
      },
    ]);
  });

  it('accepts only the two metrics Kulta computes, each with a threshold in its unit', () => {
    const text = service([
      '    canary:', // 5
      '      analysis:', // 6
      '        warmupDuration: 90', // 7
      '        metrics:', // 8
      '          - name: error-rate', // 9
      '            threshold: 0', // 10
      '          - name: latency-p95', // 11
      '            threshold: 500', // 12
      '          - name: latency-p99', // 13
      '            threshold: 1', // 14
      '          - name: error-rate', // 15
      '            threshold: 5', // 16
      '            interval: 30s', // 17
      '          - threshold: 5', // 18
      '        failurePolicy: Rollback', // 19
    ]);
    expect(problems(text)).toEqual([
      {
        line: 10,
        message:
          'services[0].canary.analysis.metrics[0].threshold must be a percentage above 0 and at most 100, found 0',
        hint: 'error-rate is the percent of requests answered with a 5xx; e.g. threshold: 5 fails the canary from 5% on',
      },
      {
        line: 12,
        message:
          'services[0].canary.analysis.metrics[1].threshold must be a number of seconds above 0 and at most 60, found 500',
        hint: 'latency-p95 is in seconds: threshold: 0.5 fails the canary from 500 ms on',
      },
      {
        line: 13,
        message:
          'services[0].canary.analysis.metrics[2].name must be one of "error-rate", "latency-p95"; found the string "latency-p99"',
        hint: 'Kulta computes only error-rate (percent of 5xx responses) and latency-p95 (seconds) from Prometheus',
      },
      {
        line: 17,
        message: 'unknown key "interval" in services[0].canary.analysis.metrics[3]',
        hint: 'allowed keys: name, threshold',
      },
      {
        line: 18,
        message: 'services[0].canary.analysis.metrics[4].name is missing',
        hint: 'Kulta computes only error-rate (percent of 5xx responses) and latency-p95 (seconds) from Prometheus',
      },
      {
        line: 19,
        message: 'unknown key "failurePolicy" in services[0].canary.analysis',
        hint: 'allowed keys: metrics, warmupDuration',
      },
    ]);
  });

  it('refuses a metric listed twice, a warm-up Kulta cannot read and an analysis without metrics', () => {
    const text = service([
      '    canary:', // 5
      '      analysis:', // 6
      '        warmupDuration: 1m30', // 7
      '        metrics:', // 8
      '          - { name: error-rate, threshold: 5 }', // 9
      '          - { name: error-rate, threshold: 2 }', // 10
    ]);
    expect(problems(text)).toEqual([
      {
        line: 7,
        message: 'services[0].canary.analysis.warmupDuration "1m30" is not a duration',
        hint: 'write whole seconds, minutes or hours (30s, 5m, 1h30m)',
      },
      {
        line: 10,
        message: 'services[0].canary.analysis.metrics[1].name "error-rate" is listed twice',
        hint: 'give each metric one threshold',
      },
    ]);
    expect(problems(service(['    canary: { analysis: { warmupDuration: 1m } }']))).toEqual([
      {
        line: 5,
        message: 'services[0].canary.analysis.metrics is missing',
        hint: 'e.g. metrics: [{name: error-rate, threshold: 5}, {name: latency-p95, threshold: 0.5}]',
      },
    ]);
  });

  it('checks the keys of canary and blueGreen and the HTTPRoute names', () => {
    const text = service([
      '    canary:', // 5
      '      step: []', // 6
      '      httpRoute: "routes/web"', // 7
      '    blueGreen:', // 8
      '      previewService: web-preview', // 9
      '      httpRoute: 42', // 10
    ]);
    expect(problems(text)).toEqual([
      {
        line: 6,
        message: 'unknown key "step" in services[0].canary',
        hint: 'did you mean "steps"? allowed keys: steps, analysis, httpRoute',
      },
      {
        line: 7,
        message:
          'services[0].canary.httpRoute "routes/web" contains "/", which no Kubernetes name may contain',
      },
      {
        line: 9,
        message: 'unknown key "previewService" in services[0].blueGreen',
        hint: 'allowed keys: httpRoute',
      },
      {
        line: 10,
        message: 'services[0].blueGreen.httpRoute must be a string, found the number 42',
        hint: 'name the Gateway API HTTPRoute Kulta switches to the preview, e.g. httpRoute: web',
      },
    ]);
  });

  it('refuses two services on one HTTPRoute in a namespace, but not one service using it for both strategies', () => {
    const text = [
      'services:', // 1
      '  - { name: web, paths: [a], namespace: shop, canary: { httpRoute: shop }, blueGreen: { httpRoute: shop } }', // 2
      '  - { name: api, paths: [b], namespace: shop, blueGreen: { httpRoute: shop } }', // 3
      '  - { name: admin, paths: [c], namespace: admin, canary: { httpRoute: shop } }', // 4
    ].join('\n');
    expect(problems(text)).toEqual([
      {
        line: 3,
        message: 'HTTPRoute "shop" in namespace shop is already the route of service "web" (line 2)',
        hint: "give each service its own HTTPRoute: Kulta rewrites a route's rules for one Rollout, so two would overwrite each other's weights",
      },
    ]);
  });
});
