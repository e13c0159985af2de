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
