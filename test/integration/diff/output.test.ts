// What `nopea diff` prints where: JSON alone on stdout, messages on stderr, no colour unless asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';
import { clusterFlags, type DiffJson } from './support.js';

const APP = {
  'app/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  mode: fast\n',
  'app/web.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  selector:',
    '    matchLabels: {app: web}',
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: nginx:1.27',
    '',
  ].join('\n'),
};

// Any ANSI escape sequence (colours, bold): ESC followed by `[`.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

describe('nopea diff output', () => {
  const ns = useNamespace('diff-output', { scope: 'all' });
  let repo: TestRepo;

  beforeAll(async () => {
    repo = await makeRepo({ files: { ...APP, 'broken/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\n' } });
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  const args = (paths = ['app']): string[] => [
    'diff',
    ...paths,
    '-s',
    'web',
    '-n',
    ns.name,
    ...clusterFlags(),
  ];
  // Colour decided by the environment alone: neither NO_COLOR (which runNopea sets) nor FORCE_COLOR.
  const plainEnv = { NO_COLOR: undefined, FORCE_COLOR: undefined };

  it('prints only the plan as JSON on stdout and nothing on stderr', async () => {
    const run = await runNopea([...args(), '-o', 'json'], { cwd: repo.work, env: plainEnv });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).not.toMatch(ANSI);
    const body = JSON.parse(run.stdout) as DiffJson;
    expect(body.plans.map((p) => p.counts.create)).toEqual([2]);
    // Request counts come with the plan, for budgets in CI.
    expect(body.requests?.total).toBeGreaterThan(0);
  });

  it('reports a failure as JSON on stdout and as text on stderr', async () => {
    const run = await runNopea([...args(['broken']), '-o', 'json'], { cwd: repo.work, env: plainEnv });
    expect(run.code).toBe(2);
    const body = JSON.parse(run.stdout) as { error: { kind: string; problems: { message: string }[] } };
    expect(body.error.kind).toBe('input');
    expect(body.error.problems.map((p) => p.message).join('\n')).toContain('metadata is missing');
    expect(run.stderr).toMatch(/^error: broken\/bad\.yaml:1: .*metadata is missing/m);
  });

  it('writes no colour to a pipe, and colour only when forced', async () => {
    const plain = await runNopea(args(), { cwd: repo.work, env: plainEnv });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`+ create    apps/Deployment/${ns.name}/web`);
    expect(plain.stdout).not.toMatch(ANSI);

    const failed = await runNopea(args(['broken']), { cwd: repo.work, env: plainEnv });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^error: /m);
    expect(failed.stderr).not.toMatch(ANSI);

    // The same run with FORCE_COLOR is coloured: the check above is about the pipe, not a missing feature.
    const forced = await runNopea(args(), { cwd: repo.work, env: { ...plainEnv, FORCE_COLOR: '1' } });
    expect(forced.stdout).toMatch(ANSI);
    const both = await runNopea(args(), { cwd: repo.work, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(both.stdout).not.toMatch(ANSI);
  });
});
