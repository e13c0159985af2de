import { describe, expect, it } from 'vitest';
import {
  invalidLabelValue,
  invalidName,
  invalidNamespace,
  invalidQualifiedKey,
} from '../../../src/source/names.js';
import { checkObject, type Locator } from '../../../src/source/validate.js';

const at: Locator = { origin: () => ({ file: 'f.yaml', line: 1 }), text: () => undefined };

function problems(value: unknown): string[] {
  const checked = checkObject(value, at);
  return checked.ok ? [] : checked.problems.map((p) => p.message);
}

const object = (metadata: unknown, kind = 'ConfigMap', apiVersion = 'v1') => ({ apiVersion, kind, metadata });

describe('object names', () => {
  it('applies DNS rules to well-known kinds', () => {
    expect(invalidName('apps', 'Deployment', 'web-1.example')).toBeUndefined();
    expect(invalidName('apps', 'Deployment', 'My_App')).toMatch(/not a valid Deployment name/);
    expect(invalidName('', 'Namespace', 'a.b')).toMatch(/DNS label/);
    expect(invalidName('', 'Service', '1web')).toMatch(/starting with a letter/);
    expect(invalidName('batch', 'CronJob', 'x'.repeat(53))).toMatch(/at most 52/);
  });

  it('only rejects impossible names for other kinds: RBAC and custom kinds accept more', () => {
    expect(invalidName('rbac.authorization.k8s.io', 'ClusterRole', 'system:controller:web')).toBeUndefined();
    expect(invalidName('example.com', 'Widget', 'Mixed_Case')).toBeUndefined();
    for (const bad of ['a/b', '50%', 'a b', 'tab\there', '.', '..', 'x'.repeat(254)]) {
      expect(invalidName('example.com', 'Widget', bad), bad).toBeDefined();
    }
  });

  it('checks namespaces, label keys and label values with the API server rules', () => {
    expect(invalidNamespace('team-a')).toBeUndefined();
    expect(invalidNamespace('Team_A')).toBeDefined();
    expect(invalidQualifiedKey('app.kubernetes.io/name')).toBeUndefined();
    expect(invalidQualifiedKey('Version_2')).toBeUndefined();
    expect(invalidQualifiedKey('/name')).toMatch(/empty prefix/);
    expect(invalidQualifiedKey('Example.com/x')).toMatch(/prefix/);
    expect(invalidQualifiedKey('-x')).toBeDefined();
    expect(invalidLabelValue('')).toBeUndefined();
    expect(invalidLabelValue('v1.2_3-rc')).toBeUndefined();
    expect(invalidLabelValue('a'.repeat(64))).toMatch(/at most 63/);
    expect(invalidLabelValue('1.0+build')).toBeDefined();
  });
});

describe('checkObject: Secret values', () => {
  const secret = (fields: Record<string, unknown>, kind = 'Secret', apiVersion = 'v1') => ({
    apiVersion,
    kind,
    metadata: { name: 's' },
    ...fields,
  });

  it('refuses a value that is not a string, naming the key and never the value', () => {
    const found = problems(
      secret({
        stringData: { PIN: 482913, ON: true, LIST: ['hunter2'], MAP: { a: 'hunter2' }, EMPTY: null, OK: 'x' },
        data: { KEY: 1234567 },
      }),
    );
    expect(found).toEqual([
      'Secret data "KEY" must be a string, found a number (its value is not shown)',
      'Secret stringData "PIN" must be a string, found a number (its value is not shown)',
      'Secret stringData "ON" must be a string, found a boolean (its value is not shown)',
      'Secret stringData "LIST" must be a string, found a list (its value is not shown)',
      'Secret stringData "MAP" must be a string, found a mapping (its value is not shown)',
    ]);
    expect(found.join('\n')).not.toMatch(/482913|1234567|hunter2|true/);
    expect(problems(secret({ stringData: 'hunter2' }))).toEqual([
      'Secret stringData must be a mapping of strings, found a string',
    ]);
  });

  it('refuses a key that is not a valid key without quoting it, and checks the spellings a server refuses', () => {
    const found = problems(secret({ data: { 'DB_PASS: hunter2xyz': '' } }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^Secret data has a key that is not a valid key/);
    expect(found[0]).not.toMatch(/hunter2|DB_PASS/);
    // Nor does the check for values JSON cannot carry name such a key.
    const inf = problems(secret({ stringData: { 'pw=hunter2': Infinity } }));
    expect(inf.join('\n')).not.toContain('hunter2');
    expect(problems(secret({ stringData: { pw: 99 } }, 'secret'))).toHaveLength(1);
    expect(problems(secret({ stringData: { pw: 99 } }, 'Secret', 'core/v1'))).toHaveLength(1);
    // Not a Secret: a ConfigMap's numbers are for the server to refuse, as kubectl leaves them.
    expect(problems(secret({ data: { n: 1 } }, 'ConfigMap'))).toEqual([]);
    expect(problems(secret({ stringData: { n: 1 } }, 'Secret', 'example.com/v1'))).toEqual([]);
  });
});

describe('checkObject', () => {
  it('accepts a minimal object, an empty namespace and string maps', () => {
    expect(
      problems(
        object({ name: 'a', namespace: '', labels: { app: 'a' }, annotations: { note: 'any text: ok' } }),
      ),
    ).toEqual([]);
  });

  it('collects every problem of one object at once', () => {
    expect(
      problems({ apiVersion: 'v1', metadata: { name: 5, labels: { a: 1, b: true }, namespace: 7 } }),
    ).toEqual([
      'kind is missing',
      'metadata.name must be a string, found the number 5',
      'metadata.namespace must be a string, found the number 7',
      'label "a" must be a string, found the number 1',
      'label "b" must be a string, found the boolean true',
    ]);
  });

  it('says why generateName alone cannot work', () => {
    const checked = checkObject(object({ generateName: 'job-' }, 'Job', 'batch/v1'), at);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems[0]!.hint).toMatch(/new object on every sync/);
  });

  it('rejects empty strings, non-mapping metadata and label maps, and oversized annotations', () => {
    expect(problems({ apiVersion: '', kind: '', metadata: [] })).toEqual([
      'apiVersion must be a non-empty string such as "v1" or "apps/v1", found the string ""',
      'kind is empty',
      'metadata must be a mapping, found a list',
    ]);
    expect(problems(object({ name: 'a', labels: ['x'] }))).toEqual([
      'metadata.labels must be a mapping of strings, found a list',
    ]);
    expect(problems(object({ name: 'a', labels: { app: null } }))).toEqual(['label "app" has no value']);
    expect(problems(object({ name: 'a', annotations: { big: 'x'.repeat(256 * 1024) } }))).toEqual([
      expect.stringMatching(/^metadata.annotations total \d+ bytes/),
    ]);
  });

  it('rejects kinds and apiVersions that no API server can serve, naming them', () => {
    for (const kind of [
      'a/../b',
      '/',
      '..',
      'Deploy ment',
      ' Deployment',
      'Config.Map',
      '9Lives',
      'x'.repeat(64),
    ]) {
      expect(problems(object({ name: 'a' }, kind)), kind).toEqual([
        `kind ${JSON.stringify(kind)} is not a valid kind: use a letter followed by letters, digits and "-" (at most 63 characters), e.g. Deployment`,
      ]);
    }
    expect(problems(object({ name: 'a' }, '  '))).toEqual(['kind is empty']);
    for (const kind of ['Deployment', 'HorizontalPodAutoscaler', 'Widget2', 'my-kind']) {
      expect(problems(object({ name: 'a' }, kind)), kind).toEqual([]);
    }
    expect(problems(object({ name: 'a' }, 'ConfigMap', '../v1'))).toEqual([
      expect.stringMatching(/^apiVersion "\.\.\/v1" has the API group "\.\.", which is not valid/),
    ]);
    expect(problems(object({ name: 'a' }, 'ConfigMap', 'V1'))).toEqual([
      expect.stringMatching(/^apiVersion "V1" has the version "V1", which is not valid/),
    ]);
    for (const apiVersion of [
      'v1',
      'apps/v1',
      'cert-manager.io/v1alpha2',
      'kustomize.config.k8s.io/v1beta1',
    ]) {
      expect(problems(object({ name: 'a' }, 'ConfigMap', apiVersion)), apiVersion).toEqual([]);
    }
  });

  it('rejects namespaces that are no DNS label, such as a path', () => {
    for (const ns of ['../../etc', 'Not_Valid', 'a.b', 'x'.repeat(64)]) {
      expect(problems(object({ name: 'a', namespace: ns })), ns).toEqual([
        expect.stringMatching(/^metadata\.namespace ".*" is not a valid namespace name: use lowercase/),
      ]);
    }
  });
});
