import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Assessment, Related, RuleOptions } from '../../../src/health/assessment.js';
import { assess, READINESS_RULES, ruleFor } from '../../../src/health/rules.js';
import type { KubeObject } from '../../../src/resources/object.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function load<T>(file: string): T {
  return parse(fs.readFileSync(path.join(here, 'testdata', file), 'utf8')) as T;
}

interface RuleCase {
  name: string;
  object: KubeObject;
  related?: Related;
  options?: RuleOptions;
  expect: Partial<Assessment>;
}

const cases = load<RuleCase[]>('rules.yaml');

describe('readiness rules', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const a = assess(c.object, c.related ?? {}, c.options ?? {});
    expect(a).toMatchObject(c.expect);
  });

  it('covers every kind the design names, in one table', () => {
    const kinds = READINESS_RULES.map((r) => `${r.group}/${r.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'apps/Deployment',
        'apps/StatefulSet',
        'apps/DaemonSet',
        'apps/ReplicaSet',
        'batch/Job',
        '/Pod',
        '/PersistentVolumeClaim',
        'apiextensions.k8s.io/CustomResourceDefinition',
        '/Service',
        'apiregistration.k8s.io/APIService',
      ]),
    );
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const r of READINESS_RULES) expect(r.ready.length).toBeGreaterThan(0);
    expect(ruleFor('apps', 'Deployment')?.fails).toMatch(/ProgressDeadlineExceeded/);
    expect(ruleFor('example.com', 'Widget')).toBeUndefined();
  });

  it('dispatches on the group: a custom Deployment kind gets the generic rule', () => {
    const custom: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Deployment',
      metadata: { name: 'x', generation: 1 },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    };
    expect(assess(custom)).toEqual({ state: 'ready', message: 'Ready' });
  });

  it('keeps the two-argument call the apply stage uses', () => {
    const crd = cases.find((c) => c.name === 'CRD established')!.object;
    expect(assess(crd, {}).state).toBe('ready');
  });
});
