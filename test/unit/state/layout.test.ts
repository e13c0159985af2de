import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  assertServiceName,
  classifyStatePath,
  encodeIdFileName,
  idFileName,
  isIdFileName,
  MAX_NAME_BYTES,
  resolveStatePath,
  statePaths,
} from '../../../src/state/layout.js';

// The longest valid id: a 251-character group (a CRD's name, `<plural>.<group>`, has at most 253), a
// 63-character kind and namespace, a 253-character name.
const LONGEST = `${'g'.repeat(59)}.${'r'.repeat(63)}.${'o'.repeat(63)}.${'u'.repeat(63)}/${'K'.repeat(63)}/${'n'.repeat(63)}/${'a'.repeat(253)}`;
// RBAC names may hold `:`, escaped to three bytes each; the prefix budget ends inside the 49th escape.
const ESCAPED = `rbac.authorization.k8s.io/ClusterRole//${':'.repeat(80)}`;

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
    LONGEST,
    ESCAPED,
    `${LONGEST}b`,
  ];

  it('produces names safe on every file system and within one path component', () => {
    for (const id of ids) {
      const name = `${idFileName(id)}.json`;
      expect(name).toMatch(/^[A-Za-z0-9._~%=-]*$/);
      expect(name).not.toMatch(/^\.{1,2}$/);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(statePaths.lastApplied(id)).toBe(`last-applied/${name}`);
    }
  });

  it('keeps the readable, reversible encoding whenever it fits', () => {
    expect(idFileName('apps/Deployment/web/api')).toBe('apps~Deployment~web~api');
    expect(idFileName('/Namespace//web')).toBe('~Namespace~~web');
    expect(idFileName('rbac.authorization.k8s.io/ClusterRole//system:auth')).toBe(
      'rbac.authorization.k8s.io~ClusterRole~~system%3Aauth',
    );
    const fits = `/ConfigMap/web/${'a'.repeat(MAX_NAME_BYTES - '.json'.length - '~ConfigMap~web~'.length)}`;
    expect(idFileName(fits)).toBe(encodeIdFileName(fits));
    expect(Buffer.byteLength(`${idFileName(fits)}.json`)).toBe(MAX_NAME_BYTES);
  });

  it('names an id whose encoding does not fit by a readable prefix and its hash', () => {
    const name = idFileName(LONGEST);
    const hash = createHash('sha256').update(LONGEST).digest('hex');
    expect(name).toBe(`${encodeIdFileName(LONGEST).slice(0, MAX_NAME_BYTES - 70)}=${hash}`);
    expect(Buffer.byteLength(`${name}.json`)).toBe(MAX_NAME_BYTES);
    // The prefix never ends inside an escape.
    expect(idFileName(ESCAPED)).toMatch(/^rbac\.authorization\.k8s\.io~ClusterRole~~(%3A){48}=[0-9a-f]{64}$/);
  });

  it('keeps distinct ids distinct', () => {
    const names = ids.map(idFileName);
    expect(new Set(names).size).toBe(names.length);
    expect(idFileName('a/b~c/d/e')).not.toBe(idFileName('a/b/c/d/e'));
  });

  it('recognises the name it writes for an id, and the over-long encoding older versions wrote', () => {
    for (const id of ids) expect(isIdFileName(idFileName(id), id)).toBe(true);
    expect(isIdFileName(encodeIdFileName(LONGEST), LONGEST)).toBe(true);
    expect(isIdFileName('apps~Deployment~web~api', 'apps/Deployment/web/other')).toBe(false);
    expect(isIdFileName('apps~Deployment~web~a%3ab', 'apps/Deployment/web/a:b')).toBe(false); // lower-case hex
    expect(isIdFileName('apps~Deployment~web~%61pi', 'apps/Deployment/web/api')).toBe(false); // escaped safe character
    expect(isIdFileName(idFileName(LONGEST), `${LONGEST}b`)).toBe(false);
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
      name: 'apps~Deployment~web~api',
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
    for (const ok of ['web', 'api-gateway', 'svc_1', 'a.b', 'a'.repeat(253)])
      expect(() => assertServiceName(ok)).not.toThrow();
    for (const bad of ['', '.', '..', '../x', 'a/b', '-x', 'a..b', 'sp ace', 'a'.repeat(254)]) {
      expect(() => assertServiceName(bad)).toThrow(/invalid service name/);
    }
  });
});
