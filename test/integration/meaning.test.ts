// One failure, one meaning, on all four interfaces. The same failure — an invalid manifest, an unknown
// deploy id, forbidden, an unreachable cluster, a safety rail's refusal, a cancelled deploy — is caused
// through the CLI (exit code), the bundled Action (exit code and `status` output), `nopea mcp` (the
// tool result's isError and status) and `nopea serve` (HTTP status and the error's kind), and each
// must say what surface/outcome.ts says it means.
import { execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { meaningOf, type Status } from '../../src/surface/outcome.js';
import { testCluster, useNamespace } from '../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { runNopea, type NopeaRun } from '../helpers/nopea.js';
import { fakeRunner, repoRoot, type FakeRunner, type RunSpec } from './action/runner.js';
import { WRITE_KEY, serve } from './http/serve-process.js';
import { answerOf, callTool, startMcp } from './mcp/client.js';
import { output, scenario } from './sync/scenario.js';

const run = promisify(execFile);
const KEYS = { NOPEA_API_KEYS: WRITE_KEY };

let runner: FakeRunner;
let unreachable: string;

beforeAll(async () => {
  // The Action runs its bundle: build it from the sources under test first.
  await run(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot });
  runner = await fakeRunner({ token: 'ghs_meaningTestToken0123456789' });
  // A kubeconfig whose server nothing listens on (port 1 of loopback refuses at once).
  unreachable = path.join(tmpdir(), `nopea-unreachable-${process.pid}.kubeconfig`);
  const text = readFileSync(testCluster().kubeconfig, 'utf8').replace(
    /server: .*/,
    'server: https://127.0.0.1:1',
  );
  await writeFile(unreachable, text);
});

afterAll(async () => {
  await runner?.cleanup();
  await rm(unreachable, { force: true });
});

/** What each interface said about one failure. */
interface Seen {
  cli: NopeaRun;
  action: { code: number; status: string | undefined; log: string };
  mcp: { isError: boolean; status: string; kind?: string; text: string };
  http: { status: number; kind?: string; text: string };
}

/** How one failure is caused on each interface. */
interface Case {
  /** CLI arguments (the kubeconfig is added). */
  cli: string[];
  action: RunSpec['inputs'];
  mcp: { tool: string; args: Record<string, unknown> };
  http: { method: 'GET' | 'POST'; route: string; body?: unknown };
  kubeconfig?: string;
  /** Cancel once the run waits for health: SIGTERM (CLI, MCP server), SIGINT (Action), two SIGTERMs (HTTP server). */
  cancel?: boolean;
}

const waiting = /web: wait/;

async function cause(repo: TestRepo, c: Case): Promise<Seen> {
  const kubeconfig = c.kubeconfig ?? testCluster().kubeconfig;
  let cliChild: ChildProcess | undefined;
  let cliSignalled = false;
  const cli = await runNopea([...c.cli, '--kubeconfig', kubeconfig], {
    cwd: repo.work,
    env: { KUBECONFIG: '', NOPEA_KUBECTL: testCluster().kubectl },
    ...(c.cancel
      ? {
          onSpawn: (child) => (cliChild = child),
          onStderr: (soFar) => {
            if (cliChild && !cliSignalled && waiting.test(soFar)) {
              cliSignalled = true;
              cliChild.kill('SIGTERM');
            }
          },
        }
      : {}),
  });

  let actionSignalled = false;
  const action = await runner.run({
    workspace: repo.work,
    inputs: { kubeconfig: readFileSync(kubeconfig, 'utf8'), ...c.action },
    ...(c.cancel
      ? {
          onStdout: (soFar, child) => {
            if (!actionSignalled && waiting.test(soFar)) {
              actionSignalled = true;
              child.kill('SIGINT');
            }
          },
        }
      : {}),
  });

  const mcp = await startMcp(repo.work, ['--allow-writes'], { kubeconfig });
  onTestFinished(async () => {
    if (mcp.transport.pid) await mcp.client.close().catch(() => undefined);
  });
  let progress = '';
  const call = c.cancel
    ? (mcp.client.callTool({ name: c.mcp.tool, arguments: c.mcp.args }, undefined, {
        onprogress: (p) => (progress += `${p.message ?? ''}\n`),
        timeout: 120_000,
      }) as ReturnType<typeof callTool>)
    : callTool(mcp, c.mcp.tool, c.mcp.args);
  if (c.cancel) {
    await untilLogged(() => progress, waiting);
    process.kill(mcp.pid, 'SIGTERM');
  }
  const result = await call;
  const answer = answerOf(result);

  const served = await serve(repo, [], KEYS, kubeconfig);
  const request = fetch(`${served.url}${c.http.route}`, {
    method: c.http.method,
    headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/json' },
    ...(c.http.body !== undefined ? { body: JSON.stringify(c.http.body) } : {}),
  });
  if (c.cancel) {
    await untilLogged(served.stderr, waiting);
    // The first signal lets requests in flight finish; the second stops their new writes. Signals do
    // not queue: the second is sent once the first was seen.
    served.child.kill('SIGTERM');
    await untilLogged(served.stderr, /SIGTERM: shutting down/);
    served.child.kill('SIGTERM');
  }
  const res = await request;
  const text = await res.text();
  const body = JSON.parse(text) as { error?: { kind?: string } };

  return {
    cli,
    action: { code: action.code, status: action.outputs.status, log: `${action.stdout}\n${action.stderr}` },
    mcp: {
      isError: result.isError === true,
      status: answer.status,
      ...(answer.error?.kind ? { kind: answer.error.kind } : {}),
      text: JSON.stringify(result),
    },
    http: { status: res.status, ...(body.error?.kind ? { kind: body.error.kind } : {}), text },
  };
}

/** Waits (bounded) until a process's stderr matches. */
async function untilLogged(stderr: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pattern.test(stderr())) {
    if (Date.now() > deadline) throw new Error(`never logged ${pattern}:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every interface says what `status` means. */
function expectMeaning(seen: Seen, status: Status, kind: string): void {
  const meaning = meaningOf(status);
  expect(seen.cli.code, output(seen.cli)).toBe(meaning.exitCode);
  expect(seen.action.code, seen.action.log).toBe(meaning.exitCode);
  expect(seen.action.status, seen.action.log).toBe(status);
  expect(seen.mcp.status, seen.mcp.text).toBe(status);
  expect(seen.mcp.isError, seen.mcp.text).toBe(meaning.isError);
  expect(seen.http.status, seen.http.text).toBe(meaning.httpStatus);
  expect(seen.http.kind, seen.http.text).toBe(kind);
  if (seen.mcp.kind !== undefined) expect(seen.mcp.kind, seen.mcp.text).toBe(kind);
}

describe('the same failure means the same on the CLI, the Action, MCP and HTTP', () => {
  const ns = useNamespace('meaning');

  async function repoWith(more: Record<string, string> = {}, tag = '1.0.0'): Promise<TestRepo> {
    const files = await scenario('web', { TAG: tag, REPLICAS: '1', MIN_READY: '0' }, 'app');
    const repo = await makeRepo({ files: { ...files, ...more } });
    onTestFinished(() => repo.cleanup());
    return repo;
  }

  const where = () => ({ service: 'web', namespace: ns.name, paths: ['app'] });
  const syncCase = (extra: { cli?: string[]; req?: Record<string, unknown> } = {}): Case => ({
    cli: ['sync', 'app', '-s', 'web', '-n', ns.name, '--dry-run', ...(extra.cli ?? [])],
    action: {
      command: 'sync',
      path: 'app',
      service: 'web',
      namespace: ns.name,
      'dry-run': 'true',
      ...Object.fromEntries(Object.entries(extra.req ?? {}).map(([k, v]) => [k, String(v)])),
    },
    mcp: { tool: 'nopea_deploy', args: { ...where(), dry_run: true, ...(extra.req ?? {}) } },
    http: { method: 'POST', route: '/api/deploy', body: { ...where(), dryRun: true } },
  });

  it('an invalid manifest: invalid, exit 2, HTTP 400, isError', async () => {
    const repo = await repoWith({ 'app/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [name\n' });
    const seen = await cause(repo, syncCase());
    expectMeaning(seen, 'invalid', 'input');
    expect(output(seen.cli)).toContain('app/broken.yaml');
    expect(seen.mcp.text).toContain('app/broken.yaml');
    expect(seen.http.text).toContain('app/broken.yaml');
  });

  it('an unknown deploy id: invalid, exit 2, HTTP 400, isError', async () => {
    const repo = await repoWith();
    const seen = await cause(repo, {
      cli: ['promote', 'NO-SUCH-DEPLOY', '-s', 'web'],
      action: { command: 'promote', service: 'web', 'deploy-id': 'NO-SUCH-DEPLOY' },
      mcp: { tool: 'nopea_promote', args: { service: 'web', deploy_id: 'NO-SUCH-DEPLOY' } },
      http: { method: 'POST', route: '/api/promote/NO-SUCH-DEPLOY', body: { service: 'web' } },
    });
    expectMeaning(seen, 'invalid', 'input');
  });

  it('forbidden: invalid, exit 2, HTTP 400, isError', async () => {
    const repo = await repoWith();
    const seen = await cause(repo, { ...syncCase(), kubeconfig: testCluster().restrictedKubeconfig });
    expectMeaning(seen, 'invalid', 'input');
    expect(output(seen.cli)).toMatch(/forbidden/);
    expect(seen.http.text).toMatch(/forbidden/);
  });

  it('an unreachable cluster: failed, exit 1, HTTP 502, isError', async () => {
    const repo = await repoWith();
    const seen = await cause(repo, {
      cli: ['diff', 'app', '-s', 'web', '-n', ns.name],
      action: { command: 'diff', path: 'app', service: 'web', namespace: ns.name },
      mcp: { tool: 'nopea_diff', args: where() },
      http: { method: 'POST', route: '/api/diff', body: where() },
      kubeconfig: unreachable,
    });
    expectMeaning(seen, 'failed', 'cluster');
  });

  it('a safety rail: refused, exit 2, HTTP 409, isError', async () => {
    const extra = `apiVersion: v1
kind: ConfigMap
metadata: {name: extra-a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: extra-b}
`;
    const repo = await repoWith({ 'app/extra.yaml': extra });
    const first = await runNopea(
      ['sync', 'app', '-s', 'web', '-n', ns.name, '--kubeconfig', testCluster().kubeconfig],
      { cwd: repo.work, env: { KUBECONFIG: '' } },
    );
    expect(first.code, output(first)).toBe(0);
    await rm(path.join(repo.work, 'app/extra.yaml'));
    await repo.commitAll('drop the extra ConfigMaps');
    const c = syncCase({ cli: ['--max-prune', '1'], req: { max_prune: 1 } });
    c.action = { ...c.action, 'max-prune': '1' };
    delete (c.action as Record<string, string>).max_prune;
    c.http.body = { ...where(), dryRun: true, maxPrune: 1 };
    const seen = await cause(repo, c);
    expectMeaning(seen, 'refused', 'guard');
  });

  it('a cancelled deploy: cancelled, exit 1, HTTP 503, isError', async () => {
    const repo = await repoWith({}, 'never-ready');
    const seen = await cause(repo, {
      cli: ['sync', 'app', '-s', 'web', '-n', ns.name, '--timeout', '120s'],
      action: { command: 'sync', path: 'app', service: 'web', namespace: ns.name, timeout: '120s' },
      mcp: { tool: 'nopea_deploy', args: { ...where(), dry_run: false, timeout: '120s' } },
      http: { method: 'POST', route: '/api/deploy', body: { ...where(), timeout: '120s' } },
      cancel: true,
    });
    expectMeaning(seen, 'cancelled', 'cancelled');
  }, 300_000);
});
