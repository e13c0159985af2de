import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { selectServices } from '../../../src/surface/options.js';

describe('selectServices', () => {
  it('refuses a namespace that no cluster can have, as invalid input naming it', () => {
    for (const namespace of ['../../etc', 'Not_Valid', 'a'.repeat(64), '']) {
      const attempt = (): unknown => selectServices({ service: 'web', paths: ['app'], namespace }, undefined);
      expect(attempt).toThrow(NopeaError);
      try {
        attempt();
      } catch (err) {
        expect((err as NopeaError).kind).toBe('input');
        expect((err as NopeaError).message).toContain(JSON.stringify(namespace));
      }
    }
  });

  it('takes a valid namespace', () => {
    expect(selectServices({ service: 'web', paths: ['app'], namespace: 'team-a' }, undefined)).toEqual([
      { name: 'web', paths: ['app'], prune: true, namespace: 'team-a' },
    ]);
  });

  it("carries a service's kustomize rules from nopea.yaml, with or without -s", () => {
    const config = {
      services: [{ name: 'web', paths: ['app'], kustomize: { allowRemote: true } }],
    } as Parameters<typeof selectServices>[1];
    expect(selectServices({}, config)[0]?.kustomize).toEqual({ allowRemote: true });
    expect(selectServices({ service: 'web' }, config)[0]?.kustomize).toEqual({ allowRemote: true });
  });

  it('names the services nopea.yaml declares when -s names none of them', () => {
    const config = {
      services: [
        { name: 'web', paths: ['app'] },
        { name: 'api', paths: ['api'] },
      ],
    } as Parameters<typeof selectServices>[1];
    const err = ((): unknown => {
      try {
        return selectServices({ service: 'webb' }, config);
      } catch (e) {
        return e;
      }
    })() as NopeaError;
    expect(err.problems[0]).toEqual({
      message: 'no manifests for service "webb"',
      hint: 'nopea.yaml declares "web", "api"; check -s, or give manifest paths on the command line',
    });
  });
});
