import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  dispatchInputs,
  resolveInputs,
  splitPaths,
  toSyncOptions,
  type InputName,
} from '../../../src/action/inputs.js';
import { errorExitCode } from '../../../src/surface/outcome.js';

/** A reader over step inputs given as a plain record (unset inputs read as ''). */
const step =
  (values: Partial<Record<InputName, string>>) =>
  (name: InputName): string =>
    values[name] ?? '';

function inputError(fn: () => unknown): NopeaError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NopeaError);
    return err as NopeaError;
  }
  throw new Error('expected an input error');
}

describe('resolveInputs', () => {
  it('applies the documented defaults when nothing is set', () => {
    const inputs = resolveInputs(step({}), {});
    expect(inputs).toMatchObject({ command: 'sync', paths: [], offline: false, dryRun: false, wait: true });
    expect(inputs.prune).toBeUndefined();
    expect(inputs.timeoutMs).toBeUndefined();
    expect(inputs.kubeconfig).toBeUndefined();
    expect(inputs.sources).toEqual({});
  });

  it('reads every step input', () => {
    const inputs = resolveInputs(
      step({
        command: 'sync',
        path: 'deploy/a\ndeploy/b.yaml',
        service: 'web',
        namespace: 'shop',
        context: 'prod',
        'state-branch': 'deploys',
        'dry-run': 'true',
        prune: 'False',
        wait: 'FALSE',
        timeout: '90s',
        'request-timeout': '5s',
        'force-conflicts': 'true',
        'max-prune': '25%',
        'allow-prune-kind': 'Namespace,\nPersistentVolumeClaim',
        'prune-propagation': 'foreground',
        'recreate-on-immutable': 'true',
        token: 'ghs_abc',
        kubeconfig: 'apiVersion: v1\nkind: Config\n',
      }),
      {},
    );
    expect(inputs).toMatchObject({
      command: 'sync',
      paths: ['deploy/a', 'deploy/b.yaml'],
      service: 'web',
      namespace: 'shop',
      context: 'prod',
      stateBranch: 'deploys',
      dryRun: true,
      prune: false,
      wait: false,
      timeoutMs: 90_000,
      requestTimeoutMs: 5_000,
      forceConflicts: true,
      maxPrune: { percent: 25 },
      allowPruneKinds: ['Namespace', 'PersistentVolumeClaim'],
      propagationPolicy: 'Foreground',
      recreateOnImmutable: true,
      token: 'ghs_abc',
      kubeconfig: 'apiVersion: v1\nkind: Config\n',
    });
    expect(inputs.sources.command).toBe('step');
  });

  it('fills inputs the step leaves unset from a workflow_dispatch event; the step wins', () => {
    const dispatched = dispatchInputs('workflow_dispatch', {
      inputs: { command: 'diff', dry_run: 'true', service: 'from-event', environment: 'prod', wait: false },
    });
    const inputs = resolveInputs(step({ service: 'from-step' }), dispatched);
    expect(inputs.command).toBe('diff');
    expect(inputs.dryRun).toBe(true);
    expect(inputs.wait).toBe(false);
    expect(inputs.service).toBe('from-step');
    expect(inputs.sources).toEqual({
      command: 'workflow_dispatch',
      'dry-run': 'workflow_dispatch',
      wait: 'workflow_dispatch',
      service: 'step',
    });
  });

  it('never takes credentials from the event', () => {
    const dispatched = dispatchInputs('workflow_dispatch', {
      inputs: { token: 'stolen', kubeconfig: 'apiVersion: v1' },
    });
    const inputs = resolveInputs(step({}), dispatched);
    expect(inputs.token).toBeUndefined();
    expect(inputs.kubeconfig).toBeUndefined();
  });

  it('ignores the inputs of other events', () => {
    expect(dispatchInputs('push', { inputs: { command: 'diff' } })).toEqual({});
    expect(dispatchInputs(undefined, { inputs: { command: 'diff' } })).toEqual({});
    expect(dispatchInputs('workflow_dispatch', { inputs: null })).toEqual({});
    expect(dispatchInputs('workflow_dispatch', undefined)).toEqual({});
    expect(dispatchInputs('workflow_dispatch', { inputs: { n: 3, b: true, o: { x: 1 } } })).toEqual({
      n: '3',
      b: 'true',
    });
  });

  it('reports every invalid input at once, as an input error (exit 2)', () => {
    const err = inputError(() =>
      resolveInputs(
        step({
          command: 'deploy',
          wait: 'yes',
          timeout: 'soon',
          'request-timeout': '10ms',
          'max-prune': 'lots',
          'allow-prune-kind': 'Deployment',
          'prune-propagation': 'cascade',
          kubeconfig: '/home/me/.kube/config',
        }),
        {},
      ),
    );
    expect(err.kind).toBe('input');
    expect(errorExitCode(err)).toBe(2);
    const messages = err.problems.map((p) => p.message);
    expect(messages).toEqual([
      'input command is "deploy"',
      'input wait is "yes", not a boolean',
      'input timeout "soon" is not a duration',
      'input request-timeout "10ms" is too short for any API request',
      'input max-prune "lots" is not a count or a percentage',
      'input allow-prune-kind names "Deployment", which is not a protected kind',
      'input prune-propagation is "cascade"',
      'input kubeconfig does not look like a kubeconfig (it takes the file content, not a path)',
    ]);
    expect(err.problems[0]!.hint).toBe('use one of: sync, diff, promote, rollback');
  });

  it('refuses dry-run or offline with promote and rollback, which would move the rollout all the same', () => {
    for (const command of ['promote', 'rollback']) {
      const err = inputError(() => resolveInputs(step({ command }), { dry_run: 'true' }));
      expect(err.problems.map((p) => p.message)).toEqual([
        `input dry-run applies to sync only; command ${command} would move the rollout (dry-run came from the workflow_dispatch inputs)`,
      ]);
      const offline = inputError(() => resolveInputs(step({ command, offline: 'true' }), {}));
      expect(offline.problems[0]!.message).toMatch(/^input offline applies to diff only/);
    }
  });

  it('says when a bad command came from the workflow_dispatch inputs', () => {
    const err = inputError(() => resolveInputs(step({}), { command: 'deploy' }));
    expect(err.problems[0]!.message).toBe('input command is "deploy" (from the workflow_dispatch inputs)');
  });

  it('takes a promote of one deploy, past every gate, from the workflow_dispatch inputs', () => {
    const inputs = resolveInputs(step({ service: 'web' }), {
      command: 'promote',
      'deploy-id': '20261201-120000-abc123',
      full: 'true',
    });
    expect(inputs).toMatchObject({
      command: 'promote',
      service: 'web',
      deployId: '20261201-120000-abc123',
      full: true,
    });
    expect(inputs.sources).toMatchObject({ command: 'workflow_dispatch', 'deploy-id': 'workflow_dispatch' });
    expect(resolveInputs(step({ command: 'rollback' }), {}).full).toBe(false);
  });

  it('refuses offline for a sync', () => {
    const err = inputError(() => resolveInputs(step({ offline: 'true' }), {}));
    expect(err.problems[0]!.message).toMatch(/offline applies to the diff command only/);
  });

  it('accepts a JSON kubeconfig and keeps its text as it is', () => {
    const json = '  {"apiVersion": "v1", "kind": "Config"}\n';
    expect(resolveInputs(step({ kubeconfig: json }), {}).kubeconfig).toBe(json);
  });
});

describe('splitPaths', () => {
  it('splits on newlines and commas and drops blanks', () => {
    expect(splitPaths(' a, b\n\nc/d.yaml ,\n')).toEqual(['a', 'b', 'c/d.yaml']);
    expect(splitPaths('')).toEqual([]);
  });
});

describe('toSyncOptions', () => {
  const workspace = '/work/repo';

  it('resolves paths against the workspace and passes the sync options', () => {
    const inputs = resolveInputs(
      step({ path: 'k8s, /abs/x.yaml', service: 'web', prune: 'false', timeout: '2m', 'dry-run': 'true' }),
      {},
    );
    const signal = new AbortController().signal;
    const opts = toSyncOptions(inputs, {
      workspace,
      kubeconfigPath: '/tmp/k',
      gitAuthHeader: 'AUTHORIZATION: basic x',
      signal,
    });
    expect(opts).toEqual({
      cwd: workspace,
      paths: [path.join(workspace, 'k8s'), '/abs/x.yaml'],
      service: 'web',
      kubeconfig: '/tmp/k',
      gitAuthHeader: 'AUTHORIZATION: basic x',
      dryRun: true,
      wait: true,
      prune: false,
      timeoutMs: 120_000,
      forceConflicts: false,
      allowPruneKinds: [],
      recreateOnImmutable: false,
      signal,
    });
  });

  it('runs an offline diff without the kubeconfig', () => {
    const inputs = resolveInputs(step({ command: 'diff', offline: 'true', 'state-branch': 's' }), {});
    expect(toSyncOptions(inputs, { workspace, kubeconfigPath: '/tmp/k' })).toEqual({
      cwd: workspace,
      stateBranch: 's',
      offline: true,
    });
  });

  it('gives a diff no sync options', () => {
    const inputs = resolveInputs(step({ command: 'diff', 'dry-run': 'true', wait: 'false' }), {});
    expect(toSyncOptions(inputs, { workspace, kubeconfigPath: '/tmp/k' })).toEqual({
      cwd: workspace,
      kubeconfig: '/tmp/k',
    });
  });
});

describe('action.yml', () => {
  it('declares exactly the inputs the Action reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const { INPUT_NAMES } = await import('../../../src/action/inputs.js');
    const action = parse(
      await readFile(path.resolve(import.meta.dirname, '../../../action.yml'), 'utf8'),
    ) as {
      inputs: Record<string, unknown>;
    };
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort());
  });
});
