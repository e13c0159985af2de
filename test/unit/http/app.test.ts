import { describe, expect, test } from 'vitest';
import { createApp, Lifecycle, type AppOptions } from '../../../src/http/app.js';
import { apiKeysFrom } from '../../../src/http/auth.js';
import { API_ROUTES } from '../../../src/http/routes.js';
import { NopeaError } from '../../../src/errors.js';
import {
  OPERATIONS,
  type Answer,
  type OperationContext,
  type OperationName,
} from '../../../src/surface/api.js';
import { checkAnswer, type OpenApiDoc } from './openapi-check.js';

const REPO = '/srv/nopea/repo';

interface Call {
  name: OperationName;
  request: unknown;
  ctx: OperationContext;
}

function setup(
  opts: {
    env?: NodeJS.ProcessEnv;
    answer?: (call: Call) => Answer | Promise<Answer>;
    overrides?: Partial<AppOptions>;
  } = {},
) {
  const calls: Call[] = [];
  const logs: string[] = [];
  const lifecycle = new Lifecycle();
  const app = createApp({
    keys: apiKeysFrom(opts.env ?? {}),
    context: { cwd: REPO, kubeconfig: '/home/ci/.kube/config' },
    remote: 'origin',
    lifecycle,
    log: (line) => logs.push(line),
    isRepository: () => Promise.resolve(true),
    metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: 'nopea_up 1\n' }),
    run: async (name, request, ctx) => {
      const call: Call = { name, request, ctx: ctx ?? {} };
      calls.push(call);
      return opts.answer ? opts.answer(call) : { status: 'succeeded', result: { services: [] } };
    },
    ...opts.overrides,
  });
  const doc = async (): Promise<OpenApiDoc> =>
    (await (await app.request('/api/openapi.json')).json()) as OpenApiDoc;
  return { app, calls, logs, lifecycle, doc };
}

const KEYS = { NOPEA_API_KEYS: 'read-one, read-two', NOPEA_API_WRITE_KEYS: 'write-one' };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Every string of a body, for scans. */
function text(body: unknown): string {
  return JSON.stringify(body);
}

function expectNoLeak(body: unknown): void {
  const t = text(body);
  expect(t).not.toMatch(/\s+at\s+\S+\s+\(|at file:|node:internal|\.ts:\d+:\d+/);
  expect(t).not.toMatch(/\/(srv|home|tmp|work|root|usr)\//);
}

describe('open routes and request ids', () => {
  test('/health and /ready answer without a key, with an x-request-id', async () => {
    const { app } = setup({ env: KEYS });
    const health = await app.request('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const ready = await app.request('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { repository: 'ok', server: 'ok' } });
  });

  test('/ready is 503 while the repository is no git repository, and while shutting down', async () => {
    const notRepo = setup({ overrides: { isRepository: () => Promise.resolve(false) } });
    const res = await notRepo.app.request('/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, checks: { repository: 'not a git repository' } });
    const { app, lifecycle } = setup();
    lifecycle.draining = true;
    const draining = await app.request('/ready');
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ ready: false, checks: { server: 'shutting down' } });
    const refused = await app.request('/api/services');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { kind: 'unavailable' } });
  });

  test('an x-request-id the client sends is kept, and every error names it', async () => {
    const { app } = setup({ env: KEYS });
    const res = await app.request('/api/services', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    expect(await res.json()).toMatchObject({ error: { kind: 'unauthorized', requestId: 'abc-123' } });
  });
});

describe('API keys', () => {
  test('no key and a wrong key are 401 with WWW-Authenticate; a right one passes, as bearer or x-api-key', async () => {
    const { app, calls } = setup({ env: KEYS });
    for (const headers of [
      {} as Record<string, string>,
      bearer('nope'),
      { 'x-api-key': 'read-onex' },
      { authorization: 'Basic read-one' },
    ]) {
      const res = await app.request('/api/services', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.json();
      expect(body).toMatchObject({ error: { kind: 'unauthorized', message: expect.any(String) } });
    }
    expect(calls).toHaveLength(0);
    for (const headers of [
      bearer('read-one'),
      bearer('read-two'),
      { 'x-api-key': 'read-two' },
      bearer('write-one'),
    ]) {
      expect((await app.request('/api/services', { headers })).status).toBe(200);
    }
    expect(calls.map((c) => c.name)).toEqual(['services', 'services', 'services', 'services']);
  });

  test('/metrics takes the same keys as reads', async () => {
    const { app } = setup({ env: KEYS });
    expect((await app.request('/metrics')).status).toBe(401);
    const res = await app.request('/metrics', { headers: bearer('read-one') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toBe('nopea_up 1\n');
  });

  test('with write keys, a read key may not deploy (403) but may dry-run and diff', async () => {
    const { app, calls } = setup({ env: KEYS });
    const denied = await app.request('/api/deploy', post({ service: 'web' }, bearer('read-one')));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { kind: 'forbidden' } });
    for (const path of ['/api/promote/d1', '/api/rollback/d1']) {
      expect((await app.request(path, post({}, bearer('read-two')))).status).toBe(403);
    }
    expect(calls).toHaveLength(0);
    expect(
      (await app.request('/api/deploy', post({ service: 'web', dryRun: true }, bearer('read-one')))).status,
    ).toBe(200);
    expect((await app.request('/api/diff', post({}, bearer('read-one')))).status).toBe(200);
    expect((await app.request('/api/deploy', post({ service: 'web' }, bearer('write-one')))).status).toBe(
      200,
    );
    expect(calls.map((c) => c.name)).toEqual(['sync', 'diff', 'sync']);
  });

  test('without write keys every API key may write; without any key the API is open', async () => {
    const { app } = setup({ env: { NOPEA_API_KEYS: 'k1' } });
    expect((await app.request('/api/deploy', post({}, bearer('k1')))).status).toBe(200);
    const open = setup();
    expect((await open.app.request('/api/deploy', post({}))).status).toBe(200);
  });
});

describe('requests reach the operation with the fields of path, query and body', () => {
  test('each route calls its operation', async () => {
    const { app, calls } = setup();
    const cases: [string, RequestInit | undefined, OperationName, unknown][] = [
      ['/api/services', undefined, 'services', {}],
      ['/api/status/web', undefined, 'status', { service: 'web' }],
      ['/api/health/web', undefined, 'health', { service: 'web' }],
      ['/api/context/web', undefined, 'context', { service: 'web' }],
      ['/api/history/web?limit=3', undefined, 'history', { service: 'web', limit: 3 }],
      ['/api/explain/web', undefined, 'explain', { service: 'web' }],
      ['/api/memory', undefined, 'memory', {}],
      ['/api/diff', post({ service: 'web', offline: true }), 'diff', { service: 'web', offline: true }],
      ['/api/deploy', post({ service: 'web', wait: false }), 'sync', { service: 'web', wait: false }],
      ['/api/promote/d1', post({ full: true }), 'promote', { deployId: 'd1', full: true }],
      ['/api/rollback/d2', { method: 'POST' }, 'rollback', { deployId: 'd2' }],
    ];
    for (const [path, init, name, request] of cases) {
      const res = await app.request(path, init);
      expect(res.status, path).toBe(200);
      expect(calls.at(-1)).toMatchObject({ name, request });
    }
    // The server's settings, never the request's, say where operations run.
    expect(calls.every((c) => c.ctx.cwd === REPO && c.ctx.kubeconfig === '/home/ci/.kube/config')).toBe(true);
  });

  test('every operation of the facade but none is served, and the document lists every route', async () => {
    const { doc } = setup();
    const d = await doc();
    expect(d.openapi).toBe('3.1.0');
    expect(new Set(API_ROUTES.map((r) => r.operation))).toEqual(new Set(Object.keys(OPERATIONS)));
    for (const r of API_ROUTES) {
      expect(d.paths[r.route.path]?.[r.route.method], r.route.path).toBeDefined();
    }
    for (const path of ['/health', '/ready', '/metrics']) expect(d.paths[path]?.get).toBeDefined();
  });
});

describe('validation and errors', () => {
  test('an invalid request is 400 naming the field, before anything runs', async () => {
    const { app, calls, doc } = setup();
    const d = await doc();
    const cases: [string, RequestInit | undefined, RegExp][] = [
      ['/api/deploy', post({ service: 'web', dryrun: true }), /dryrun/],
      ['/api/deploy', post({ strategy: 'yolo' }), /strategy/],
      ['/api/history/web?limit=0', undefined, /limit/],
      ['/api/history/web?limit=ten', undefined, /limit/],
      ['/api/deploy', post({ ref: '--upload-pack=evil' }), /ref/],
      ['/api/deploy', post({ ref: 'main/../../x' }), /ref/],
      ['/api/status/web?colour=red', undefined, /colour|Unrecognized/],
      ['/api/status/web?namespace=prod', undefined, /namespace/],
      ['/api/services?service=web', undefined, /service/],
      ['/api/deploy?dryRun=true', post({}), /dryRun/],
    ];
    for (const [path, init, field] of cases) {
      const res = await app.request(path, init);
      const body = (await res.json()) as { error: { kind: string; problems: { message: string }[] } };
      expect(res.status, path).toBe(400);
      expect(body.error.kind).toBe('input');
      expect(body.error.problems.map((p) => p.message).join('\n'), path).toMatch(field);
      expect(checkAnswer(d, init?.method ?? 'GET', path, res.status, body)).toEqual([]);
    }
    expect(calls).toHaveLength(0);
  });

  test('malformed JSON is 400, another content type 415, an unknown route 404, a big body 413', async () => {
    const { app, calls } = setup({ overrides: { maxBodyBytes: 1024 } });
    const malformed = await app.request('/api/deploy', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"service":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { kind: 'input' } });
    const form = await app.request('/api/deploy', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({ error: { kind: 'unsupported-media-type' } });
    const missing = await app.request('/api/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { kind: 'not-found' } });
    const big = await app.request('/api/deploy', post({ service: 'web', paths: ['x'.repeat(2000)] }));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { kind: 'too-large' } });
    expect(calls).toHaveLength(0);
  });

  test('statuses map through meaningOf; failures keep the result and add the error', async () => {
    const failed = {
      services: [
        {
          service: 'web',
          deployId: 'd1',
          outcome: 'failed',
          durationMs: 5,
          error: {
            kind: 'deploy',
            problems: [{ message: 'Deployment web: ImagePullBackOff', reason: 'ImagePullBackOff' }],
          },
        },
      ],
    };
    const answers: [Answer, number][] = [
      [{ status: 'succeeded', result: { services: [] } }, 200],
      [{ status: 'paused', result: { services: [] } }, 202],
      [
        {
          status: 'refused',
          error: { kind: 'guard', problems: [{ message: 'prune of 12 objects exceeds --max-prune 10' }] },
        },
        409,
      ],
      [{ status: 'failed', result: failed }, 502],
      [{ status: 'cancelled', error: { kind: 'cancelled', problems: [{ message: 'cancelled' }] } }, 503],
    ];
    for (const [answer, status] of answers) {
      const { app, doc } = setup({ answer: () => answer });
      const res = await app.request('/api/deploy', post({}));
      const body = await res.json();
      expect(res.status).toBe(status);
      expect(checkAnswer(await doc(), 'POST', '/api/deploy', status, body)).toEqual([]);
      if (status === 502) {
        expect(body).toMatchObject({
          services: [{ deployId: 'd1' }],
          error: {
            kind: 'deploy',
            message: 'Deployment web: ImagePullBackOff',
            requestId: expect.any(String),
          },
        });
      }
    }
  });

  test('internal errors and exceptions never reach the body; the log has them under the request id', async () => {
    const boom = new Error('ENOENT: no such file /srv/nopea/repo/src/secret.ts');
    const cases: Call['name'][] = [];
    for (const answer of [
      () => {
        throw boom;
      },
      (): Answer => ({
        status: 'failed',
        error: { kind: 'internal', problems: [{ message: `TypeError at ${boom.stack}` }] },
      }),
      (): Answer => ({
        status: 'failed',
        result: {
          services: [
            {
              service: 'web',
              deployId: 'd',
              outcome: 'failed',
              durationMs: 1,
              error: {
                kind: 'internal',
                problems: [{ message: 'x is undefined\n    at f (/srv/nopea/src/a.ts:1:2)' }],
              },
            },
          ],
        },
      }),
    ]) {
      const { app, logs } = setup({ answer });
      const res = await app.request('/api/deploy', post({}));
      const body = (await res.json()) as { error: { kind: string; requestId: string } };
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(body.error.kind).toBe('internal');
      expect(text(body)).not.toMatch(/ENOENT|undefined|TypeError|secret/);
      expectNoLeak(body);
      expect(logs.some((l) => l.startsWith(body.error.requestId) && /internal error/.test(l))).toBe(true);
      cases.push('sync');
    }
    expect(cases).toHaveLength(3);
  });

  test("problems keep the caller's manifests, relative, without server paths or stack frames", async () => {
    const { app } = setup({
      answer: () => {
        throw new NopeaError('input', [
          {
            message: `${REPO}/deploy/web.yaml:3: spec.replicas: expected a number`,
            origin: { file: 'deploy/web.yaml', line: 3 },
          },
          { message: 'no kubeconfig: tried /home/ci/.kube/config\n    at load (/srv/nopea/src/x.ts:1:1)' },
        ]);
      },
    });
    const res = await app.request('/api/deploy', post({}));
    const body = (await res.json()) as { error: { problems: { message: string }[] } };
    expect(res.status).toBe(400);
    expect(body.error.problems[0]!.message).toBe('deploy/web.yaml:3: spec.replicas: expected a number');
    expect(body.error.problems[1]!.message).toBe('no kubeconfig: tried <path>');
    expectNoLeak(body);
  });
});

test('a result keeps its values (manifests may hold paths) but its errors are scrubbed', async () => {
  const { app } = setup({
    answer: () => ({
      status: 'failed',
      result: {
        services: [
          {
            service: 'web',
            deployId: 'd',
            outcome: 'failed',
            durationMs: 1,
            plan: { entries: [{ after: { data: { log: '/var/log/app' } }, file: `${REPO}/deploy/a.yaml` }] },
            error: { kind: 'cluster', problems: [{ message: 'cannot read /var/run/secrets/token' }] },
          },
        ],
      },
    }),
  });
  const res = await app.request('/api/deploy', post({}));
  expect(res.status).toBe(502);
  const body = await res.json();
  expect(body).toMatchObject({
    services: [
      {
        plan: { entries: [{ after: { data: { log: '/var/log/app' } }, file: 'deploy/a.yaml' }] },
        error: { problems: [{ message: 'cannot read <path>' }] },
      },
    ],
    error: { kind: 'cluster', message: 'cannot read <path>' },
  });
});

describe('locks and refs', () => {
  test("a deploy that meets another run's lock stops waiting and answers 409 naming the holder", async () => {
    const { app } = setup({
      answer: ({ ctx }) => {
        ctx.onEvent?.({ type: 'lock-wait', service: 'web', holder: 'd-other@ci-7', expiresInSeconds: 60 });
        expect(ctx.signal?.aborted).toBe(true);
        return {
          status: 'cancelled',
          result: { services: [{ service: 'web', deployId: 'd2', outcome: 'cancelled', durationMs: 1 }] },
        };
      },
    });
    const res = await app.request('/api/deploy', post({ service: 'web' }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({
      error: { kind: 'locked', message: 'service web is locked by another deploy: d-other@ci-7' },
      services: [{ deployId: 'd2' }],
    });
  });

  test('a lock taken within --lock-wait goes on', async () => {
    const { app } = setup({
      overrides: { lockWaitMs: 60_000 },
      answer: ({ ctx }) => {
        ctx.onEvent?.({ type: 'lock-wait', service: 'web', holder: 'd-other', expiresInSeconds: 60 });
        ctx.onEvent?.({ type: 'stage', service: 'web', stage: 'apply' });
        expect(ctx.signal?.aborted).toBe(false);
        return { status: 'succeeded', result: { services: [] } };
      },
    });
    expect((await app.request('/api/deploy', post({ service: 'web' }))).status).toBe(200);
  });

  test('a ref is checked out for the run and removed after; without one the repository is used', async () => {
    const removed: string[] = [];
    const { app, calls } = setup({
      overrides: {
        checkout: (repo, remote, ref) => {
          expect([repo, remote, ref]).toEqual([REPO, 'origin', 'release/1.2']);
          const dir = '/tmp/nopea-serve-abc';
          return Promise.resolve({
            dir,
            commit: 'c'.repeat(40),
            remove: () => Promise.resolve(void removed.push(dir)),
          });
        },
      },
      answer: () => {
        throw new NopeaError('input', {
          message: 'bad manifest',
          origin: { file: '/tmp/nopea-serve-abc/deploy/a.yaml', line: 1 },
        });
      },
    });
    const res = await app.request('/api/deploy', post({ service: 'web', ref: 'release/1.2' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { problems: [{ origin: { file: 'deploy/a.yaml' } }] } });
    expect(calls[0]!.ctx.cwd).toBe('/tmp/nopea-serve-abc');
    expect(calls[0]!.request).toEqual({ service: 'web' });
    expect(removed).toEqual(['/tmp/nopea-serve-abc']);
    await app.request('/api/deploy', post({ service: 'web' }));
    expect(calls[1]!.ctx.cwd).toBe(REPO);
  });
});
