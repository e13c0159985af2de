import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { driftAnnotations, errorAnnotations } from '../../../src/action/annotations.js';
import { entry, plan } from './fixtures.js';

describe('errorAnnotations', () => {
  it('puts each input problem on its manifest file and line', () => {
    const err = new NopeaError('input', [
      {
        message: 'Deployment has no metadata.name',
        origin: { file: 'deploy/app.yaml', line: 12 },
        hint: 'add one',
      },
      { message: 'no service named' },
    ]);
    expect(errorAnnotations(err)).toEqual([
      {
        level: 'error',
        title: 'nopea: invalid input',
        message: 'Deployment has no metadata.name\nhint: add one',
        file: 'deploy/app.yaml',
        line: 12,
      },
      { level: 'error', title: 'nopea: invalid input', message: 'no service named' },
    ]);
  });

  it('finds the manifest of an object a deploy problem names through the plan', () => {
    const p = plan('web', [entry('a', 'update')]);
    const err = new NopeaError('deploy', [
      { message: 'apply failed: forbidden', object: '/ConfigMap/web/a' },
    ]);
    expect(errorAnnotations(err, [p])).toEqual([
      {
        level: 'error',
        title: 'nopea: deploy failed',
        message: 'apply failed: forbidden [/ConfigMap/web/a]',
        file: 'deploy/a.yaml',
        line: 3,
      },
    ]);
  });
});

describe('driftAnnotations', () => {
  it('warns on the origin of drifted and conflicting objects only', () => {
    const p = plan('web', [
      entry('a', 'drift', { drift: [{ path: '.data.value', managers: ['kubectl-edit'] }] }),
      entry('b', 'conflict', { drift: [{ path: '.data.x', managers: [] }] }),
      entry('c', 'update'),
      entry('d', 'unchanged'),
    ]);
    expect(driftAnnotations([p])).toEqual([
      {
        level: 'warning',
        title: 'nopea: drift',
        message:
          '/ConfigMap/web/a was changed in the cluster outside nopea: .data.value (now owned by kubectl-edit); a sync sets it back to what git says',
        file: 'deploy/a.yaml',
        line: 3,
      },
      {
        level: 'warning',
        title: 'nopea: drift',
        message:
          '/ConfigMap/web/b was changed in the cluster and in git since nopea last applied it: .data.x (removed)',
        file: 'deploy/b.yaml',
        line: 3,
      },
    ]);
  });
});
