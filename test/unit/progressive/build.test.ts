import { describe, expect, it } from 'vitest';
import { NopeaError, type Problem } from '../../../src/errors.js';
import { buildRollout, type ProgressiveStrategy } from '../../../src/progressive/build.js';
import { builtinCatalog, type ResourceCatalog } from '../../../src/resources/catalog.js';
import type { DesiredObject } from '../../../src/resources/identify.js';
import { parseConfig } from '../../../src/source/config.js';
import { DEFAULT_CANARY_STEPS } from '../../../src/strategy/steps.js';
import {
  NAMESPACE,
  ROLLOUT_TYPES,
  clusterCatalog,
  desired,
  podinfo,
  service,
  webDeployment,
} from './fixtures.js';

const MANAGED = { 'app.kubernetes.io/managed-by': 'nopea' };
const SERVICE_TYPE = builtinCatalog().lookup('v1', 'Service').found!;
const canary: ProgressiveStrategy = { name: 'canary', steps: DEFAULT_CANARY_STEPS };
const blueGreen: ProgressiveStrategy = { name: 'blue-green' };

function build(
  objects: DesiredObject[],
  strategy: ProgressiveStrategy = canary,
  catalog: ResourceCatalog = clusterCatalog(),
) {
  return buildRollout({ service: 'web', desired: objects, strategy, catalog });
}

/** The problems the builder refuses with (an input error, nothing built). */
function refusal(
  objects: DesiredObject[],
  strategy: ProgressiveStrategy = canary,
  catalog: ResourceCatalog = clusterCatalog(),
): Problem[] {
  try {
    build(objects, strategy, catalog);
  } catch (err) {
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).kind).toBe('input');
    return (err as NopeaError).problems;
  }
  throw new Error('expected the builder to refuse');
}

describe('buildRollout: canary', () => {
  it("turns podinfo's Deployment into a Rollout with the steps, analysis and HTTPRoute, template copied as it is", async () => {
    const objects = await podinfo();
    const [deployment, svc, hpa] = objects as [DesiredObject, DesiredObject, DesiredObject];
    // The settings as nopea.yaml gives them to the builder.
    const config = parseConfig(
      [
        'services:',
        '  - name: podinfo',
        '    paths: [podinfo/kustomize]',
        '    namespace: shop',
        '    canary:',
        '      steps: [{weight: 10, pause: 30s}, {weight: 50, pause: gate}, {weight: 75, pause: 1m30s}, {weight: 100}]',
        '      analysis: {warmupDuration: 120s, metrics: [{name: error-rate, threshold: 5}, {name: latency-p95, threshold: 0.5}]}',
        '      httpRoute: podinfo',
      ].join('\n'),
    );
    const { steps = [], analysis, httpRoute } = config.services[0]!.canary!;
    const built = buildRollout({
      service: 'podinfo',
      desired: objects,
      strategy: { name: 'canary', steps, analysis, httpRoute },
      catalog: clusterCatalog(),
    });
    const template = (deployment.object.spec as { template: unknown }).template;
    expect(built.rollout).toEqual({
      id: 'kulta.io/Rollout/shop/podinfo',
      ref: { group: 'kulta.io', kind: 'Rollout', namespace: NAMESPACE, name: 'podinfo' },
      type: ROLLOUT_TYPES[0],
      origin: { file: 'podinfo/kustomize/deployment.yaml', line: 1 },
      crdPending: false,
      object: {
        apiVersion: 'kulta.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'podinfo', namespace: NAMESPACE, labels: MANAGED },
        spec: {
          // podinfo leaves replicas to its HPA: Kulta's default, 1.
          replicas: 1,
          selector: { matchLabels: { app: 'podinfo' } },
          template,
          strategy: {
            canary: {
              stableService: 'podinfo-stable',
              canaryService: 'podinfo-canary',
              port: 9898,
              steps: [
                { setWeight: 10, pause: { duration: '30s' } },
                { setWeight: 50, pause: {} },
                { setWeight: 75, pause: { duration: '90s' } },
                { setWeight: 100 },
              ],
              analysis: {
                warmupDuration: '2m',
                metrics: [
                  { name: 'error-rate', threshold: 5 },
                  { name: 'latency-p95', threshold: 0.5 },
                ],
              },
              trafficRouting: { gatewayAPI: { httpRoute: 'podinfo' } },
            },
          },
        },
      },
    });
    // A copy: nothing done to the Rollout later reaches the Deployment handed over.
    expect((built.rollout.object.spec as { template: unknown }).template).not.toBe(template);
    expect(template).toMatchObject({ metadata: { annotations: { 'prometheus.io/scrape': 'true' } } });
    // What does nothing in Kulta, or breaks a long gate, is never written (contract §2, §9).
    expect(JSON.stringify(built.rollout.object)).not.toMatch(
      /progressDeadlineSeconds|maxSurge|maxUnavailable|autoPromotion|failurePolicy|minReadySeconds/,
    );
    expect(built.objects).toEqual([built.rollout, svc, built.sides[0].object, built.sides[1].object, hpa]);
    expect(built.service).toBe(svc);
    expect(built.replaced).toBe(deployment);
  });

  it("derives the stable and canary Services from podinfo's Service, which stays as it is", async () => {
    const objects = await podinfo();
    const svc = objects[1]!;
    const before = structuredClone(svc.object);
    const built = buildRollout({
      service: 'podinfo',
      desired: objects,
      strategy: canary,
      catalog: clusterCatalog(),
    });
    const side = (name: string, type: string) => ({
      id: `/Service/shop/${name}`,
      ref: { group: '', kind: 'Service', namespace: NAMESPACE, name },
      type: SERVICE_TYPE,
      origin: { file: 'podinfo/kustomize/service.yaml', line: 1 },
      crdPending: false,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NAMESPACE, labels: MANAGED },
        spec: {
          type: 'ClusterIP',
          selector: { app: 'podinfo', 'rollouts.kulta.io/type': type },
          ports: [
            { name: 'http', port: 9898, protocol: 'TCP', targetPort: 'http' },
            { port: 9999, targetPort: 'grpc', protocol: 'TCP', name: 'grpc' },
          ],
        },
      },
    });
    expect(built.sides).toEqual([
      { side: 'stable', object: side('podinfo-stable', 'stable') },
      { side: 'canary', object: side('podinfo-canary', 'canary') },
    ]);
    expect(svc.object).toEqual(before);
  });

  it('copies replicas and labels of the Deployment and takes the default steps as given', () => {
    const deployment = webDeployment();
    const built = build([deployment, service('web', { app: 'web' })]);
    expect(built.rollout.object.metadata.labels).toEqual({ app: 'web', team: 'shop', ...MANAGED });
    expect(built.rollout.object.spec).toMatchObject({
      replicas: 4,
      strategy: {
        canary: {
          port: 80,
          steps: [
            { setWeight: 10, pause: { duration: '30s' } },
            { setWeight: 25, pause: { duration: '30s' } },
            { setWeight: 50, pause: { duration: '30s' } },
            { setWeight: 100 },
          ],
        },
      },
    });
    const strategy = (built.rollout.object.spec as { strategy: { canary: object } }).strategy.canary;
    expect(Object.keys(strategy)).toEqual(['stableService', 'canaryService', 'port', 'steps']);
  });
});

describe('buildRollout: blue-green', () => {
  it('builds the blue-green Rollout and ClusterIP active and preview Services from a LoadBalancer Service', () => {
    const deployment = webDeployment();
    const own = service(
      'web',
      { app: 'web' },
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.20',
        clusterIPs: ['10.96.0.20'],
        externalTrafficPolicy: 'Local',
        loadBalancerSourceRanges: ['10.0.0.0/8'],
        allocateLoadBalancerNodePorts: true,
        sessionAffinity: 'ClientIP',
        ipFamilyPolicy: 'SingleStack',
        ports: [
          { name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
          { name: 'admin', port: 9000, nodePort: 30900 },
        ],
      },
    );
    const config = desired(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } },
      'deploy/cm.yaml',
    );
    const built = build([config, deployment, own], { name: 'blue-green', httpRoute: 'web-route' });
    expect(built.rollout.object).toEqual({
      apiVersion: 'kulta.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: NAMESPACE, labels: { app: 'web', team: 'shop', ...MANAGED } },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'front' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
        strategy: {
          blueGreen: {
            activeService: 'web-active',
            previewService: 'web-preview',
            port: 80,
            trafficRouting: { gatewayAPI: { httpRoute: 'web-route' } },
          },
        },
      },
    });
    expect(built.sides.map((s) => [s.side, s.object.id])).toEqual([
      ['active', '/Service/shop/web-active'],
      ['preview', '/Service/shop/web-preview'],
    ]);
    expect(built.sides[1].object.object).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-preview', namespace: NAMESPACE, labels: MANAGED },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'web', 'rollouts.kulta.io/type': 'preview' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'admin', port: 9000 },
        ],
        sessionAffinity: 'ClientIP',
        ipFamilyPolicy: 'SingleStack',
      },
    });
    expect(built.objects.map((d) => d.id)).toEqual([
      '/ConfigMap/shop/web',
      'kulta.io/Rollout/shop/web',
      '/Service/shop/web',
      '/Service/shop/web-active',
      '/Service/shop/web-preview',
    ]);
  });

  it('refuses a Service name too long for its -preview, which a canary can still use', () => {
    const long = `w${'e'.repeat(55)}`;
    const objects = [webDeployment(), service(long, { app: 'web' })];
    expect(build(objects).sides[1].object.ref.name).toHaveLength(63);
    expect(refusal(objects, blueGreen)).toEqual([
      {
        message: `Service shop/${long}: ${long}-preview, the preview Service derived from it, would be 64 characters long; a Service name allows at most 63`,
        hint: "shorten the Service's name to at most 55 characters",
        origin: { file: 'deploy/service.yaml', line: 1 },
        object: `/Service/shop/${long}`,
      },
    ]);
  });
});

describe('buildRollout: which Service', () => {
  it('takes a Service with ports over one without, then the one named like the Deployment, then the first', () => {
    const deployment = webDeployment();
    const headless = service('a-headless', { app: 'web' }, { clusterIP: 'None', ports: [] });
    const front = service('front', { tier: 'front' });
    const own = service('web', { app: 'web', tier: 'front' });
    expect(build([deployment, headless, front, own]).service).toBe(own);
    expect(build([deployment, headless, front]).service).toBe(front);
  });

  it('never takes a Service of another namespace, an ExternalName, an empty selector or one selecting more labels', () => {
    const deployment = webDeployment();
    const elsewhere = desired(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'other' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
      },
      'deploy/other.yaml',
    );
    const external = service(
      'ext',
      { app: 'web' },
      { type: 'ExternalName', externalName: 'web.example.com' },
    );
    const empty = service('all', {});
    const narrower = service('v2', { app: 'web', version: 'v2' });
    const noSelector = service('manual', undefined);
    expect(refusal([deployment, elsewhere, external, empty, narrower, noSelector])).toEqual([
      {
        message:
          'no Service selects the pods of Deployment shop/web (pod labels app=web, tier=front): canary derives its stable and canary Services from the one that does',
        hint: 'add a Service in namespace shop whose selector is some of the pod labels, e.g. selector: {app: web}',
        origin: { file: 'deploy/web.yaml', line: 1 },
        object: 'apps/Deployment/shop/web',
      },
    ]);
  });

  it('refuses when the only Service selecting the pods has no ports', () => {
    const headless = service('web', { app: 'web' }, { clusterIP: 'None', ports: [] });
    expect(refusal([webDeployment(), headless], blueGreen)).toEqual([
      {
        message:
          'Service shop/web selects the pods of Deployment shop/web but has no ports: the active and preview Services derived from it need them',
        hint: 'add the ports the pods serve to the Service',
        origin: { file: 'deploy/service.yaml', line: 1 },
        object: '/Service/shop/web',
      },
    ]);
  });

  it('tells to give the pods labels when the template has none', () => {
    const bare = desired(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
      },
      'deploy/web.yaml',
    );
    expect(refusal([bare, service('web', { app: 'web' })])).toEqual([
      expect.objectContaining({
        message:
          'no Service selects the pods of Deployment shop/web: canary derives its stable and canary Services from the one that does',
        hint: 'give the pod template labels, and add a Service whose selector matches them',
      }),
    ]);
  });
});

describe('buildRollout: refusals', () => {
  it('refuses a service without a Deployment', () => {
    expect(refusal([service('web', { app: 'web' })])).toEqual([
      {
        message: "service web has no Deployment: canary turns the service's Deployment into a Kulta Rollout",
        hint: "add the service's Deployment to its manifests, or deploy with --strategy direct",
      },
    ]);
  });

  it('refuses a service with several Deployments, naming each at its file and line', () => {
    const objects = [
      webDeployment('web', 'deploy/web.yaml'),
      webDeployment('worker', 'deploy/worker.yaml'),
      service('web', { app: 'web' }),
    ];
    expect(refusal(objects, blueGreen)).toEqual([
      {
        message:
          'service web has 2 Deployments (shop/web, shop/worker): blue-green needs exactly one, to turn into a Kulta Rollout',
        hint: 'give each Deployment its own service in nopea.yaml, or deploy with --strategy direct',
      },
      ...['web', 'worker'].map((name) => ({
        message: `Deployment shop/${name} is one of the 2`,
        hint: 'a progressive service has one Deployment',
        origin: { file: `deploy/${name}.yaml`, line: 1 },
        object: `apps/Deployment/shop/${name}`,
      })),
    ]);
  });

  it('says Kulta is not installed when the cluster does not serve rollouts.kulta.io, with every other problem', () => {
    expect(refusal([service('web', { app: 'web' })], canary, clusterCatalog([]))).toEqual([
      {
        message:
          'canary runs through Kulta, which is not installed: the cluster does not serve rollouts.kulta.io',
        hint: 'install Kulta (its CRD and controller) in the cluster, or deploy with --strategy direct',
      },
      expect.objectContaining({ message: expect.stringContaining('service web has no Deployment') }),
    ]);
  });

  it('refuses a Kulta CRD that does not serve v1alpha1, the version the controller watches', () => {
    const objects = [webDeployment(), service('web', { app: 'web' })];
    expect(refusal(objects, canary, clusterCatalog([ROLLOUT_TYPES[1]!]))).toEqual([
      {
        message:
          "canary writes Rollouts as kulta.io/v1alpha1, the version Kulta's controller watches, but the cluster serves rollouts.kulta.io only as kulta.io/v1beta1",
        hint: "install Kulta's CRD with v1alpha1 served, or deploy with --strategy direct",
      },
    ]);
  });

  it('refuses manifests that already hold what it writes: the Rollout or a derived Service', () => {
    const rollout = desired(
      { apiVersion: 'kulta.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: {} },
      'deploy/rollout.yaml',
      3,
    );
    const mine = service(
      'web-canary',
      { app: 'web', 'rollouts.kulta.io/type': 'canary' },
      {},
      'deploy/canary.yaml',
    );
    const hint = "remove it from the manifests: nopea writes it and keeps it in the service's inventory";
    expect(refusal([webDeployment(), service('web', { app: 'web' }), rollout, mine])).toEqual([
      {
        message:
          'kulta.io/Rollout/shop/web is in the manifests, but canary builds it from Deployment shop/web',
        hint,
        origin: { file: 'deploy/rollout.yaml', line: 3 },
        object: 'kulta.io/Rollout/shop/web',
      },
      {
        message: '/Service/shop/web-canary is in the manifests, but canary derives it from Service shop/web',
        hint,
        origin: { file: 'deploy/canary.yaml', line: 1 },
        object: '/Service/shop/web-canary',
      },
    ]);
  });

  it('refuses steps and a warm-up Kulta would reject, when they come from elsewhere than the flag or nopea.yaml', () => {
    const objects = [webDeployment(), service('web', { app: 'web' })];
    const strategy: ProgressiveStrategy = {
      name: 'canary',
      steps: [{ weight: 20, pause: { seconds: 0 } }, { weight: 50 }],
      analysis: { metrics: [{ name: 'error-rate', threshold: 5 }], warmupSeconds: 0.5 },
    };
    expect(refusal(objects, strategy)).toEqual([
      {
        message: 'service web: canary step 1 pause of 0 seconds cannot be given to Kulta',
        hint: 'use whole seconds from 1 to 604800 that Kulta can write as one number and unit',
      },
      {
        message: 'service web: canary analysis warmup of 0.5 seconds cannot be given to Kulta',
        hint: 'use whole seconds from 1 up to 168 hours',
      },
    ]);
    expect(refusal(objects, { name: 'canary', steps: [] })).toEqual([
      {
        message: 'service web: canary steps are empty: Kulta needs at least one step',
        hint: 'e.g. 10:30s,50:gate,100',
      },
    ]);
  });

  it('builds offline, taking the Rollout type as Kulta’s CRD defines it', () => {
    const built = build([webDeployment(), service('web', { app: 'web' })], canary, builtinCatalog());
    expect(built.rollout.type).toEqual({
      group: 'kulta.io',
      version: 'v1alpha1',
      kind: 'Rollout',
      plural: 'rollouts',
      namespaced: true,
      verbs: [],
    });
  });
});
