import { describe, expect, it } from 'vitest';
import { qualifies } from '../../../src/progressive/qualify.js';
import { ResourceCatalog, builtinCatalog } from '../../../src/resources/catalog.js';
import { ROLLOUT_TYPES, clusterCatalog, podinfo, service, webDeployment } from './fixtures.js';

describe('qualifies', () => {
  it('follows canary advice for podinfo on a cluster that runs Kulta', async () => {
    expect(qualifies(await podinfo(), clusterCatalog())).toEqual({ ok: true });
  });

  it('says why not, in a few words, without throwing', async () => {
    const own = service('web', { app: 'web' });
    expect(qualifies(await podinfo(), clusterCatalog([]))).toEqual({
      ok: false,
      why: 'Kulta is not installed (the cluster does not serve rollouts.kulta.io)',
    });
    expect(qualifies([webDeployment(), own], clusterCatalog([ROLLOUT_TYPES[1]!]))).toEqual({
      ok: false,
      why: 'the cluster serves rollouts.kulta.io only as kulta.io/v1beta1, not as kulta.io/v1alpha1',
    });
    expect(qualifies([own], clusterCatalog())).toEqual({ ok: false, why: 'the service has no Deployment' });
    expect(qualifies([webDeployment('web'), webDeployment('worker'), own], clusterCatalog())).toEqual({
      ok: false,
      why: 'the service has 2 Deployments (shop/web, shop/worker)',
    });
    expect(qualifies([webDeployment(), service('api', { app: 'api' })], clusterCatalog())).toEqual({
      ok: false,
      why: 'no Service selects the pods of Deployment shop/web',
    });
    expect(
      qualifies([webDeployment(), own, service('web-stable', { app: 'web' })], clusterCatalog()),
    ).toEqual({
      ok: false,
      why: '/Service/shop/web-stable is already in the manifests',
    });
  });

  it('does not follow advice offline, where nothing says Kulta is there', () => {
    const objects = [webDeployment(), service('web', { app: 'web' })];
    expect(qualifies(objects, builtinCatalog())).toEqual({
      ok: false,
      why: 'offline, it is unknown whether the cluster runs Kulta',
    });
    const offlineWithKulta = new ResourceCatalog([...builtinCatalog().types(), ROLLOUT_TYPES[0]!], false);
    expect(qualifies(objects, offlineWithKulta)).toEqual({ ok: true });
  });
});
