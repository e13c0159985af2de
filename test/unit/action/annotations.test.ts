import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  ANNOTATIONS_PER_LEVEL,
  capAnnotations,
  driftAnnotations,
  errorAnnotations,
  type Annotation,
} from '../../../src/action/annotations.js';
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

describe('capAnnotations', () => {
  it('annotates the first problems of 100,000 and counts the rest in the last one', () => {
    const problems = Array.from({ length: 100_000 }, (_, i) => ({
      message: `document ${i + 1} is not a Kubernetes object`,
      origin: { file: 'deploy/all.yaml', line: i + 1 },
    }));
    const list = capAnnotations(errorAnnotations(new NopeaError('input', problems)));
    expect(list).toHaveLength(ANNOTATIONS_PER_LEVEL);
    expect(list.slice(0, -1).map((a) => a.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(list.at(-1)).toEqual({
      level: 'error',
      title: 'nopea: invalid input',
      message: 'and 99,991 more errors, not annotated',
    });
  });

  it('caps each level on its own and leaves short lists alone', () => {
    const ann = (level: Annotation['level'], i: number): Annotation => ({
      level,
      title: `t-${level}`,
      message: `${level} ${i}`,
    });
    const warnings = Array.from({ length: 12 }, (_, i) => ann('warning', i));
    const errors = Array.from({ length: 3 }, (_, i) => ann('error', i));
    const capped = capAnnotations([...warnings, ...errors]);
    expect(capped.filter((a) => a.level === 'error')).toEqual(errors);
    expect(capped.filter((a) => a.level === 'warning').map((a) => a.message)).toEqual([
      ...warnings.slice(0, 9).map((a) => a.message),
      'and 3 more warnings, not annotated',
    ]);
    const exactly = Array.from({ length: ANNOTATIONS_PER_LEVEL }, (_, i) => ann('error', i));
    expect(capAnnotations(exactly)).toEqual(exactly);
  });

  it('caps drift warnings once for the step', () => {
    const entries = Array.from({ length: 30 }, (_, i) => entry(`d${i}`, 'drift'));
    const list = capAnnotations(driftAnnotations([plan('web', entries)]));
    expect(list).toHaveLength(ANNOTATIONS_PER_LEVEL);
    expect(list.at(-1)!.message).toBe('and 21 more warnings, not annotated');
  });
});
