import { describe, expect, it } from 'vitest';
import { guessPlural } from '../../../src/resources/catalog.js';
import { intentOf, normalizeForCompare } from '../../../src/resources/normalize.js';
import { applyRank, applyWaves } from '../../../src/resources/order.js';
import { MASK, maskSecretPair, redactSecret } from '../../../src/resources/secrets.js';
import type { KubeObject, ResourceRef } from '../../../src/resources/object.js';

describe('normalisation', () => {
  const live: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'c',
      namespace: 'n',
      uid: 'u',
      resourceVersion: '1',
      generation: 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [],
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    data: { a: '1' },
    status: { x: 1 },
  };

  it('strips server-owned fields before comparing', () => {
    expect(normalizeForCompare(live)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'n' },
      data: { a: '1' },
    });
  });

  it('keeps user annotations in the intent and does not mutate its input', () => {
    const intent = intentOf(live);
    expect(intent.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '2' });
    expect(intent.status).toBeUndefined();
    expect(live.status).toEqual({ x: 1 });
  });
});

describe('apply order', () => {
  const ref = (group: string, kind: string, name = 'x', namespace = ''): ResourceRef => ({
    group,
    kind,
    name,
    namespace,
  });

  it('puts CRDs and Namespaces first, webhooks last, custom resources after workloads', () => {
    const items = [
      ref('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration'),
      ref('example.com', 'Widget'),
      ref('apps', 'Deployment'),
      ref('', 'ServiceAccount'),
      ref('', 'Namespace'),
      ref('apiextensions.k8s.io', 'CustomResourceDefinition'),
      ref('', 'ConfigMap'),
    ];
    const waves = applyWaves(items, (r) => r).map((w) => w.map((r) => r.kind));
    expect(waves).toEqual([
      ['CustomResourceDefinition', 'Namespace'],
      ['ServiceAccount'],
      ['ConfigMap'],
      ['Deployment'],
      ['Widget'],
      ['ValidatingWebhookConfiguration'],
    ]);
    expect(applyRank(ref('', 'Secret'))).toBe(applyRank(ref('', 'ConfigMap')));
  });
});

describe('secrets', () => {
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 's',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"k":"c2VjcmV0"}}' },
    },
    data: { k: 'c2VjcmV0' },
    stringData: { p: 'plain-secret' },
  };

  it('masks values and kubectl last-applied annotations', () => {
    const masked = JSON.stringify(maskSecretPair(secret, secret));
    expect(masked).not.toContain('c2VjcmV0');
    expect(masked).not.toContain('plain-secret');
    expect(masked).toContain(MASK);
  });

  it('hashes with a salt that is reused, so equal values compare equal and differ from other runs', () => {
    const first = redactSecret(secret);
    const again = redactSecret(secret, first);
    const fresh = redactSecret(secret);
    expect(JSON.stringify(first)).not.toContain('plain-secret');
    expect(JSON.stringify(first)).not.toContain('c2VjcmV0');
    expect(again).toEqual(first);
    expect(fresh).not.toEqual(first);
  });

  it('leaves other kinds alone', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    expect(redactSecret(cm)).toBe(cm);
  });
});

describe('plural guesses for offline use', () => {
  it('follows English plurals', () => {
    expect(['Ingress', 'Policy', 'Gateway', 'Widget'].map(guessPlural)).toEqual([
      'ingresses',
      'policies',
      'gateways',
      'widgets',
    ]);
  });
});

describe('secret hashing key', () => {
  it('depends on NOPEA_SECRET_HASH_KEY so the branch alone cannot confirm a guess', () => {
    const s: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { k: 'dmFsdWU=' },
    };
    const plain = redactSecret(s, undefined, '');
    expect(redactSecret(s, plain, '')).toEqual(plain);
    expect(redactSecret(s, plain, 'ci-key')).not.toEqual(plain);
  });
});
