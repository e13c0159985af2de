import { describe, expect, it } from 'vitest';
import { ownersOf, unownedPaths } from '../../../src/plan/ownership.js';
import type { KubeObject } from '../../../src/resources/object.js';

function withFields(obj: KubeObject, managed: [string, unknown, string?][]): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      managedFields: managed.map(([manager, fieldsV1, subresource]) => ({
        manager,
        operation: 'Apply',
        fieldsV1,
        ...(subresource ? { subresource } : {}),
      })),
    },
  };
}

describe('ownership', () => {
  const intent: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'n', finalizers: ['a/b'] },
    spec: { containers: [{ name: 'c', args: ['--x'] }], tolerations: [{ key: 'k' }] },
  };

  it('finds nothing unowned when nopea owns every field (keys, sets, indexes, atomic lists)', () => {
    const live = withFields(intent, [
      [
        'nopea',
        {
          'f:metadata': { 'f:finalizers': { '.': {}, 'v:"a/b"': {} } },
          'f:spec': {
            'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {}, 'f:args': {} } },
            'f:tolerations': {},
          },
        },
      ],
    ]);
    expect(unownedPaths(intent, live, 'nopea')).toEqual([]);
  });

  it('reports the top-most unowned path and ignores status subresource entries', () => {
    const live = withFields(intent, [
      ['nopea', { 'f:metadata': { 'f:finalizers': { 'v:"a/b"': {} } } }],
      ['nopea', { 'f:spec': { 'f:containers': {} } }, 'status'],
      ['kubelet', { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:args': {} } } } }],
    ]);
    expect(unownedPaths(intent, live, 'nopea')).toEqual([['spec']]);
    expect(ownersOf(live, intent, ['spec', 'containers', 0, 'args'], 'nopea')).toEqual(['kubelet']);
    expect(ownersOf(live, intent, ['spec', 'tolerations'], 'nopea')).toEqual([]);
  });

  it('never requires ownership of apiVersion, kind, name, namespace or empty values', () => {
    const bare: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'b', labels: {} },
      data: {},
    };
    expect(unownedPaths(bare, withFields(bare, []), 'nopea')).toEqual([]);
  });
});

describe('associative keys with defaulted fields', () => {
  it('matches a port without protocol to the server key with protocol TCP, never to UDP', () => {
    const intent: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 53 }, { port: 53, protocol: 'UDP' }] },
    };
    const live = withFields(intent, [
      [
        'nopea',
        {
          'f:spec': {
            'f:ports': {
              'k:{"port":53,"protocol":"UDP"}': { '.': {}, 'f:port': {}, 'f:protocol': {} },
              'k:{"port":53,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
            },
          },
        },
      ],
    ]);
    expect(unownedPaths(intent, live, 'nopea')).toEqual([]);
    const onlyUdp = withFields(intent, [
      [
        'nopea',
        {
          'f:spec': {
            'f:ports': { 'k:{"port":53,"protocol":"UDP"}': { '.': {}, 'f:port': {}, 'f:protocol': {} } },
          },
        },
      ],
    ]);
    expect(unownedPaths(intent, onlyUdp, 'nopea')).toEqual([['spec', 'ports', 0]]);
  });
});

describe('drift found on real objects', () => {
  it('reports a label another manager took over as labels, not the whole metadata', () => {
    // `kubectl label --overwrite` on the only label nopea set: nopea is left owning nothing in
    // metadata, but name and namespace (never listed in managedFields) are not drift.
    const intent: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'carts', namespace: 'shop', labels: { name: 'carts' } },
      spec: { selector: { name: 'carts' } },
    };
    const live = withFields(intent, [
      ['nopea', { 'f:spec': { 'f:selector': {} } }],
      ['kubectl-label', { 'f:metadata': { 'f:labels': { 'f:name': {} } } }],
    ]);
    expect(unownedPaths(intent, live, 'nopea')).toEqual([['metadata', 'labels']]);
    expect(ownersOf(live, intent, ['metadata', 'labels'], 'nopea')).toEqual(['kubectl-label']);
  });

  it('names a manager that changed a field through a subresource (kubectl scale)', () => {
    const intent: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'carts', namespace: 'shop' },
      spec: { replicas: 1, paused: false },
    };
    const live = withFields(intent, [
      ['nopea', { 'f:spec': { 'f:paused': {} } }],
      ['kubectl', { 'f:spec': { 'f:replicas': {} } }, 'scale'],
      ['kube-controller-manager', { 'f:status': { 'f:replicas': {} } }, 'status'],
    ]);
    expect(unownedPaths(intent, live, 'nopea')).toEqual([['spec', 'replicas']]);
    expect(ownersOf(live, intent, ['spec', 'replicas'], 'nopea')).toEqual(['kubectl']);
    // nopea's own ownership still counts only what it applied to the main resource.
    const viaStatus = withFields(intent, [
      ['nopea', { 'f:spec': { 'f:replicas': {}, 'f:paused': {} } }, 'status'],
    ]);
    expect(unownedPaths(intent, viaStatus, 'nopea')).toEqual([['spec']]);
  });
});
