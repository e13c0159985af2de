import { describe, expect, it } from 'vitest';
import {
  assertServiceName,
  classifyStatePath,
  decodeIdFileName,
  encodeIdFileName,
  resolveStatePath,
  statePaths,
} from '../../../src/state/layout.js';

describe('id file names', () => {
  const ids = [
    'apps/Deployment/web/api',
    '/Service/web/api',
    '/Namespace//web',
    'rbac.authorization.k8s.io/ClusterRole//system:controller:job-controller',
    'rbac.authorization.k8s.io/RoleBinding/kube-system/system::leader-locking',
    'apiextensions.k8s.io/CustomResourceDefinition//rollouts.kulta.io',
    'example.com/Widget/ns/a~b%c_d',
    'x/Kind/ns/ünïcødé',
    '/ConfigMap/web/..',
    '///',
    'no-slashes-at-all',
  ];

  it.each(ids)('round-trips %s', (id) => {
    const name = encodeIdFileName(id);
    expect(decodeIdFileName(name)).toBe(id);
  });

  it('produces names safe on every file system', () => {
    for (const id of ids) {
      const name = encodeIdFileName(id);
      expect(name).toMatch(/^[A-Za-z0-9._~%-]*$/);
      expect(name).not.toMatch(/^\.{1,2}$/);
    }
  });

  it('is readable for the common cases', () => {
    expect(encodeIdFileName('apps/Deployment/web/api')).toBe('apps~Deployment~web~api');
    expect(encodeIdFileName('/Namespace//web')).toBe('~Namespace~~web');
    expect(encodeIdFileName('rbac.authorization.k8s.io/ClusterRole//system:auth')).toBe(
      'rbac.authorization.k8s.io~ClusterRole~~system%3Aauth',
    );
  });

  it('keeps distinct ids distinct', () => {
    const names = ids.map(encodeIdFileName);
    expect(new Set(names).size).toBe(names.length);
    expect(encodeIdFileName('a/b~c/d/e')).not.toBe(encodeIdFileName('a/b/c/d/e'));
  });

  it('refuses names it would not produce', () => {
    expect(decodeIdFileName('apps~Deployment~web~a%3ab')).toBeUndefined(); // lower-case hex
    expect(decodeIdFileName('apps~Deployment~web~%61pi')).toBeUndefined(); // escaped safe character
    expect(decodeIdFileName('apps~Deployment~web~a:b')).toBeUndefined(); // unescaped colon
    expect(decodeIdFileName('apps~Deployment~web~%FF')).toBeUndefined(); // not UTF-8
    expect(decodeIdFileName('apps~Deployment~web~%4')).toBeUndefined(); // truncated escape
  });
});

describe('state paths', () => {
  it('resolves service-relative and root-relative paths', () => {
    expect(resolveStatePath('web', statePaths.current)).toBe('.nopea/services/web/current.json');
    expect(resolveStatePath('web', statePaths.deploy('01J9Z8Q4W3M6N2P5R7T9V1X3Y5'))).toBe(
      '.nopea/services/web/deploys/01J9Z8Q4W3M6N2P5R7T9V1X3Y5.json',
    );
    expect(resolveStatePath('web', statePaths.graph)).toBe('.nopea/graph.json');
    expect(resolveStatePath('web', statePaths.occurrence('01J9Z8Q4W3M6N2P5R7T9V1X3Y5'))).toBe(
      '.nopea/occurrences/01J9Z8Q4W3M6N2P5R7T9V1X3Y5.json',
    );
    expect(resolveStatePath('web', 'last-applied/')).toBe('.nopea/services/web/last-applied');
  });

  it.each(['../other/current.json', '/../escape', 'a//b', './x', '/format', 'a\\b', 'x\ny', ''])(
    'refuses %j',
    (path) => {
      expect(() => resolveStatePath('web', path)).toThrow(/state|format/);
    },
  );

  it('classifies layout files', () => {
    expect(classifyStatePath('.nopea/format')).toEqual({ kind: 'format' });
    expect(classifyStatePath('.nopea/graph.json')).toEqual({ kind: 'graph' });
    expect(classifyStatePath('.nopea/services/web/inventory.json')).toEqual({
      kind: 'inventory',
      service: 'web',
    });
    expect(classifyStatePath('.nopea/services/web/last-applied/apps~Deployment~web~api.json')).toEqual({
      kind: 'last-applied',
      service: 'web',
      id: 'apps/Deployment/web/api',
    });
    expect(classifyStatePath('.nopea/services/web/deploys/X.json')).toEqual({
      kind: 'deploy',
      service: 'web',
      deployId: 'X',
    });
    expect(classifyStatePath('.nopea/occurrences/X.json')).toEqual({ kind: 'occurrence', deployId: 'X' });
    expect(classifyStatePath('.nopea/services/web/notes.txt')).toEqual({ kind: 'other' });
  });

  it('accepts ordinary service names and refuses path tricks', () => {
    for (const ok of ['web', 'api-gateway', 'svc_1', 'a.b'])
      expect(() => assertServiceName(ok)).not.toThrow();
    for (const bad of ['', '.', '..', '../x', 'a/b', '-x', 'a..b', 'sp ace']) {
      expect(() => assertServiceName(bad)).toThrow(/invalid service name/);
    }
  });
});
