// `nopea serve` as a user runs it: spawned from source on a free loopback port, in a temp repository
// with a bare remote, against the test cluster; real requests with fetch.
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace, waitFor } from '../../helpers/cluster.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';
import { getLive, readState, scenario } from '../sync/scenario.js';
import { READ_KEY, WRITE_KEY, serve, spawnServe, type Served } from './serve-process.js';
import { checkAnswer, templateOf, type OpenApiDoc } from '../../unit/http/openapi-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function webRepo(ns: string, vars: Record<string, string> = {}): Promise<TestRepo> {
  const repo = await makeRepo({
    files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0', NS: ns, ...vars }, 'app'),
  });
  onTestFinished(() => repo.cleanup());
  return repo;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Absolute paths of this machine that no answer may show. */
function leakPatterns(repo: TestRepo): RegExp[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    new RegExp(escape(repo.work)),
    new RegExp(escape(tmpdir())),
    new RegExp(escape(homedir())),
    new RegExp(escape(root)),
    /\n\s+at\s/,
    /\bat\s+\S+\s+\((?:\/|file:|node:)/,
    /node:internal/,
    /\.(?:ts|js|mjs):\d+:\d+/,
  ];
}

/** A client of one server that checks every answer against the OpenAPI document and for leaks. */
function client(served: Served, repo: TestRepo, doc: OpenApiDoc) {
  const seen: string[] = [];
  return {
    seen,
    async call(
      method: string,
      route: string,
      opts: { body?: unknown; key?: string | null; undocumented?: boolean } = {},
    ): Promise<Answer> {
      const headers: Record<string, string> = {};
      const key = opts.key === undefined ? WRITE_KEY : opts.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${served.url}${route}`, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
      const text = await res.text();
      const isJson = res.headers.get('content-type')?.includes('application/json') ?? false;
      const body: unknown = isJson ? JSON.parse(text) : text;
      expect(res.headers.get('x-request-id'), route).toBeTruthy();
      if (!opts.undocumented) {
        expect(checkAnswer(doc, method, route, res.status, body), `${method} ${route}: ${text}`).toEqual([]);
      }
      if (res.status >= 400) {
        expect(body, text).toMatchObject({
          error: {
            kind: expect.any(String),
            message: expect.any(String),
            requestId: res.headers.get('x-request-id'),
          },
        });
        for (const pattern of leakPatterns(repo))
          expect(text, `${route} leaks ${pattern}`).not.toMatch(pattern);
      }
      seen.push(`${method} ${templateOf(doc, route) ?? route}`);
      return { status: res.status, headers: res.headers, body, text };
    },
  };
}

async function openApi(served: Served): Promise<OpenApiDoc> {
  const res = await fetch(`${served.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as OpenApiDoc;
}

type SyncBody = { services: { service: string; deployId: string; outcome: string; stateCommit?: string }[] };

describe('nopea serve', () => {
  const ns = useNamespace('http-serve');

  it('refuses to serve beyond loopback without a key (exit 2), and warns when open on loopback', async () => {
    const refused = spawnServe(['--host', '0.0.0.0'], { cwd: tmpdir() });
    expect(await refused.exited).toBe(2);
    expect(refused.stderr()).toMatch(/refusing to serve on 0\.0\.0\.0 without an API key/);
    expect(refused.stderr()).toMatch(/NOPEA_API_KEYS/);

    const repo = await webRepo(ns.name);
    const open = await serve(repo, [], {});
    expect(open.stderr()).toMatch(/warning: no API key is set/);
    const res = await fetch(`${open.url}/api/services`);
    expect(res.status).toBe(200);
  });

  it('serves every route, with keys, answers that match its OpenAPI document, and no leaks', async () => {
    const repo = await webRepo(ns.name);
    const served = await serve(repo);
    const doc = await openApi(served);
    const api = client(served, repo, doc);

    // Open routes, and auth on the others.
    expect((await api.call('GET', '/health', { key: null })).status).toBe(200);
    expect((await api.call('GET', '/ready', { key: null })).body).toMatchObject({ ready: true });
    for (const key of [null, 'wrong-key', `${READ_KEY}x`]) {
      const res = await api.call('GET', '/api/services', { key });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    for (const key of ['old-key', READ_KEY, WRITE_KEY]) {
      expect((await api.call('GET', '/api/services', { key })).status).toBe(200);
    }
    expect((await api.call('GET', '/metrics', { key: null })).status).toBe(401);
    const metrics = await api.call('GET', '/metrics', { key: READ_KEY });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);

    const target = { service: 'web', namespace: ns.name, paths: ['app'] };
    // A read key may plan but not deploy.
    const denied = await api.call('POST', '/api/deploy', { key: READ_KEY, body: target });
    expect(denied.status).toBe(403);
    const dry = await api.call('POST', '/api/deploy', { key: READ_KEY, body: { ...target, dryRun: true } });
    expect(dry.status, dry.text).toBe(200);
    const diff = await api.call('POST', '/api/diff', { key: READ_KEY, body: target });
    expect(diff.status, diff.text).toBe(200);

    const deployed = await api.call('POST', '/api/deploy', { body: { ...target, timeout: '60s' } });
    expect(deployed.status, deployed.text).toBe(200);
    const run = (deployed.body as SyncBody).services[0]!;
    expect(run.outcome).toBe('succeeded');
    expect((await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`))?.metadata.name).toBe('web');
    // The server's own registry counted that deploy and its API requests.
    const counted = await api.call('GET', '/metrics', { key: READ_KEY });
    expect(counted.text).toMatch(
      /^nopea_deploys_total\{service="web",strategy="direct",outcome="succeeded"\} 1$/m,
    );
    expect(counted.text).toMatch(/^nopea_plan_objects_total\{service="web",class="create"\} [1-9]/m);
    expect(counted.text, counted.text).toMatch(
      /^nopea_kube_api_requests_total\{verb="apply",code="20[01]"\} [1-9]/m,
    );

    const services = await api.call('GET', '/api/services');
    expect(services.body).toMatchObject({ services: [{ service: 'web' }] });
    expect((await api.call('GET', '/api/status/web')).body).toMatchObject({ service: 'web' });
    const history = await api.call('GET', '/api/history/web?limit=1');
    expect(history.status, history.text).toBe(200);
    expect(history.text).toContain(run.deployId);
    for (const route of ['/api/context/web', `/api/explain/web?namespace=${ns.name}`, '/api/memory']) {
      const res = await api.call('GET', route);
      expect(res.status, `${route}: ${res.text}`).toBe(200);
    }
    const health = await api.call('GET', '/api/health/web');
    expect(health.status, health.text).toBe(200);
    expect(health.body).toMatchObject({ healthy: true });

    // No progressive rollout to move: an error answer in the error shape, without internals.
    for (const action of ['promote', 'rollback']) {
      const res = await api.call('POST', `/api/${action}/${run.deployId}`, {
        body: { service: 'web', wait: false },
      });
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    }

    // Errors: invalid input naming the field, an unknown route, a malformed body, an unknown service.
    const invalid = await api.call('POST', '/api/deploy', { body: { ...target, replicas: 3 } });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/replicas/);
    expect((await api.call('GET', '/api/nothing-here', { undocumented: true })).status).toBe(404);
    const badPaths = await api.call('POST', '/api/diff', { body: { ...target, paths: ['missing/dir'] } });
    expect(badPaths.status, badPaths.text).toBeGreaterThanOrEqual(400);
    const noFile = await api.call('POST', '/api/deploy', { body: { ...target, paths: ['../../etc'] } });
    expect(noFile.status, noFile.text).toBeGreaterThanOrEqual(400);

    // Every documented route was called.
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(documented.filter((r) => r !== 'GET /api/openapi.json' && !api.seen.includes(r))).toEqual([]);
  });

  it('limits bodies (413) and cuts off a client that sends its request too slowly', async () => {
    const repo = await webRepo(ns.name);
    const served = await serve(repo, ['--read-timeout', '2s']);
    const doc = await openApi(served);
    const api = client(served, repo, doc);
    const big = await api.call('POST', '/api/deploy', {
      body: { service: 'web', paths: Array.from({ length: 90 }, () => 'x'.repeat(4096 * 3)) },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: { kind: 'too-large' } });

    const { port } = new URL(served.url);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        // Headers begun, never finished.
        socket.write(
          `GET /api/services HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${WRITE_KEY}\r\n`,
        );
      });
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept a slow client for 20 s'));
      }, 20_000);
    });
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
    // And still serves others.
    expect((await api.call('GET', '/health', { key: null })).status).toBe(200);
  });

  it('answers 409 naming the holder to a second deploy of a service whose deploy is running', async () => {
    // minReadySeconds keeps the first deploy in its health wait, holding the Lease.
    const repo = await webRepo(ns.name, { MIN_READY: '6' });
    const served = await serve(repo);
    const api = client(served, repo, await openApi(served));
    const body = { service: 'web', namespace: ns.name, paths: ['app'], timeout: '60s' };
    const first = api.call('POST', '/api/deploy', { body });
    await waitFor(() => /web: wait/.test(served.stderr()), {
      what: 'the first deploy to hold the lock',
      timeoutMs: 60_000,
    });
    const second = await api.call('POST', '/api/deploy', { body });
    expect(second.status, second.text).toBe(409);
    const done = await first;
    expect(done.status, done.text).toBe(200);
    const holder = (done.body as SyncBody).services[0]!.deployId;
    expect(second.body).toMatchObject({
      error: {
        kind: 'locked',
        message: expect.stringContaining(`service web is locked by another deploy: ${holder}@`),
      },
    });
    // The refused deploy wrote nothing: one record on the branch.
    const state = await readState(repo.remote, 'web');
    expect(state.deploys.map((d) => d.id)).toEqual([holder]);
  });

  it('deploys the commit a ref names, fetched from the remote, not the work tree', async () => {
    const repo = await webRepo(ns.name);
    // A branch on the remote with version 2.0.0; the server's work tree stays at 1.0.0 and main.
    const other = path.join(path.dirname(repo.work), 'other');
    await git(path.dirname(repo.work), 'clone', '--quiet', repo.remote, other);
    await git(other, 'config', 'user.name', 'Test User');
    await git(other, 'config', 'user.email', 'test@example.com');
    await git(other, 'checkout', '--quiet', '-b', 'release');
    const files = await scenario('web', { TAG: '2.0.0', REPLICAS: '1', MIN_READY: '0', NS: ns.name }, 'app');
    const { writeFile } = await import('node:fs/promises');
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(other, file), content);
    await git(other, 'commit', '--quiet', '-am', 'release 2.0.0');
    await git(other, 'push', '--quiet', 'origin', 'release');
    const sha = await git(other, 'rev-parse', 'HEAD');
    const headBefore = await git(repo.work, 'rev-parse', 'HEAD');

    const served = await serve(repo);
    const api = client(served, repo, await openApi(served));
    const target = { service: 'web', namespace: ns.name, paths: ['app'], timeout: '60s' };
    const missing = await api.call('POST', '/api/deploy', { body: { ...target, ref: 'no-such-branch' } });
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/ref no-such-branch was not found on remote origin/);

    const deployed = await api.call('POST', '/api/deploy', { body: { ...target, ref: 'release' } });
    expect(deployed.status, deployed.text).toBe(200);
    const live = await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`);
    expect(JSON.stringify(live?.spec)).toContain('registry.example/web:2.0.0');
    const state = await readState(repo.remote, 'web');
    expect(JSON.stringify(state.deploys[0])).toContain(sha);
    // The server's own checkout is untouched, and its temp worktree gone.
    expect(await git(repo.work, 'rev-parse', 'HEAD')).toBe(headBefore);
    expect(await git(repo.work, 'status', '--porcelain')).toBe('');
    expect((await git(repo.work, 'worktree', 'list')).split('\n')).toHaveLength(1);

    // Without a ref: the work tree (1.0.0) again, and a full sha works as a ref.
    const back = await api.call('POST', '/api/deploy', { body: target });
    expect(back.status, back.text).toBe(200);
    expect(
      JSON.stringify((await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`))?.spec),
    ).toContain('registry.example/web:1.0.0');
    const { timeout: _t, ...plan } = target;
    const bySha = await api.call('POST', '/api/diff', { body: { ...plan, ref: sha } });
    expect(bySha.status, bySha.text).toBe(200);
    expect(bySha.text).toMatch(/update/);
  });

  it('on SIGTERM stops accepting, lets the deploy in flight finish and record, then exits 0', async () => {
    const repo = await webRepo(ns.name, { MIN_READY: '4' });
    const served = await serve(repo);
    const api = client(served, repo, await openApi(served));
    const body = { service: 'web', namespace: ns.name, paths: ['app'], timeout: '60s' };
    const inFlight = api.call('POST', '/api/deploy', { body });
    await waitFor(() => /web: wait/.test(served.stderr()), {
      what: 'the deploy to wait for health',
      timeoutMs: 60_000,
    });
    served.child.kill('SIGTERM');
    await waitFor(() => /SIGTERM: shutting down/.test(served.stderr()), { what: 'the shutdown to begin' });
    // New connections are refused (the listener is closed) or answered 503.
    const late = await fetch(`${served.url}/api/services`, {
      headers: { authorization: `Bearer ${WRITE_KEY}` },
    }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(late);
    const done = await inFlight.catch((err: unknown) => {
      throw new Error(`the deploy in flight failed: ${String(err)}\n${served.stderr()}`);
    });
    expect(done.status, done.text).toBe(200);
    const run = (done.body as SyncBody).services[0]!;
    expect(run.outcome).toBe('succeeded');
    expect(await served.exited).toBe(0);
    const state = await readState(repo.remote, 'web');
    expect(state.deploys.map((d) => [d.id, d.outcome])).toEqual([[run.deployId, 'succeeded']]);
  });
});
