import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { ResourceCatalog, builtinCatalog } from '../../../src/resources/catalog.js';
import { identify } from '../../../src/resources/identify.js';
import type { Manifest } from '../../../src/resources/object.js';

const m = (object: Record<string, unknown>, line = 1, file = 'deploy/app.yaml'): Manifest =>
  ({ object, origin: { file, line } }) as Manifest;

const cluster = new ResourceCatalog(
  [
    ...(builtinCatalog().lookup('apps/v1', 'Deployment').found
      ? [builtinCatalog().lookup('apps/v1', 'Deployment').found!]
      : []),
    { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, verbs: ['get'] },
    { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, verbs: ['get'] },
    {
      group: 'apiextensions.k8s.io',
      version: 'v1',
      kind: 'CustomResourceDefinition',
      plural: 'customresourcedefinitions',
      namespaced: false,
      verbs: [],
    },
  ],
  true,
);

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).kind).toBe('input');
    return (err as NopeaError).problems.map((p) => `${p.origin?.file}:${p.origin?.line} ${p.message}`);
  }
  throw new Error('expected an input error');
}

describe('identify', () => {
  it('gives ids with the group and defaults the namespace of namespaced kinds only', () => {
    const out = identify(
      [
        m({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' } }),
        m({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'other' } }),
        m({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } }),
      ],
      cluster,
      { namespace: 'web' },
    );
    expect(out.map((d) => d.id)).toEqual([
      'apps/Deployment/web/api',
      '/Service/other/api',
      '/Namespace//web',
    ]);
    expect(out[0]!.object.metadata.namespace).toBe('web');
    expect(out[2]!.object.metadata.namespace).toBeUndefined();
  });

  it('reports every problem with file and line at once', () => {
    const problems = problemsOf(() =>
      identify(
        [
          m({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web', namespace: 'x' } }, 3),
          m({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'a' } }, 9),
          m({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'b' } }, 12),
          m({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }, 20),
          m({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dup', namespace: 'web' } }, 1, 'a.yaml'),
          m({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'dup', namespace: 'web' } }, 5, 'b.yaml'),
        ],
        cluster,
      ),
    );
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(
      /deploy\/app.yaml:3 Namespace "web" is cluster-scoped but sets metadata.namespace "x"/,
    );
    expect(problems[1]).toMatch(/:9 .*does not know kind Deploymnet/);
    expect(problems[2]).toMatch(/:12 .*apiVersion apps\/v1beta1 is not served/);
    expect(problems[3]).toMatch(/:20 Service "s" is namespaced but names no namespace/);
    expect(problems[4]).toMatch(/b.yaml:5 \/Service\/web\/dup is defined twice: here and at a.yaml:1/);
  });

  it('accepts custom resources whose CRD is in the same set, marked pending', () => {
    const out = identify(
      [
        m({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'widgets.example.com' },
          spec: {
            group: 'example.com',
            scope: 'Namespaced',
            names: { kind: 'Widget', plural: 'widgets' },
            versions: [{ name: 'v1', served: true }],
          },
        }),
        m({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
      ],
      cluster,
      { namespace: 'web' },
    );
    expect(out[1]).toMatchObject({
      id: 'example.com/Widget/web/w',
      crdPending: true,
      type: { plural: 'widgets' },
    });
  });

  it('assumes unknown kinds are namespaced offline', () => {
    const out = identify(
      [m({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } })],
      builtinCatalog(),
      {
        namespace: 'web',
      },
    );
    expect(out[0]).toMatchObject({
      id: 'example.com/Gadget/web/g',
      crdPending: false,
      type: { plural: 'gadgets' },
    });
  });

  it('suggests the API group that serves a kind, or the kind meant by a misspelling', () => {
    const hints = (object: Record<string, unknown>): (string | undefined)[] => {
      try {
        identify([m(object)], cluster, { namespace: 'web' });
      } catch (err) {
        return (err as NopeaError).problems.map((p) => p.hint);
      }
      throw new Error('expected an input error');
    };
    expect(hints({ apiVersion: 'aps/v1', kind: 'Deployment', metadata: { name: 'a' } })).toEqual([
      'the cluster serves Deployment as apps/v1: check apiVersion',
    ]);
    expect(hints({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'a' } })).toEqual([
      'did you mean kind Deployment (apiVersion apps/v1)?',
    ]);
    expect(hints({ apiVersion: 'v1', kind: 'service', metadata: { name: 'a' } })).toEqual([
      'did you mean kind Service (apiVersion v1)?',
    ]);
    // Nothing close: the general advice.
    expect(hints({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'a' } })[0]).toMatch(
      /install its CRD first/,
    );
    expect(hints({ apiVersion: 'v1', kind: 'Secrt', metadata: { name: 'a' } })[0]).toMatch(
      /check the spelling/,
    );
  });
});
